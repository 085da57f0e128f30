"""One tokenizer for paragraphs and questions alike.

Text is normalised (NFKC, Traditional -> Simplified, Latin lower-cased), cut by jieba in precise mode,
and cleaned: punctuation, white space and stopwords are dropped, and a word that is a Chinese numeral
becomes Arabic digits, so 二十四小时 and 24小时 share the token ``24``.

Index terms (``tokens``) add the character bigrams of each run of adjacent Chinese content words,
marked with a leading ``#`` so they never collide with a word: 浙江省 then also matches a question's
浙江 (``#浙江``). Measured on the CMRC 2018 trial set (256 contexts, 1,002 questions), bigrams raise
P@1 from 0.969 to 0.980 and P@5 from 0.987 to 0.995; bigrams over the raw text (question words
included) did no better (0.981), bigrams inside long words only did nothing (0.968).
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from typing import Callable, Iterable, Sequence

from retrieval.jieba_dictionary import holds_chosen_word, import_jieba, tags_without_hmm
from retrieval.jieba_dictionary import install as install_dictionary

TOKENIZER_NAME = "jieba-precise"
# Bump when the token stream for the same text changes: persisted indexes record it and rebuild.
TOKENIZER_VERSION = 3

_NUMERAL_CHARACTERS = frozenset("零〇一二两三四五六七八九十百千万亿")
_CHINESE_NUMERAL = re.compile(f"[{''.join(sorted(_NUMERAL_CHARACTERS))}]+")
_WORD_CHAR = re.compile(r"\w", re.UNICODE)
_CHINESE_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
BIGRAM_MARK = "#"
# jieba cuts each run of these characters (its own block pattern) as one piece, at a cost that grows with
# the square of the run's length: 8,000 characters take about 0.6 s, a 1 MB run would take hours. Real
# prose breaks every few dozen characters, so runs are cut at this length and real text never changes.
_MAX_BLOCK = 400
_JIEBA_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]{" + str(_MAX_BLOCK) + ",}")


def load_stopwords() -> frozenset[str]:
    """The stopword and question-word list shipped in ``retrieval/data/stopwords.txt``."""
    text = resources.files("retrieval").joinpath("data/stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def to_simplified(text: str) -> str:
    """Traditional characters to Simplified, leaving everything else alone.

    >>> to_simplified("浙江關停了多少家違規網吧？")
    '浙江关停了多少家违规网吧？'
    """
    return _opencc().convert(text)


def normalise(text: str) -> str:
    """NFKC, then Simplified, then Latin lower case: the form both sides are compared in.

    >>> normalise("ＡＢＣ 開會 ２４小時")
    'abc 开会 24小时'
    """
    if len(text) > _KEPT_LONGEST:
        return _normalised(text)
    return _normalised_kept(text)


def _normalised(text: str) -> str:
    return to_simplified(nfkc(text)).lower()


# A question normalises a sentence several times over (reading its paragraph, its answer spans, its
# highlight, the near-miss checks), and the sentences of paragraphs asked about before again: 55 of the
# 74 texts a question normalised were normalised before (500 bench questions at 100k). Only texts of
# a sentence's length are kept: some 5 MB for the mean text of 25 characters, 34 MB at most.
_KEPT_LONGEST = 512
_normalised_kept = lru_cache(maxsize=16384)(_normalised)


# Full-width forms (，：（ ...) and the ideographic space, which nearly every Chinese sentence holds, fail
# NFKC's quick check, and CPython then decomposes and recomposes the whole text (30 µs of a paragraph's
# read). Each one's compatibility decomposition is one character that has none of its own (， -> ,):
# written as that character first, the text's decomposition, and so its NFKC, is the same, and the text
# then mostly passes the quick check, which returns it as it is.
_FULL_WIDTH = re.compile("[\u3000\uff01-\uff5e]")
_HALF_WIDTH = {chr(code): unicodedata.normalize("NFKD", chr(code)) for code in (0x3000, *range(0xFF01, 0xFF5F))}


def nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, faster on text holding full-width forms.

    >>> nfkc("２４小時，（Ａ）\u3000é") == unicodedata.normalize("NFKC", "２４小時，（Ａ）\u3000é")
    True
    """
    return unicodedata.normalize("NFKC", half_width(text))


def half_width(text: str) -> str:
    """``text`` with each full-width form and ideographic space as its NFKC character, the rest as it is.

    >>> half_width("２４小時，Ａ\u3000")
    '24小時,A '
    """
    return _FULL_WIDTH.sub(_half_width, text)


def _half_width(match: re.Match[str]) -> str:
    return _HALF_WIDTH[match.group()]


