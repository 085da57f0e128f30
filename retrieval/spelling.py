"""Pinyin-input typos: a question's characters that the corpus does not hold, replaced by the corpus
word that sounds the same (和北取谛 -> 河北取缔, 民证厅 -> 民政厅).

People type Chinese as pinyin and pick characters from a list, so a typo is nearly always a homophone
of the meant word. A window of two to four characters of the question is corrected only when the
corpus does not hold it and one of the corpus' words has exactly its toneless pinyin; a question made
of words the corpus holds is never changed. The pinyin of the corpus vocabulary is read once per index
(pypinyin, about 20 µs a word), on the first question that has an unknown window.
"""

from __future__ import annotations

import hashlib
import re
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable

from retrieval.json_cache import read_stamped, write_stamped
from retrieval.typing_variants import Vocabulary

_CHINESE_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
MAX_WINDOW = 4
_PLACE_ENDS = ("省", "市", "县", "区")


def toneless(text: str) -> tuple[str, ...]:
    """The toneless pinyin of each character.

    >>> toneless("河北取缔"), toneless("和北取谛")
    (('he', 'bei', 'qu', 'di'), ('he', 'bei', 'qu', 'di'))
    """
    from pypinyin import lazy_pinyin

    return tuple(lazy_pinyin(text, errors=lambda chars: list(chars)))


class SoundTable:
    """Toneless pinyin -> the corpus words (two to four characters) that sound so, most frequent first.

    Reading the pinyin of a vocabulary takes about 0.5 s per 15,000 words, so with ``cache_dir`` (the
    index cache folder) the table is kept there as JSON, stamped with a hash of the words it was made
    from, and read back by the next process that serves the same index."""

    def __init__(self, vocabulary: Vocabulary, extra_words: Iterable[str] = (), cache_dir: Path | None = None) -> None:
        self.vocabulary = vocabulary
        self.extra_words = tuple(extra_words)
        self.cache_dir = cache_dir

    @cached_property
    def table(self) -> dict[tuple[str, ...], tuple[str, ...]]:
        words = (*self.vocabulary.words, *self.extra_words)
        stamp = hashlib.sha256("\n".join(words).encode()).hexdigest() + ":" + _pypinyin_version()
        cache = Path(self.cache_dir) / "pinyin-table.json" if self.cache_dir else None
        rows = read_stamped(cache, stamp)
        if isinstance(rows, dict):
            return {tuple(sound.split()): tuple(found) for sound, found in rows.items()}
        table = self._build(words)
        write_stamped(cache, stamp, {" ".join(sound): list(found) for sound, found in table.items()}, "the pinyin table")
        return table

    @staticmethod
    def _build(words: Iterable[str]) -> dict[tuple[str, ...], tuple[str, ...]]:
        table: dict[tuple[str, ...], list[str]] = {}
        for word in words:
            # A place is typed without its 省/市/县 as often as with it (秦皇岛 for 秦皇岛市).
            forms = (word, word[:-1]) if word.endswith(_PLACE_ENDS) and len(word) >= 3 else (word,)
            for form in forms:
                if 2 <= len(form) <= MAX_WINDOW:
                    table.setdefault(toneless(form), []).append(form)
        return {sound: tuple(words) for sound, words in table.items()}

    def sounding_like(self, text: str) -> tuple[str, ...]:
        return self.table.get(toneless(text), ())


def _pypinyin_version() -> str:
    import pypinyin

    return str(pypinyin.__version__)


def correct_homophones(text: str, known: Callable[[str], bool], sounding_like: Callable[[str], Iterable[str]]) -> str:
    """``text`` with each unknown window of 2-4 Chinese characters replaced by the known word that
    sounds the same, longest window first, left to right; among several such words, the one sharing
    most characters with the window (then the first, the most frequent).

    >>> corpus = {"河北", "取缔", "河北省", "民政厅"}
    >>> sounds = {toneless(w): w for w in corpus}
    >>> fix = lambda t: correct_homophones(t, corpus.__contains__, lambda w: [sounds[toneless(w)]] if toneless(w) in sounds else [])
    >>> fix("和北取谛了几家"), fix("陕西民证厅"), fix("河北取缔了几家")
    ('河北取缔了几家', '陕西民政厅', '河北取缔了几家')
    """
    pieces, last = [], 0
    for run in _CHINESE_RUN.finditer(text):
        pieces.append(text[last : run.start()])
        pieces.append(_correct_run(run.group(), known, sounding_like))
        last = run.end()
    pieces.append(text[last:])
    return "".join(pieces)


def _correct_run(run: str, known: Callable[[str], bool], sounding_like: Callable[[str], Iterable[str]]) -> str:
    out, i = [], 0
    while i < len(run):
        for size in range(min(MAX_WINDOW, len(run) - i), 1, -1):
            window = run[i : i + size]
            if known(window):
                out.append(window)
                i += size
                break
            candidates = [w for w in sounding_like(window) if w != window and known(w)]
            if candidates:
                out.append(max(candidates, key=lambda w: sum(a == b for a, b in zip(w, window))))
                i += size
                break
        else:
            out.append(run[i])
            i += 1
    return "".join(out)
