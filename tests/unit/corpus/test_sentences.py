"""The sentence rule, on the labelled table in tests/data/sentence_cases.yaml and on arbitrary text."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.settings import PROJECT_ROOT
from corpus.sentences import split_carefully, split_sentences

CASES = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "sentence_cases.yaml").read_text(encoding="utf-8"))


def test_the_table_is_consistent():
    assert len(CASES) >= 20
    for case in CASES:
        assert "".join(case["sentences"]) == case["text"], case["label"]


@pytest.mark.parametrize("case", CASES, ids=[case["label"] for case in CASES])
def test_sentence_case(case):
    assert list(split_sentences(case["text"])) == case["sentences"]


_PIECES = st.sampled_from(list("。！？；;…⋯.!?”’」）)》《“（ \n") + ["3.5", "U.S.", "Dr.", "e.g. x", "中文", "Bot API"])
_TEXT = st.lists(st.one_of(_PIECES, st.text(max_size=8)), max_size=40).map("".join)


@settings(max_examples=2000, deadline=None)  # 2,000 examples, as issue 6 asks of every property
@given(_TEXT)
def test_sentences_give_back_the_text_and_are_never_empty(text):
    sentences = split_sentences(text)
    assert "".join(sentences) == text
    assert all(sentences)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_splitting_a_sentence_again_changes_nothing(text):
    for sentence in split_sentences(text):
        assert split_sentences(sentence) == (sentence,)


_PLAIN_TEXT = st.lists(st.sampled_from(list("中文，。！？；;…⋯”’」』）)]】〉\"' \n\tab1")), max_size=40).map("".join)


@settings(max_examples=2000, deadline=None)  # 2,000 examples, as issue 6 asks of every property
@given(_PLAIN_TEXT)
def test_the_fast_pass_agrees_with_the_careful_one(text):
    assert split_sentences(text) == split_carefully(text)
