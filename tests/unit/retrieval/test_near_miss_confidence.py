"""How the answerer applies the near-miss checks: on Traditional text as on Simplified, and only when a
refusal is likely right (``near_miss_confidence``): an answer of a form the kind check does not know is
quoted when the paragraph holds the whole question, and a place only context to the question refuses
only when another competing article is about it, or when no article names it and it is most of what
the best paragraph lacks."""

from __future__ import annotations

import dataclasses

import pytest

from bot.settings import load_settings
from corpus.model import Article, Corpus, Paragraph
from corpus.sentences import split_sentences
from retrieval.answer import Answerer


def corpus(*articles: tuple[str, str]) -> Corpus:
    """One single-paragraph article per (title, text)."""
    made = []
    for number, (title, text) in enumerate(articles):
        article_id = f"a{number}"
        made.append(Article(article_id, title, (Paragraph(article_id, 0, None, text, split_sentences(text)),)))
    return Corpus(tuple(made), ("test",))


ARTICLES = (
    ("茶", "茶是一種飲料。茶在西漢時期已經成為宮廷中的飲料。唐代陸羽寫了《茶經》。"),
    ("擺暝", "擺暝是福州的民俗。擺暝活動在元宵節前後舉行，信眾排放供品祀神。廟宇請來戲班演出。"),
    ("彰化市", "彰化市是彰化縣人口最多的行政區，也是全國人口第三密集的縣轄市。彰化市有八卦山大佛。"),
    ("嘉義市", "嘉義市是全國人口第二密集的縣轄市。嘉義市有阿里山森林鐵路車庫。"),
    ("天氣", "今天下雨。明天天晴。"),
)


@pytest.fixture(scope="module")
def config():
    return load_settings().answer


def ask(articles, config, question: str, **changes):
    return Answerer(corpus(*articles), dataclasses.replace(config, **changes)).ask(question)


def test_a_traditional_period_is_a_time(config) -> None:
    # 時期 is a time as 时期 is: the checks read Traditional sentences in Simplified characters.
    answer = ask(ARTICLES, config, "茶在哪一個時期成為宮廷中的飲料？", near_miss_confidence=False)
    assert answer.answered and "西漢時期" in answer.quote


def test_an_answer_the_kind_check_does_not_know_is_quoted_when_the_paragraph_holds_the_question(config) -> None:
    question = "擺暝活動在什麼時候舉行？"  # 元宵節 is no date the kind check knows
    answer = ask(ARTICLES, config, question)
    assert answer.answered and "元宵節" in answer.quote
    assert ask(ARTICLES, config, question, near_miss_confidence=False).reason == "not_stated"
    # A coverage floor above any paragraph's makes the missing kind a near miss again.
    assert ask(ARTICLES, config, question, near_miss_max_coverage=1.01).reason == "not_stated"


def test_a_place_refuses_only_when_a_competing_article_is_about_it(config) -> None:
    question = "浙江省人口第三密集的縣轄市是哪個？"
    # 浙江省 is only context where an article names it in passing and none is about it.
    named = ARTICLES + (("龍井", "龍井茶產於浙江省杭州市。"),)
    answer = ask(named, config, question)
    assert answer.answered and "彰化市" in answer.quote
    assert ask(named, config, question, near_miss_confidence=False).reason == "not_stated"
    rival = ("浙江省", "浙江省的茶很有名。")  # about 浙江省, not about its cities
    assert ask(ARTICLES + (rival,), config, question).reason == "not_stated"


def test_a_place_no_article_names_refuses_when_it_is_most_of_what_the_paragraph_lacks(config) -> None:
    # No article names 浙江省 at all: the question asks about somewhere the articles never mention.
    assert ask(ARTICLES, config, "浙江省人口第三密集的縣轄市是哪個？").reason == "not_stated"
    # The paragraph also lacks a word as heavy (佛像): the place may be only misnamed, and the check
    # is not trusted.
    answer = ask(ARTICLES, config, "浙江省彰化縣人口最多的行政區有什麼佛像？")
    assert answer.answered and "彰化市" in answer.quote
