"""The alternatives behind the bot's "其他结果" button: the next candidates from other articles first."""

from __future__ import annotations

import dataclasses

from bot.settings import load_settings
from corpus.model import Article, Corpus, Paragraph
from corpus.sentences import split_sentences
from retrieval.answer import Answerer


def article(article_id: str, title: str, *texts: str) -> Article:
    paragraphs = tuple(Paragraph(article_id, i, None, text, split_sentences(text)) for i, text in enumerate(texts))
    return Article(article_id, title, paragraphs)


def test_best_of_each_other_article_comes_first_then_the_answers_own_article_then_the_rest():
    # Five paragraphs, every one holding a question word, so all of them compete and the four that are
    # not the answer are the alternatives; only their order is in question.
    corpus = Corpus(
        (
            article("own", "水库", "水库去年放养鲢鱼三万尾，鳙鱼一万尾。", "水库的鲢鱼长得很快。"),
            article("second", "湖泊", "湖泊里也有鲢鱼。", "湖泊的鲢鱼去年很少。"),
            article("third", "河流", "河流中鲢鱼不多。"),
        )
    )
    config = dataclasses.replace(load_settings().answer, top_paragraphs=5, max_alternatives=4)
    answer = Answerer(corpus, config).ask("水库去年放养了多少尾鲢鱼？")
    assert answer.answered and answer.article_id == "own" and "三万尾" in answer.quote
    order = [a.article_id for a in answer.alternatives]
    assert len(order) == 4
    assert set(order[:2]) == {"second", "third"}  # one from each other article, best first
    assert order[2] == "own"  # then more of the answer's own article
    assert order[3] == "second"  # then the other articles' further paragraphs
    firsts = answer.alternatives[:2]
    assert firsts[0].score >= firsts[1].score


def test_alternatives_stop_at_the_configured_number():
    # Seven of sixteen articles hold the asked-for word (BM25 gives a word in half the paragraphs or
    # more no weight): six candidates besides the answer, four offered.
    fish = ["鲢鱼"] * 7 + ["草鱼"] * 9
    corpus = Corpus(tuple(article(f"a{i}", f"标题{i}", f"第{i}座水库放养{kind}。") for i, kind in enumerate(fish)))
    config = dataclasses.replace(load_settings().answer, top_paragraphs=8, max_alternatives=4)
    answer = Answerer(corpus, config).ask("第3座水库放养鲢鱼吗？")
    assert answer.answered
    ids = [a.article_id for a in answer.alternatives]
    assert len(ids) == 4 and len(set(ids)) == 4 and answer.article_id not in ids
