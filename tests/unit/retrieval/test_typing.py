"""Questions as people type them: each part of the pipeline that reads them (README "Asking
questions") passes its labelled cases in ``tests/data/typing_cases.yaml``, and fails them when it
alone is switched off, so every part is shown to do something."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from bot.settings import load_settings
from corpus.loader import load_corpus
from retrieval.answer import Answer, Answerer

from bot.settings import PROJECT_ROOT

CASES = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "typing_cases.yaml").read_text(encoding="utf-8"))
PARTS = (
    "chitchat", "colloquial", "typo_correction", "shared_characters", "abbreviations", "mixed_english", "english_word_forms",
    "english_names_first", "near_miss", "place_articles", "followups", "common_words",
)


@pytest.fixture(scope="module")
def answerer() -> Answerer:
    return Answerer(load_corpus(PROJECT_ROOT / "corpus" / "articles"), load_settings().answer)


def passes(answer: Answer, case: dict) -> bool:
    if "reason" in case:
        return not answer.answered and answer.quote is None and answer.reason == case["reason"]
    return answer.answered and all(m in answer.quote for m in case["must"])


def test_every_part_has_cases_and_a_setting() -> None:
    assert {case["part"] for case in CASES} == set(PARTS)
    settings = load_settings().answer
    assert all(getattr(settings, part) is True for part in PARTS)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=c["known_failure"])) if "known_failure" in c else c
        for c in CASES
    ],
    ids=[f"{c['part']}:{c['q']}" for c in CASES],
)
def test_each_case_needs_its_part(answerer: Answerer, case: dict) -> None:
    answer = answerer.ask(case["q"], after=case.get("after"))
    assert passes(answer, case), (answer.reason, answer.quote)
    without = dataclasses.replace(answerer.config, **{case["part"]: False})
    switched_off = Answerer(answerer.corpus, without, answerer.tokenizer, answerer.index)
    assert not passes(switched_off.ask(case["q"], after=case.get("after")), case)


def test_small_talk_is_never_searched(answerer: Answerer) -> None:
    for text, kind in [("hello", "greeting"), ("谢谢你！", "thanks"), ("/help", "help"), ("exit", "exit"), ("哈哈哈哈", "laughter")]:
        answer = answerer.ask(text)
        assert (answer.answered, answer.reason, answer.chitchat, answer.quote) == (False, "chitchat", kind, None)
    # A greeting in front of a question leaves it a question.
    assert answerer.ask("你好，河北抓获了多少名犯罪嫌疑人？").answered


def test_a_near_miss_names_the_closest_sentence_only_as_related(answerer: Answerer) -> None:
    answer = answerer.ask("陕西的会具体哪天开的")
    assert not answer.answered and answer.quote is None and answer.highlight is None
    assert answer.related is not None and "陕西" in answer.related.title
    assert answer.related.quote in answerer._entries[answer.related.paragraph_id][1].sentences


def test_a_previous_answer_works_as_well_as_a_previous_question(answerer: Answerer) -> None:
    previous = answerer.ask("海南省民政厅厅长是谁？")
    assert "董杰人" in answerer.ask("那青海呢？", after=previous).quote


def test_typo_correction_leaves_words_the_corpus_holds_alone(answerer: Answerer) -> None:
    # Every window of a question the corpus holds is known, so nothing is replaced.
    for question in ("河北省抓获了多少名犯罪嫌疑人？", "海南省民政厅厅长是谁？", "青海召开了什么会？"):
        assert answerer._corrected(question) == question
    assert answerer._corrected("秦黄岛") == "秦皇岛"


def test_the_pinyin_table_is_cached_with_the_index_and_rebuilt_for_other_words(tmp_path, monkeypatch) -> None:
    from retrieval.spelling import SoundTable
    from retrieval.typing_variants import Vocabulary

    vocabulary = Vocabulary({"河北": 0, "取缔": 1})
    first = SoundTable(vocabulary, cache_dir=tmp_path).table
    assert first[("qu", "di")] == ("取缔",) and (tmp_path / "pinyin-table.json").is_file()

    def no_build(words):
        raise AssertionError("the cached table should have been read")

    monkeypatch.setattr(SoundTable, "_build", staticmethod(no_build))
    assert SoundTable(Vocabulary({"河北": 0, "取缔": 1}), cache_dir=tmp_path).table == first
    with pytest.raises(AssertionError):  # other words: the stamp differs, so the table is rebuilt
        SoundTable(Vocabulary({"河南": 0}), cache_dir=tmp_path).table


@pytest.mark.parametrize(
    "words, kept",
    [
        (["依", "全球", "气候分类", "归类", "为", "哪", "一种", "气候"], ["依", "全球", "气候分类", "归类", "为", "气候"]),
        (["在", "韩国", "法院", "担任", "哪一", "职位"], ["在", "韩国", "法院", "担任", "职位"]),
        (["福尔摩沙", "原文", "是", "何种", "语言"], ["福尔摩沙", "原文", "是", "语言"]),
        (["西沙群岛", "位", "在", "哪", "一片", "海域"], ["西沙群岛", "位", "在", "海域"]),
        (["哪怕", "一种", "方法"], ["一种", "方法"]),  # 哪怕 asks nothing, but the 一种 after it is a word
    ],
)
def test_which_words_and_their_measure_are_not_question_content(words: list[str], kept: list[str]) -> None:
    """哪一种 / 哪一 / 何种 only ask: no paragraph repeats them, so they must not count against its coverage."""
    from retrieval.question import asked_words

    assert asked_words(words, frozenset()) == kept


def test_a_spoken_filler_is_not_a_word_the_quote_should_hold() -> None:
    # Found on the rule-made group-chat set (tests/make_colloquial_questions.py): 就是, a filler in
    # 就是啥是X啊, drew the sentence that says 就是 (下面就是 ... 的例子) over the one that answers.
    # Three articles: BM25 gives a word held by half the paragraphs no weight.
    from corpus.model import Article, Corpus, Paragraph
    from corpus.sentences import split_sentences

    texts = {"数独": "数独是一种在九宫格里填数字的逻辑游戏。下面就是一道数独题目的例子。", "象棋": "象棋是一种两人对弈的棋类游戏。象棋就是中国的传统棋类。", "围棋": "围棋是一种策略性棋类。"}
    corpus = Corpus(tuple(Article(t, t, (Paragraph(t, 0, None, x, split_sentences(x)),)) for t, x in texts.items()))
    answerer = Answerer(corpus, load_settings().answer)
    for question in ("就是啥是数独啊", "就是数独是啥呀"):
        assert answerer.ask(question).quote == "数独是一种在九宫格里填数字的逻辑游戏。", question
