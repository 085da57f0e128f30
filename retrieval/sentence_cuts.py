"""jieba's cut of every corpus sentence, made once when the corpus is indexed and stored with it.

Answering compares a question's words with the words of every sentence of the best paragraphs, some 30
sentences a question, and cutting them with jieba was about half of a new question's time at 100,000
paragraphs. So the index build cuts each paragraph's texts (its subject, the article title with the
heading, then each sentence) and stores, per text, the lengths of jieba's pieces of
``break_long_blocks(normalise(text))`` beside the paragraph in the stored corpus. Reading a paragraph
normalises its sentences again (C speed) and slices them by those lengths (``tokenize.pieces_of``):
the very pieces cutting would give, cleaned by the same function (``tokenize.cleaned_words``).

The lengths are written as one string a paragraph, a character a piece (``chr(48 + length)``: "1" to
"9" for the common short words) and a space between texts: in the zlib-compressed blocks this costs
about a tenth of the stored text. A token cache table keeps them by the texts' hash, so a rebuild cuts
only new paragraphs.
"""

from __future__ import annotations

import json
from typing import Sequence

from corpus.model import Paragraph
from retrieval.token_cache import content_key
from retrieval.tokenize import cut_lengths, normalise

_ZERO = 48  # a piece of length n is written chr(_ZERO + n)
# Above this a length's character would reach the surrogates; no jieba piece comes near (break_long_blocks
# keeps jieba's runs to 400 characters), but such a paragraph is then simply stored without cuts.
_LONGEST = 0xD7FF - _ZERO
_SEPARATOR = " "


def subject_text(title: str | None, heading: str | None) -> str:
    """What a paragraph is about besides its sentences: its article's title and its heading, normalised."""
    return normalise(" ".join(part for part in (title, heading) if part))


def cut_texts(title: str | None, paragraph: Paragraph) -> tuple[str, ...]:
    """The texts of a paragraph that answering cuts: its subject, then each sentence."""
    return (subject_text(title, paragraph.heading), *paragraph.sentences)


def cuts_key(texts: Sequence[str]) -> bytes:
    """The token cache's key of a paragraph's cuts: a hash of exactly the texts cut."""
    return content_key("cuts\0" + json.dumps(list(texts), ensure_ascii=False))


def encode(lengths: Sequence[Sequence[int]]) -> str | None:
    """Piece lengths, one list a text, as one string; None if a length cannot be written.

    >>> encode([[2, 1], [], [12]]), decode(encode([[2, 1], [], [12]]), 3)
    ('21  <', [[2, 1], [], [12]])
    """
    if any(not 0 < n <= _LONGEST for text in lengths for n in text):
        return None
    return _SEPARATOR.join("".join(chr(_ZERO + n) for n in text) for text in lengths)


def decode(cuts: str | None, count: int) -> list[list[int]] | None:
    """The piece lengths of ``count`` texts from ``encode``'s string; None if there are none, or they are
    for another number of texts."""
    if cuts is None:
        return None
    parts = cuts.split(_SEPARATOR)
    if len(parts) != count:
        return None
    return [[ord(c) - _ZERO for c in part] for part in parts]


def paragraph_cuts(texts: Sequence[str]) -> str | None:
    """``encode`` of the piece lengths of each of a paragraph's ``cut_texts``: jieba runs here."""
    return encode([cut_lengths(text) for text in texts])