def chinese_numeral_value(word: str) -> int | None:
    """The value of a word written wholly in Chinese numerals, else None.

    A lone 一 is left alone: it is far more often part of a phrase (一是, 统一) than a count.

    >>> chinese_numeral_value("二十四"), chinese_numeral_value("三百"), chinese_numeral_value("一")
    (24, 300, None)
    """
    if len(word) < 2 or not _CHINESE_NUMERAL.fullmatch(word):
        return None
    import cn2an

    try:
        value = cn2an.cn2an(word, "normal")
        # A run of numerals (二二二…) reads as a number too large for a float: no quantity anyone writes.
        return int(value) if float(value).is_integer() else None
    except (ValueError, KeyError, IndexError, OverflowError):
        return None


@dataclass(frozen=True)
class Tokenizer:
    """jieba precise mode over normalised text; ``signature`` identifies it in persisted indexes."""

    stopwords: frozenset[str] = field(default_factory=load_stopwords)
    char_bigrams: bool = True

    @property
    def signature(self) -> dict:
        jieba = import_jieba()

        return {
            "name": TOKENIZER_NAME,
            "version": TOKENIZER_VERSION,
            "jieba": jieba.__version__,
            "normalise": "nfkc+opencc-t2s+lower",
            "numerals": "cn2an",
            "stopwords_sha256": self.stopwords_hash,
            "char_bigrams": self.char_bigrams,
        }

    @cached_property
    def stopwords_hash(self) -> str:
        return hashlib.sha256("\n".join(sorted(self.stopwords)).encode()).hexdigest()

    def words(self, text: str) -> list[str]:
        """jieba's words of the normalised text, punctuation and white space dropped, stopwords kept."""
        return cleaned_words(cut(text))

    def content_words(self, text: str, lengths: Sequence[int] | None = None, normalised: str | None = None) -> list[str]:
        """``words`` without stopwords: what a question and a sentence are compared by.

        ``lengths``: the lengths of ``cut(text)``'s pieces, stored when the corpus was indexed; the
        pieces are then sliced from the text instead of cut again (jieba was most of a question's
        time), and are the same pieces. Lengths that do not fit the text are ignored. ``normalised``:
        ``normalise(text)``, when the caller has it already."""
        pieces = pieces_of(text, lengths, normalised) if lengths is not None else None
        return [w for w in cleaned_words(pieces if pieces is not None else cut(text)) if w not in self.stopwords]

    def piece_word(self, piece: str) -> str | None:
        """The word ``content_words`` makes of one of ``cut``'s pieces; None for a piece it drops.

        >>> Tokenizer().piece_word("二十四"), Tokenizer().piece_word("的"), Tokenizer().piece_word("，")
        ('24', None, None)
        """
        words = [w for w in cleaned_words((piece,)) if w not in self.stopwords]
        return words[0] if words else None

    def tokens(self, text: str) -> list[str]:
        """The index terms of ``text``: its content words, then (if ``char_bigrams``) the bigrams.

        >>> Tokenizer().tokens("浙江省的旅游企业")
        ['浙江省', '旅游', '企业', '#浙江', '#江省', '#省旅', '#旅游', '#游企', '#企业']
        """
        return self.index_terms(self.words(text))

    def index_terms(self, words: list[str]) -> list[str]:
        """``tokens`` of a text from its ``words``: a question already cut need not be cut again."""
        content = [w for w in words if w not in self.stopwords]
        return content + character_bigrams(content) if self.char_bigrams else content


def cut(text: str) -> list[str]:
    """jieba's pieces of the normalised text, punctuation and white space included: what
    ``cleaned_words`` makes words of, and what an index build stores the lengths of (``cut_lengths``).

    >>> cut("浙江關停了")
    ['浙江', '关停', '了']
    """
    return _jieba().lcut(break_long_blocks(normalise(text)), HMM=True)


def cut_lengths(text: str) -> list[int]:
    """The lengths of ``cut(text)``'s pieces: with the text they give the pieces back (``pieces_of``)."""
    return [len(piece) for piece in cut(text)]


def pieces_of(text: str, lengths: Sequence[int], normalised: str | None = None) -> list[str] | None:
    """``cut(text)`` from its stored piece lengths, without jieba; None when they do not cover the
    normalised text exactly (lengths stored for another text, or by another normalisation).
    ``normalised``: ``normalise(text)``, when the caller has it already.

    >>> pieces_of("浙江關停了", [2, 2, 1]), pieces_of("浙江關停了", [2, 2])
    (['浙江', '关停', '了'], None)
    """
    text = break_long_blocks(normalise(text) if normalised is None else normalised)
    if sum(lengths) != len(text):
        return None
    pieces, at = [], 0
    for length in lengths:
        pieces.append(text[at : at + length])
        at += length
    return pieces


