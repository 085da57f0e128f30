"""What a question is: its language and the kind of answer it asks for.

The cue words live in ``retrieval/data/question_cues.yaml``; this module only applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from retrieval.tokenize import normalise, to_simplified

QUESTION_TYPES = ("when", "where", "who", "how_many")  # tried in this order; anything else is "what"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Cues:
    chinese: dict[str, tuple[str, ...]]
    english: dict[str, tuple[tuple[str, ...], ...]]  # each cue as a tuple of words
    measures: tuple[str, ...]
    titles: tuple[str, ...]
    fillers: frozenset[str]


@lru_cache(maxsize=1)
def load_cues() -> Cues:
    """The cue lists shipped in ``retrieval/data/question_cues.yaml``."""
    text = resources.files("retrieval").joinpath("data/question_cues.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return Cues(
        chinese={kind: tuple(data[kind]["zh"]) for kind in QUESTION_TYPES},
        english={kind: tuple(tuple(cue.split()) for cue in data[kind]["en"]) for kind in QUESTION_TYPES},
        measures=tuple(sorted({str(m) for m in data["measures"]}, key=len, reverse=True)),
        titles=tuple(sorted(set(data["titles"]), key=len, reverse=True)),
        fillers=frozenset(data["fillers"]),
    )


def is_question_word(word: str) -> bool:
    """Whether a question's word only asks (几家, 多少个, 哪几项) or is a colloquial filler (啥, 咋搞):
    it names nothing a sentence could hold.

    >>> is_question_word("几家"), is_question_word("多少项"), is_question_word("咋搞"), is_question_word("家庭")
    (True, True, True, False)
    """
    cues = load_cues()
    if word in cues.fillers:
        return True
    for asking in ("多少", "哪几", "几"):
        if word.startswith(asking):
            rest = word[len(asking) :]
            return not rest or rest in cues.measures
    return False


def asked_words(words: list[str], stopwords: frozenset[str]) -> list[str]:
    """A question's content words without question words, fillers, and the measure word that follows
    多少 or 几 when jieba cuts it off (多少/个).

    >>> asked_words(["河北", "那边", "关", "了", "多少", "个", "组织", "啊"], frozenset({"了", "多少"}))
    ['河北', '关', '组织']
    """
    measures = set(load_cues().measures)
    kept = []
    for i, word in enumerate(words):
        if word in stopwords or is_question_word(word):
            continue
        if word in measures and i and words[i - 1] in ("多少", "几", "哪几"):
            continue
        kept.append(word)
    return kept


def detect_language(text: str) -> str:
    """"en" for a question written in Latin letters, "zh-Hant" when it holds Traditional characters,
    else "zh" (also the default for text with no letters at all).

    >>> detect_language("how many groups?"), detect_language("浙江關停了多少家？"), detect_language("谁？")
    ('en', 'zh-Hant', 'zh')
    """
    cjk = _CJK.findall(text)
    if not cjk:
        return "en" if _LATIN_WORD.search(text.lower()) else "zh"
    han = "".join(cjk)
    return "zh-Hant" if to_simplified(han) != han else "zh"


def english_words(text: str) -> list[str]:
    """Lower-case English words of ``text``, apostrophes kept inside words.

    >>> english_words("Who chaired Hainan's meeting?")
    ['who', 'chaired', "hainan's", 'meeting']
    """
    return _LATIN_WORD.findall(normalise(text))


def question_type(text: str) -> str:
    """"when", "where", "who", "how_many" or "what", from the cue words the question holds.

    >>> question_type("展览是什么时候开幕的？"), question_type("查处了几家网吧"), question_type("Who chaired it?")
    ('when', 'how_many', 'who')
    """
    cues = load_cues()
    simplified = normalise(text)
    words = english_words(text)
    for kind in QUESTION_TYPES:
        if any(cue in simplified for cue in cues.chinese[kind]):
            return kind
        if any(_holds_phrase(words, cue) for cue in cues.english[kind]):
            return kind
    return "what"


def _holds_phrase(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))
