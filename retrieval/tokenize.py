"""One tokenizer for paragraphs and questions alike.

Text is normalised (NFKC, Traditional -> Simplified, Latin lower-cased), cut by jieba in precise mode,
and cleaned: punctuation, white space and stopwords are dropped, and a word that is a Chinese numeral
becomes Arabic digits, so 二十四小时 and 24小时 share the token ``24``.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources

TOKENIZER_NAME = "jieba-precise"
# Bump when the token stream for the same text changes: persisted indexes record it and rebuild.
TOKENIZER_VERSION = 1

_CHINESE_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万亿]+")
_WORD_CHAR = re.compile(r"\w", re.UNICODE)


def load_stopwords() -> frozenset[str]:
    """The stopword and question-word list shipped in ``retrieval/data/stopwords.txt``."""
    text = resources.files("retrieval").joinpath("data/stopwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def to_simplified(text: str) -> str:
    """Traditional characters to Simplified, leaving everything else alone.

    >>> to_simplified("河北取締了多少家非法社會組織？")
    '河北取缔了多少家非法社会组织？'
    """
    return _opencc().convert(text)


def normalise(text: str) -> str:
    """NFKC, then Simplified, then Latin lower case: the form both sides are compared in.

    >>> normalise("ＡＢＣ 開會 ２４小時")
    'abc 开会 24小时'
    """
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


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
    except (ValueError, KeyError, IndexError):
        return None
    return int(value) if float(value).is_integer() else None


@dataclass(frozen=True)
class Tokenizer:
    """jieba precise mode over normalised text; ``signature`` identifies it in persisted indexes."""

    stopwords: frozenset[str] = field(default_factory=load_stopwords)

    @property
    def signature(self) -> dict:
        import jieba

        return {
            "name": TOKENIZER_NAME,
            "version": TOKENIZER_VERSION,
            "jieba": jieba.__version__,
            "normalise": "nfkc+opencc-t2s+lower",
            "numerals": "cn2an",
            "stopwords_sha256": self.stopwords_hash,
        }

    @cached_property
    def stopwords_hash(self) -> str:
        return hashlib.sha256("\n".join(sorted(self.stopwords)).encode()).hexdigest()

    def words(self, text: str) -> list[str]:
        """jieba's words of the normalised text, punctuation and white space dropped, stopwords kept."""
        words = []
        for word in _jieba().lcut(normalise(text), HMM=True):
            if not _WORD_CHAR.search(word):
                continue
            value = chinese_numeral_value(word)
            words.append(str(value) if value is not None else word)
        return words

    def tokens(self, text: str) -> list[str]:
        """The index terms of ``text``: ``words`` without stopwords."""
        return [w for w in self.words(text) if w not in self.stopwords]


_OPENCC = None


def _opencc():
    global _OPENCC
    if _OPENCC is None:
        import opencc

        _OPENCC = opencc.OpenCC("t2s")
    return _OPENCC


_JIEBA_READY = False


def _jieba():
    """jieba, initialised once per process, quietly (it logs its dictionary load at DEBUG)."""
    global _JIEBA_READY
    import jieba

    if not _JIEBA_READY:
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _JIEBA_READY = True
    return jieba