def cleaned_words(pieces: Iterable[str]) -> list[str]:
    """jieba's pieces made words: punctuation and white space dropped, Chinese numerals as digits.
    The one statement of it, whether the pieces were cut now or sliced by stored lengths.

    >>> cleaned_words(["二十四", "小时", "，", " ", "一"])
    ['24', '小时', '一']
    """
    words = []
    for word in pieces:
        # Asked of every piece of ~30 sentences a question, so the cheap tests go first: a piece all
        # of word characters (``isalnum`` is ``\w`` less the underscore) needs no regex, and only a
        # piece starting with a numeral can be one.
        if not (word.isalnum() or _WORD_CHAR.search(word)):
            continue
        if len(word) > 1 and word[0] in _NUMERAL_CHARACTERS and _CHINESE_NUMERAL.fullmatch(word):
            value = chinese_numeral_value(word)
            if value is not None:
                word = str(value)
        words.append(word)
    return words


def break_long_blocks(text: str) -> str:
    """Put a space into runs longer than jieba can cut in reasonable time; other text is unchanged.

    >>> break_long_blocks("短句") == "短句", len(break_long_blocks("字" * 1000).split())
    (True, 3)
    """
    if len(text) < _MAX_BLOCK:  # most texts, a sentence each: no run to break, and no regex scan of it
        return text
    return _JIEBA_BLOCK.sub(
        lambda run: " ".join(run[0][i : i + _MAX_BLOCK] for i in range(0, len(run[0]), _MAX_BLOCK)), text
    )


def character_bigrams(words: list[str]) -> list[str]:
    """Marked bigrams of each run of adjacent all-Chinese words (a number or Latin word breaks a run).

    >>> character_bigrams(["查处", "8", "家违规网吧"])
    ['#查处', '#家违', '#违规', '#规网', '#网吧']
    """
    bigrams, run = [], ""
    for word in words + [""]:
        if word and _CHINESE_WORD.fullmatch(word):
            run += word
            continue
        bigrams.extend(BIGRAM_MARK + run[i : i + 2] for i in range(len(run) - 1))
        run = ""
    return bigrams


_OPENCC = None


def _opencc():
    global _OPENCC
    if _OPENCC is None:
        import opencc

        _OPENCC = opencc.OpenCC("t2s")
    return _OPENCC


_JIEBA_READY = False


@lru_cache(maxsize=8192)
def tagged_words(text: str, hmm: bool = True) -> tuple[tuple[str, str], ...]:
    """jieba's words of ``text`` with their part-of-speech tags. Without the HMM, words outside jieba's
    dictionary are not guessed (new names are missed), but tagging is several times faster.

    >>> tagged_words("石家庄市召开会议", hmm=False)
    (('石家庄市', 'ns'), ('召开', 'v'), ('会议', 'n'))
    """
    _jieba()
    from jieba import posseg

    if not hmm:  # every candidate sentence of a where or who question: jieba's steps, run directly
        return tuple(tags_without_hmm(posseg.dt, text))
    return tuple((pair.word, pair.flag) for pair in posseg.lcut(text, HMM=hmm))


def may_tag_without_hmm(text: str, chosen: Callable[[str, str], bool]) -> bool:
    """Whether ``tagged_words(text, hmm=False)`` can hold a word that ``chosen(word, tag)`` takes: False
    only where no stretch of ``text`` is such a word of jieba's dictionary, which the cut then cannot
    give. ``chosen`` keys a cache (a function defined once, not a lambda made at each call). About a
    tenth of the tagging's time on a bench corpus' sentences (9 against 99 us).

    >>> def place(word, tag): return tag == "ns"
    >>> may_tag_without_hmm("会议在石家庄市召开", place), may_tag_without_hmm("会议召开", place)
    (True, False)
    """
    _jieba()
    from jieba import posseg

    return holds_chosen_word(posseg.dt, text, chosen)


def dictionary_tag(word: str) -> str | None:
    """jieba's part-of-speech tag of a word of its dictionary; None for a word it does not hold.

    >>> dictionary_tag("讲"), dictionary_tag("讲话"), dictionary_tag("高约")
    ('v', 'n', None)
    """
    _jieba()
    from jieba import posseg

    return posseg.dt.word_tag_tab.get(word)


def dictionary_frequency(word: str) -> int | None:
    """jieba's count of a word in its dictionary (of Chinese at large); None for a word it lacks.

    >>> dictionary_frequency("可以") > dictionary_frequency("厅长") > 0, dictionary_frequency("龟山岛x")
    (True, None)
    """
    return _jieba().dt.FREQ.get(word)


def dictionary_total() -> int:
    """The sum of jieba's dictionary counts, against which ``dictionary_frequency`` is a share."""
    return _jieba().dt.total


def _jieba():
    """jieba, initialised once per process, quietly (it logs its dictionary load at DEBUG), reading
    its dictionary from the mapped file of ``retrieval.jieba_dictionary``."""
    global _JIEBA_READY
    if _JIEBA_READY:
        return sys.modules["jieba"]
    jieba = import_jieba()
    jieba.setLogLevel(logging.WARNING)
    install_dictionary()
    _JIEBA_READY = True
    return jieba
