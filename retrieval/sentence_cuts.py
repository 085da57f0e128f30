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

The stored corpus holds them ``marked``: a piece that gives no content word (punctuation, white space,
a stopword) is written in characters of its own, so reading a paragraph slices out its content words
and nothing else, in loops that run in C (``stored_words``), where slicing every piece and cleaning
each in Python took about half of a new paragraph's words. A text one of whose words is not its piece
as cut (a Chinese numeral read as digits, in 7% of a bench corpus' paragraphs) is marked to be read
as before. The marks depend on the stopwords, which the index's settings record (a change rebuilds).
"""

from __future__ import annotations

import json
from itertools import accumulate, chain, compress
from typing import Callable, Sequence

from corpus.model import Paragraph
from retrieval.token_cache import content_key
from retrieval.tokenize import break_long_blocks, cut_lengths, normalise, pieces_of

_ZERO = 48  # a piece of length n is written chr(_ZERO + n)
# Above this a length's character would reach the surrogates; no jieba piece comes near (break_long_blocks
# keeps jieba's runs to 400 characters), but such a paragraph is then simply stored without cuts.
_LONGEST = 0xD7FF - _ZERO
_SEPARATOR = " "
# In ``marked`` cuts, a piece that gives no word, of length n, is written chr(_DROPPED + n) ("$" to "/",
# below the kept pieces' "1"), a longer one as several: a reader needs no more of it than its length.
_DROPPED = 35
_DROPPED_LONGEST = _ZERO - 1 - _DROPPED
# Opens a text of ``marked`` cuts whose words are cleaned when read (its pieces' lengths follow as in ``encode``).
_CLEANED_WHEN_READ = "!"


class _CodeValues(dict):
    """A code character's value, worked out on first sight: ``map`` then reads it in C."""

    def __init__(self, value: Callable[[int], int | bool]) -> None:
        super().__init__()
        self._value = value

    def __missing__(self, code: str) -> int | bool:
        value = self[code] = self._value(ord(code))
        return value


# A code's piece length (0 for a character no code uses: the lengths then do not fit, and the text is cut).
_LENGTH = _CodeValues(lambda code: code - _ZERO if code > _ZERO else code - _DROPPED if code > _DROPPED else 0)
_KEPT = _CodeValues(lambda code: code > _ZERO)


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


def marked(texts: Sequence[str], cuts: str | None, word_of: Callable[[str], str | None]) -> str | None:
    """``cuts`` (``encode``'s, of ``texts``) with each piece that gives no word (``word_of(piece)`` None)
    written as dropped; a text a word of which is not its piece, or whose lengths do not fit it, is
    written as it was after ``_CLEANED_WHEN_READ``. Cuts for another number of texts are left as they are.

    >>> cuts = marked(["浙江的", "二十"], encode([[2, 1], [2]]), {"浙江": "浙江", "二十": "20"}.get)
    >>> cuts
    '2$ !2'
    >>> stored_words(cuts, ["浙江的", "二十"], ["浙江的", "二十"], lambda text, lengths, normal: [text, lengths])
    [['浙江'], ['二十', [2]]]
    """
    lengths = decode(cuts, len(texts))
    if lengths is None:
        return cuts
    parts = []
    for text, text_lengths in zip(texts, lengths):
        pieces = pieces_of(text, text_lengths)
        words = [word_of(piece) for piece in pieces] if pieces is not None else None
        if words is None or any(word is not None and word != piece for word, piece in zip(words, pieces)):
            parts.append(_CLEANED_WHEN_READ + "".join(chr(_ZERO + n) for n in text_lengths))
            continue
        codes = []
        for piece, word in zip(pieces, words):
            if word is not None:
                codes.append(chr(_ZERO + len(piece)))
                continue
            left = len(piece)
            while left:
                step = min(left, _DROPPED_LONGEST)
                codes.append(chr(_DROPPED + step))
                left -= step
        parts.append("".join(codes))
    return _SEPARATOR.join(parts)


def stored_words(
    cuts: str | None,
    texts: Sequence[str],
    normalised: Sequence[str],
    content_words: Callable[[str, Sequence[int] | None, str], list[str]],
) -> list[list[str]]:
    """Each text's content words from its ``marked`` cuts: the kept pieces of its normalised text. A
    text marked to be cleaned when read, or whose lengths do not fit it, and every text of cuts missing
    or for another number of texts, gets ``content_words(text, lengths or None, normalised)``."""
    parts = cuts.split(_SEPARATOR) if cuts is not None else None
    if parts is None or len(parts) != len(texts):
        return [content_words(text, None, normal) for text, normal in zip(texts, normalised)]
    words = []
    for part, text, normal in zip(parts, texts, normalised):
        if not part.startswith(_CLEANED_WHEN_READ):
            whole = break_long_blocks(normal)
            ends = list(accumulate(map(_LENGTH.__getitem__, part)))
            if (ends[-1] if ends else 0) == len(whole):
                kept = compress(map(slice, chain((0,), ends), ends), map(_KEPT.__getitem__, part))
                words.append(list(map(whole.__getitem__, kept)))
                continue
        words.append(content_words(text, list(map(_LENGTH.__getitem__, part.removeprefix(_CLEANED_WHEN_READ))), normal))
    return words
