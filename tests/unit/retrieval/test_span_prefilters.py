"""The cheap tests that spare jieba's tagging of a sentence that cannot hold a person or a place
(``highlight._may_name_person``, ``tokenize.may_tag_without_hmm``) rule out only sentences where the
tagging finds none: with them forced to pass, every span found is the same."""

from __future__ import annotations

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from retrieval import highlight

CASES = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "highlight_cases.yaml").read_text(encoding="utf-8"))
SENTENCES = [case["sentence"] for case in CASES] + [
    "副市长李建国主持会议，市长出席。",  # a name after a title
    "会议部署了下一阶段的工作。",  # neither a person nor a place
    "居里夫人在巴黎发现了镭。",
    "玛丽·居里获得诺贝尔奖。",  # a transliterated name joined at the ·
    "会上萨·石头发言。",  # a one-character nr word (萨) names someone only joined: no person word, a ·
    "穆罕默德二世攻入城中。",
    "该公司总部设于臺北市信義區。",  # Traditional: tagged as Simplified
    "ABC公司在2019年收购了XYZ。",
]


def _spans(sentence: str) -> tuple:
    return (
        [(s.start, s.end, s.text) for s in highlight.person_spans(sentence, hmm=False)],
        [(s.start, s.end, s.text) for s in highlight.place_spans(sentence)],
    )


def _forget() -> None:
    highlight._persons.cache_clear()
    highlight._places.cache_clear()


def test_the_cheap_tests_change_no_span(monkeypatch):
    _forget()
    tested = [_spans(sentence) for sentence in SENTENCES]
    assert any(persons for persons, _ in tested) and any(places for _, places in tested)
    assert not all(highlight._may_name_person(highlight.comparable(s)[0]) for s in SENTENCES)  # some are spared
    monkeypatch.setattr(highlight, "_may_name_person", lambda text: True)
    monkeypatch.setattr(highlight, "may_tag_without_hmm", lambda text, chosen: True)
    _forget()
    try:
        assert [_spans(sentence) for sentence in SENTENCES] == tested
    finally:
        _forget()


@pytest.mark.parametrize("word", ["民政厅厅长", "副厅长", "美国副总统", "会议", "长", "厅长"])
def test_an_office_title_is_the_longest_listed_ending(word):
    titles = highlight.load_cues().titles  # longest first
    expected = next((t for t in titles if word.endswith(t) and (len(t) >= 2 or word == t)), None)
    if expected and word.endswith("副" + expected):
        expected = "副" + expected
    assert highlight._title_of(word) == expected
