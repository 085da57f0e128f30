"""What a question is: its language and the kind of answer it asks for.

The cue words live in ``retrieval/data/question_cues.yaml``; this module only applies them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Callable, Iterable, Sequence

import yaml

from retrieval.tokenize import normalise, to_simplified

QUESTION_TYPES = ("when", "where", "who", "how_many")  # tried in this order; anything else is "what"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_WRITTEN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")


@dataclass(frozen=True)
class Cues:
    chinese: dict[str, tuple[str, ...]]
    english: dict[str, tuple[tuple[str, ...], ...]]  # each cue as a tuple of words
    measures: tuple[str, ...]
    titles: tuple[str, ...]
    fillers: frozenset[str]
    heads: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> nouns after 哪 / 什么 / 何
    measure_groups: tuple[frozenset[str], ...] = ()  # measure words that count the same things
    english_holders: frozenset[str] = frozenset()  # English nouns for an office's holder (head, director)
    english_holder_titles: dict[str, tuple[str, ...]] = field(default_factory=dict)  # holder -> its titles' endings
    english_deputies: frozenset[str] = frozenset()  # English words making an office a deputy's (deputy, vice)


@lru_cache(maxsize=1)
def load_cues() -> Cues:
    """The cue lists shipped in ``retrieval/data/question_cues.yaml``."""
    text = resources.files("retrieval").joinpath("data/question_cues.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return Cues(
        chinese={kind: tuple(data[kind]["zh"]) for kind in QUESTION_TYPES},
        english={kind: tuple(tuple(cue.split()) for cue in data[kind]["en"]) for kind in QUESTION_TYPES},
        measures=tuple(sorted({str(m) for m in data["measures"]}, key=lambda m: (-len(m), m))),
        titles=tuple(sorted(set(data["titles"]), key=lambda t: (-len(t), t))),
        fillers=frozenset(data["fillers"]),
        heads={kind: tuple(sorted(data.get("heads", {}).get(kind, ()), key=len, reverse=True)) for kind in QUESTION_TYPES},
        measure_groups=tuple(frozenset(str(m) for m in group) for group in data.get("measure_groups", ())),
        english_holders=frozenset(data.get("english_offices", {}).get("holder", {})),
        english_holder_titles={w: tuple(e) for w, e in data.get("english_offices", {}).get("holder", {}).items()},
        english_deputies=frozenset(data.get("english_offices", {}).get("deputy", ())),
    )


# The question words a measure follows (多少个, 哪几项, 何种); 哪几 before 几 and 哪, so that the longest is read.
_ASKING_BY_MEASURE = ("多少", "哪几", "几", "哪", "何")


def is_question_word(word: str) -> bool:
    """Whether a question's word only asks (几家, 多少个, 哪几项) or is a colloquial filler (啥, 咋搞):
    it names nothing a sentence could hold.

    >>> is_question_word("几家"), is_question_word("多少项"), is_question_word("咋搞"), is_question_word("家庭")
    (True, True, True, False)
    """
    cues = load_cues()
    if word in cues.fillers:
        return True
    for asking in _ASKING_BY_MEASURE:
        if word.startswith(asking):
            rest = word[len(asking) :]
            # 哪 and 何 take any one character after them as what they ask by (哪段, 何人, 哪方).
            return _asking_measure(rest, cues.measures) or (asking in ("哪", "何") and len(rest) == 1)
    return False


def _asking_measure(rest: str, measures: Sequence[str]) -> bool:
    """Whether what follows a question word (几, 哪, 何 ...) is only its measure: nothing, 一, a measure
    word, or 一 and one character (哪一种, 何种, 哪一, 哪/一片: jieba keeps 一 with the measure it counts
    by): no answer repeats it.

    >>> _asking_measure("一种", ["种"]), _asking_measure("一片", []), _asking_measure("", []), _asking_measure("怕", [])
    (True, True, True, False)
    """
    if rest.startswith("一"):
        return len(rest) <= 2 or rest[1:] in measures
    return not rest or rest in measures


def asked_words(words: list[str], stopwords: frozenset[str]) -> list[str]:
    """A question's content words without question words, fillers, and the measure word that follows
    多少 or 几 when jieba cuts it off (多少/个).

    >>> asked_words(["河北", "那边", "关", "了", "多少", "个", "组织", "啊"], frozenset({"了", "多少"}))
    ['河北', '关', '组织']
    >>> asked_words(["搞", "啥", "样", "的", "制度"], frozenset({"的"}))  # 搞 is a filler; jieba cuts 啥样 in two
    ['制度']
    """
    measures = set(load_cues().measures)
    fillers = load_cues().fillers
    # A filler jieba cut in pieces (啥/样) is dropped whole.
    glued = {i + k for i in range(len(words) - 1) if words[i] + words[i + 1] in fillers for k in (0, 1)}
    kept = []
    for i, word in enumerate(words):
        if word in stopwords or is_question_word(word) or i in glued:
            continue
        if i and words[i - 1] in _ASKING_BY_MEASURE and _asking_measure(word, measures):
            # The measure jieba cut off its question word (多少/个, 哪/一种).
            continue
        kept.append(word)
    return kept


def english_office(words: Iterable[str]) -> tuple[bool, tuple[str, ...]] | None:
    """The office English words name (``english_offices`` in the cues): whether it is a deputy's, and
    the endings of the titles its holder words stand for; None when they name no office's holder.

    >>> english_office(["the", "deputy", "director"]), english_office(["who", "chaired"])
    ((True, ('长', '主任')), None)
    """
    cues = load_cues()
    words = set(words)
    holders = sorted(words & cues.english_holders)
    if not holders:
        return None
    endings = tuple(dict.fromkeys(e for holder in holders for e in cues.english_holder_titles.get(holder, ())))
    return bool(words & cues.english_deputies), endings


def english_phrases_joined(words: list[str], held: Callable[[str], bool]) -> list[str]:
    """A Chinese question's jieba words with each run of two or more English words the corpus does not
    hold joined into one phrase, space-separated (a held word, a name the articles write in Latin
    letters, stays a word of its own).

    >>> english_phrases_joined(["乙酰胺", "在", "room", "temperature", "下"], lambda w: False)
    ['乙酰胺', '在', 'room temperature', '下']
    >>> english_phrases_joined(["wta", "competition", "冠军", "tv"], {"wta"}.__contains__)
    ['wta', 'competition', '冠军', 'tv']
    """
    joined: list[str] = []
    run: list[str] = []
    for word in [*words, ""]:
        if word and _LATIN_WORD.fullmatch(word) and not held(word):
            run.append(word)
            continue
        if run:
            joined.append(" ".join(run))
            run = []
        if word:
            joined.append(word)
    return joined


def chinese_reading(question: str, terms: Sequence["QueryTerm"], sentence: str) -> str:
    """``question`` with each English word or phrase a term translates replaced by its reading the
    sentence holds (else its likeliest reading): what the highlight finders, which read the question's
    words around the answer in the sentence, can match.

    >>> t = QueryTerm("room temperature", ((("室温",), 1.0), (("房间",), 0.5)), translated=True)
    >>> chinese_reading("乙酰胺在 Room Temperature 下是什么状态？", [t], "纯品在室温下为白色晶状固体")
    '乙酰胺在室温下是什么状态？'
    """
    for term in terms:
        if not term.translated or not term.alternatives or not _LATIN_WORD.match(term.word):
            continue
        readings = ["".join(words) for words, _ in sorted(term.alternatives, key=lambda a: -a[1])]
        reading = next((r for r in readings if r in sentence), readings[0])
        question = _english_replaced(question, term.word, reading, count=1)
    return question


def question_words_in_chinese(question: str) -> str:
    """A Chinese question's English question words (how many, when, who) as their kind's first Chinese
    cue (多少, 何时, 谁): the highlight finders read a measure or a date asked for from the Chinese.

    >>> question_words_in_chinese("河北抓获了 How many 人"), question_words_in_chinese("会议 when 开的")
    ('河北抓获了多少人', '会议何时开的')
    """
    cues = load_cues()
    english = sorted(((" ".join(cue), cues.chinese[kind][0]) for kind in QUESTION_TYPES for cue in cues.english[kind]), key=lambda c: -len(c[0]))
    for cue, chinese in english:
        question = _english_replaced(question, cue, chinese)
    return question


def _english_replaced(question: str, english: str, chinese: str, count: int = 0) -> str:
    """``question`` with the English word or phrase, whole and in any case, and the spaces around it,
    replaced by ``chinese`` (the first ``count`` times; 0: every time)."""
    return re.sub(rf"\s*(?<![a-z]){re.escape(english)}(?![a-z])\s*", chinese, question, count=count, flags=re.IGNORECASE)


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


_HYPHENATED = re.compile(r"[a-z]+(?:'[a-z]+)?(?:-[a-z]+(?:'[a-z]+)?)*")


def hyphenated_runs(text: str) -> dict[int, int]:
    """Where ``english_words(text)`` holds a hyphenated compound: its first word's position and its
    length in words (on-call, e-mail: one phrase, even where its first word alone is a stopword).

    >>> hyphenated_runs("What on-call duty does the well-known city keep?")
    {1: 2, 6: 2}
    """
    runs, position = {}, 0
    for match in _HYPHENATED.finditer(normalise(text)):
        length = match.group().count("-") + 1
        if length > 1:
            runs[position] = length
        position += length
    return runs


def english_names(text: str) -> frozenset[str]:
    """The words of an English question written as names, lower-cased as ``english_words`` gives them:
    capitalised anywhere but as its first word (Hebei, Hainan's, NGO).

    >>> sorted(english_names("Who chaired Hainan's NGO meeting?"))
    ["hainan's", 'ngo']
    """
    words = _WRITTEN_WORD.findall(unicodedata.normalize("NFKC", text))
    return frozenset(word.lower() for word in words[1:] if word[0].isupper())


def question_type(text: str) -> str:
    """"when", "where", "who", "how_many" or "what", from the cue words the question holds.

    >>> question_type("展览是什么时候开幕的？"), question_type("查处了几家网吧"), question_type("Who chaired it?")
    ('when', 'how_many', 'who')
    """
    cues = load_cues()
    simplified = normalise(text)
    head = answer_head(simplified)
    if head:
        for kind in QUESTION_TYPES:
            if head in cues.heads.get(kind, ()):
                return kind
        # 哪位 asks for a person whatever noun follows; a noun of no known kind (哪一场战争, 哪个机构)
        # asks for a thing, though the question may hold 在哪.
        return "who" if _WHO_MEASURE.search(simplified) else "what"
    words = english_words(text)
    if words and not _CJK.search(text):
        return _english_question_type(words, cues)
    for kind in QUESTION_TYPES:
        if any(cue in simplified for cue in cues.chinese[kind]):
            return kind
        if any(_holds_phrase(words, cue) for cue in cues.english[kind]):
            return kind
    return "what"


def _english_question_type(words: list[str], cues: "Cues") -> str:
    """An English question's kind from its first question word: "Which treaty was signed when the
    war ended?" asks which, not when.

    >>> _english_question_type("which treaty was signed when the war ended".split(), load_cues())
    'what'
    >>> _english_question_type("how many groups were banned".split(), load_cues())
    'how_many'
    >>> _english_question_type("which minister's speech did they follow".split(), load_cues())
    'who'
    """
    first: tuple[int, int, str] | None = None  # (position, order of the kind, kind)
    for order, kind in enumerate(QUESTION_TYPES):
        for cue in cues.english[kind]:
            n = len(cue)
            for i in range(len(words) - n + 1):
                if tuple(words[i : i + n]) == cue:
                    if first is None or (i, order) < first[:2]:
                        first = (i, order, kind)
                    break
    generic = next((i for i, word in enumerate(words) if word in _ENGLISH_WH), None)
    if generic is not None and words[generic] in ("which", "what") and generic + 1 < len(words):
        # "Which minister", "what official": the noun names a person's office, so a person is asked for,
        # as 哪位 asks (who), whatever other cue follows.
        noun = words[generic + 1].removesuffix("'s")
        if noun in cues.english_holders or noun in cues.english_deputies:
            return "who"
    if first is None:
        return "what"
    if generic is not None and generic < first[0]:
        return "what"
    return first[2]


_ENGLISH_WH = frozenset({"what", "which", "how", "why"})  # question words asking no particular kind
# 哪 / 哪一 / 哪个 / 哪一个 / 什么 / 何, then perhaps a measure word, then the noun asked for.
_WH_HEAD = re.compile(r"(?<![如任为凭])(?:哪一?|什么|何)(?:些|个|位|种|座|所|家|条|部|本|支|场|间|片|块|只|类|项|件|次|届|名|样)?")
_WHO_MEASURE = re.compile(r"(?<![如任为凭])(?:哪一?|何)位")
_HEAD_END = re.compile(r"[\s，,。？?！!、；;：:的了是呢吗啊在被和与及把将之]")


def answer_head(question: str) -> str | None:
    """The noun a which/what question asks for, up to four characters: 山脉 in 哪一个山脉, 人 in
    哪一个人, 朝代 in 哪個朝代; a known head (``heads`` in the cue file) is cut to itself.

    >>> answer_head("岡底斯山脈和哪一個山脈之間"), answer_head("哪一个人发明了电话"), answer_head("谁？")
    ('山脉', '人', None)
    """
    text = normalise(question)
    heads = sorted({h for nouns in load_cues().heads.values() for h in nouns}, key=len, reverse=True)
    for match in _WH_HEAD.finditer(text):
        rest = text[match.end() : match.end() + 4]
        for head in heads:
            if rest.startswith(head):
                return head
        end = _HEAD_END.search(rest)
        noun = rest[: end.start()] if end else rest
        if len(noun) >= 2:
            return noun[:4]
    return None


def _holds_phrase(words: list[str], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(tuple(words[i : i + n]) == phrase for i in range(len(words) - n + 1))


@dataclass(frozen=True)
class QueryTerm:
    """One question word and the index terms that stand for it: itself, or the translations of an
    English word, each with a weight in (0, 1]."""

    word: str
    alternatives: tuple[tuple[tuple[str, ...], float], ...]
    translated: bool = False  # dictionary readings: found only as written, never less a character
    name: bool = False  # an English word written as a name (Hebei): its translation is exact, not a guess
