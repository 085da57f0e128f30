"""Property tests: the text pipeline fed arbitrary Unicode never raises and keeps its promises.

Inputs are surrogate-free strings of up to 100,000 characters mixing scripts (Han, Latin, Arabic and
Hebrew right-to-left text, Cyrillic, Hangul), control characters and NUL, lone combining marks,
bidi overrides and zero-width characters, emoji sequences (ZWJ families, flags, skin tones, keycaps),
HTML/Markdown markup, and fragments of the corpus itself (so searches find something). Most examples
are short; about one in fifty is long (a random piece repeated up to 100,000 characters).

Each property runs EXAMPLES = 2,000 examples (hypothesis ``max_examples``), in CI as everywhere.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.settings import load_settings
from corpus.loader import load_corpus
from corpus.sentences import split_sentences
from corpus.text import clean
from retrieval.answer import Answer, Answerer
from retrieval.tokenize import Tokenizer

EXAMPLES = 2_000
LONGEST = 100_000

PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,  # CI runs from a fresh clone: no example database to carry over
)


@pytest.fixture(scope="module")
def corpus_sentences(answerer: Answerer) -> frozenset[str]:
    return frozenset(s for _, paragraph in answerer.corpus for s in paragraph.sentences)


def _corpus_fragments() -> list[str]:
    texts = [p.text for _, p in load_corpus(load_settings().corpus.path).paragraphs()]
    return [text[i : i + 12] for text in texts for i in range(0, len(text), 12)]


_ODD = [
    "\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u200b", "\u200d", "\ufeff", "\u202e", "\u2066", "\u061c",
    "\u0301", "\u0308\u0308", "\u20dd", "\u3099", "\r\n", "\t", "\u2028", "\u3000", "\xa0",
    "👨\u200d👩\u200d👧\u200d👦", "🇨🇳", "🏳️\u200d🌈", "👍🏽", "1\ufe0f\u20e3", "🧑🏿\u200d🚀", "😀",
    "<b>", "</blockquote>", "<script>alert(1)</script>", "&amp;", "&#x4e2d;", "<a href='x'>", "*bold*",
    "_it_", "`code`", "[x](http://y)", "||spoiler||", "{{7*7}}", "${IFS}", "$(id)", "'; DROP TABLE x;--",
    "مرحبا بالعالم", "שלום עולם", "Привет", "안녕하세요", "こんにちは", "ＡＢＣ１２３", "①②", "Ⅻ", "𠀀𪚥", "〇",
    "？", "。", "……", "《", "》", "“", "”", "；", "!", "?", ".", "...", " ", "  ", "\n\n",
    "二十四", "248家", "３．５", "1,000", "-0", "1e309", "NaN",
]

_pieces = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
    st.sampled_from(_ODD),
    st.sampled_from(_corpus_fragments()),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=6),
    st.text(st.characters(max_codepoint=0x7F), max_size=8),
)
_short = st.lists(_pieces, max_size=24).map("".join)


def _repeated(piece: str, length: int) -> str:
    return (piece * (length // len(piece) + 1))[:length]


_long = st.builds(_repeated, st.lists(_pieces, min_size=1, max_size=12).map("".join).filter(bool), st.integers(1_000, LONGEST))
# About one example in fifty is long: enough to meet every size, few enough to keep the run short.
texts = st.integers(0, 49).flatmap(lambda roll: _long if roll == 0 else _short)


@PROPERTY
@given(texts)
def test_cleaning_never_raises_and_is_idempotent(text: str) -> None:
    once = clean(text)
    assert isinstance(once, str)
    assert clean(once) == once
    assert "\x00" not in once


@PROPERTY
@given(texts)
def test_splitting_never_raises_and_keeps_every_character(text: str) -> None:
    sentences = split_sentences(text)
    assert "".join(sentences) == text
    assert all(sentences)


@PROPERTY
@given(texts)
def test_tokenising_never_raises_and_gives_clean_tokens(tokenizer: Tokenizer, text: str) -> None:
    tokens = tokenizer.tokens(text)
    assert all(isinstance(t, str) and t and not t.isspace() for t in tokens)


@PROPERTY
@given(texts, st.integers(1, 20))
def test_search_never_raises_and_ranks_real_paragraphs(answerer: Answerer, tokenizer: Tokenizer, text: str, k: int) -> None:
    index = answerer.index
    ids, scores = index.closest_docs(tokenizer.tokens(text), k)
    assert len(ids) == len(scores) == min(k, index.doc_count)
    assert len(set(ids)) == len(ids) and all(0 <= i < index.doc_count for i in ids)
    assert all(math.isfinite(s) for s in scores)
    assert all(a >= b for a, b in zip(scores, scores[1:]))


@PROPERTY
@given(texts)
def test_ask_returns_a_well_formed_answer_or_no_answer(answerer: Answerer, corpus_sentences: frozenset[str], text: str) -> None:
    answer = answerer.ask(text)
    assert isinstance(answer, Answer) and answer.question == text
    assert answer.language in ("zh", "zh-Hant", "en")
    if not answer.answered:
        assert answer.reason in ("empty", "too_long", "no_match", "chitchat", "not_stated")
        assert answer.quote is None and answer.highlight is None and answer.alternatives == ()
        assert (answer.chitchat is not None) == (answer.reason == "chitchat")
        # A near miss names the closest sentence, a real one, only as related.
        assert (answer.related is not None) == (answer.reason == "not_stated")
        assert answer.related is None or answer.related.quote in corpus_sentences
        return
    # The quote is a real sentence of the corpus (or up to three adjacent ones, when the question's
    # evidence runs across them), in the paragraph and article the answer names.
    article, paragraph = answerer.corpus[answer.paragraph_id]
    first, count = answer.sentence_index, answer.sentence_count
    assert 1 <= count <= 3 and answer.quote == "".join(paragraph.sentences[first : first + count])
    assert count > 1 or answer.quote in corpus_sentences
    assert answer.paragraph == paragraph.text
    assert (answer.title, answer.article_id, answer.source) == (article.title, article.id, article.source)
    assert answer.highlight is None or (answer.highlight and answer.highlight in answer.quote)
    assert math.isfinite(answer.score)
    for alternative in answer.alternatives:
        assert alternative.quote in corpus_sentences
        assert alternative.paragraph_id != answer.paragraph_id
        article, paragraph = answerer.corpus[alternative.paragraph_id]
        assert alternative.quote == paragraph.sentences[alternative.sentence_index]
        assert (alternative.title, alternative.article_id, alternative.source) == (article.title, article.id, article.source)


@pytest.mark.parametrize(
    "text",
    ["", "\x00" * 100_000, "？" * 100_000, "河北" * 50_000, "河" * 100_000, "\u0301" * 5, "👨\u200d👩\u200d👧" * 3000],
)
def test_extreme_inputs_explicitly(answerer: Answerer, tokenizer: Tokenizer, text: str) -> None:
    """The corners the generator might reach only rarely, every run. (A 100,000-character run of one
    Han character took jieba nearly two minutes, its cost growing with the square of the run, until the
    tokenizer learnt to cut such runs; this keeps it that way.)"""
    assert clean(clean(text)) == clean(text)
    assert "".join(split_sentences(text)) == text
    tokenizer.tokens(text)
    assert answerer.ask(text).answered in (True, False)


def test_a_run_of_numerals_too_long_for_a_float_is_no_number():
    from retrieval.tokenize import chinese_numeral_value

    assert chinese_numeral_value("二" * 1000) is None
