"""Finding the span of a quoted sentence that answers the question: 120家 for "how many", a name for
"who", a date for "when", a place for "where".

Candidates come from patterns (numbers with a measure word, dates) and from jieba's part-of-speech tags
(persons, places). When more than one candidate remains, the one standing in the clause that shares the
most question words wins; if that does not single one out, there is no highlight rather than a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Sequence

from retrieval.question import load_cues
from retrieval.tokenize import normalise

_DIGITS = r"\d+(?:[.,]\d+)*"
_HAN_NUMBER = r"[零〇一二两三四五六七八九十百千万亿]+"
_MAGNITUDE = r"(?:多|余|万|亿|千|百|几)*"
_CLAUSE_END = re.compile(r"[，,；;。！？!?：:\s]")

_DATE = re.compile(
    "|".join(
        (
            r"(?:公元前?)?\d{2,4}年代",
            r"\d{1,2}世纪(?:\d{2}年代)?",
            r"(?:公元前?)?\d{1,4}年(?:\d{1,2}月(?:\d{1,2}[日号])?)?",
            r"[一二三四五六七八九〇零]{4}年(?:[一二三四五六七八九十]{1,2}月(?:[一二三四五六七八九十]{1,3}[日号])?)?",
            r"\d{1,2}月(?:\d{1,2}[日号])?(?:初|中旬|上旬|下旬|底|末|份)?",
            r"[一二三四五六七八九十]{1,2}月(?:[一二三四五六七八九十]{1,3}[日号])?(?:初|中旬|上旬|下旬|底|末|份)?",
        )
    )
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


def count_spans(sentence: str) -> list[Span]:
    """Numbers followed by a measure word, longest measure first.

    >>> [s.text for s in count_spans("已关停120家，自行整改45家，让50万余人次受益，一是加强")]
    ['120家', '45家', '50万余人次']
    """
    measures = "|".join(re.escape(m) for m in load_cues().measures)
    pattern = re.compile(rf"(?:{_DIGITS}|{_HAN_NUMBER}){_MAGNITUDE}(?:{measures})")
    spans = []
    for match in pattern.finditer(sentence):
        number = match.group()
        # A lone 一 is nearly always part of a phrase (一是, 一个时期), not a count.
        if number[0] == "一" and not re.match(_HAN_NUMBER[:-1] + "{2,}", number):
            continue
        spans.append(Span(match.start(), match.end(), number))
    return spans


def date_spans(sentence: str) -> list[Span]:
    """Explicit dates: years, months, days, decades.

    >>> [s.text for s in date_spans("8月底，省文旅厅印发方案；2019年3月5日召开")]
    ['8月底', '2019年3月5日']
    """
    return [Span(m.start(), m.end(), m.group()) for m in _DATE.finditer(sentence)]


def person_spans(sentence: str) -> list[Span]:
    """Persons: jieba's ``nr`` words, and a name right after an office (副厅长石清理主持 -> the name).

    >>> [s.text for s in person_spans("副厅长王小明主持，厅长曾锋出席")]
    ['王小明', '曾锋']
    """
    titles = load_cues().titles
    words = _tagged(sentence)
    spans: dict[int, Span] = {}
    for i, (start, word, flag) in enumerate(words):
        if flag == "nr" and len(word) >= 2:
            spans.setdefault(start, Span(start, start + len(word), word))
        if word in titles or any(word.endswith(t) for t in titles if len(t) >= 2):
            name = _name_after(words[i + 1 :])
            if name:
                spans[name.start] = name
    return sorted(spans.values(), key=lambda s: s.start)


def place_spans(sentence: str) -> list[Span]:
    """Places by jieba's ``ns`` tag. Place names are in jieba's dictionary, so the HMM (slow, and needed
    only for unknown words) is left out: this runs on every candidate sentence of a "where" question.

    >>> [s.text for s in place_spans("会议在石家庄市召开")]
    ['石家庄市']
    """
    return [Span(start, start + len(word), word) for start, word, flag in _tagged(sentence, False) if flag == "ns"]


_FINDERS = {"how_many": count_spans, "when": date_spans, "who": person_spans, "where": place_spans}


def answer_spans(sentence: str, kind: str) -> list[Span]:
    """The candidate answers of a question type in ``sentence``; none for "what"."""
    finder = _FINDERS.get(kind)
    return finder(sentence) if finder else []


def asked_measure(question: str) -> str | None:
    """The measure word a how-many question asks in, e.g. 家 in 多少家.

    >>> asked_measure("关停了多少家网吧？"), asked_measure("派出了几名队员"), asked_measure("有多少？")
    ('家', '名', None)
    """
    text = normalise(question)
    for match in re.finditer(r"(?:多少|几)", text):
        rest = text[match.end() :]
        for measure in load_cues().measures:
            if rest.startswith(measure):
                return measure
    return None


def candidate_spans(sentence: str, kind: str, question: str) -> list[Span]:
    """The spans that could answer a ``kind`` question: not already in the question, and for "how
    many" in the measure the question asks in (多少家 wants 120家, not 8名) when any such is present.

    >>> [s.text for s in candidate_spans("解散45家，抓获8名", "how_many", "抓获了几名？")]
    ['8名']
    """
    asked = normalise(question)
    candidates = [s for s in answer_spans(sentence, kind) if normalise(s.text) not in asked]
    if kind == "how_many":
        measure = asked_measure(question)
        same_measure = [s for s in candidates if measure and s.text.endswith(measure)]
        candidates = same_measure or candidates
    return candidates


def choose_highlight(
    sentence: str, kind: str, question: str, terms: Sequence[tuple[str, float]]
) -> str | None:
    """The one span of ``sentence`` that answers a ``kind`` question, or None when it is not certain.

    ``terms`` are the question's words (normalised) with their weights; the clause sharing the most
    weight with them holds the answer. Spans the question itself contains are never the answer.

    >>> s = "已关停违规网吧120家，自行整改45家，新开门店70家。"
    >>> choose_highlight(s, "how_many", "关停了多少家？", [("关停", 2.0)])
    '120家'
    >>> choose_highlight(s, "how_many", "有多少家？", []) is None
    True
    """
    candidates = candidate_spans(sentence, kind, question)
    if len(candidates) <= 1:
        return candidates[0].text if candidates else None
    scored = sorted(((_clause_weight(sentence, span, terms), span) for span in candidates), key=lambda x: -x[0])
    (best, span), (runner_up, _) = scored[0], scored[1]
    return span.text if best > 0 and best > runner_up else None


def _clause_weight(sentence: str, span: Span, terms: Sequence[tuple[str, float]]) -> float:
    start = max((m.end() for m in _CLAUSE_END.finditer(sentence, 0, span.start)), default=0)
    end_match = _CLAUSE_END.search(sentence, span.end)
    clause = normalise(sentence[start : end_match.start() if end_match else len(sentence)])
    return sum(weight for term, weight in terms if term in clause)


@lru_cache(maxsize=4096)
def _tagged(sentence: str, hmm: bool = True) -> list[tuple[int, str, str]]:
    """(offset, word, part-of-speech flag) for each jieba word of the sentence as stored. Without the
    HMM, words outside jieba's dictionary are not guessed (new names are missed), but tagging is
    several times faster."""
    from jieba import posseg

    from retrieval.tokenize import _jieba

    _jieba()
    words, offset = [], 0
    for pair in posseg.lcut(sentence, HMM=hmm):
        words.append((offset, pair.word, pair.flag))
        offset += len(pair.word)
    return words


def _name_after(words: Sequence[tuple[int, str, str]]) -> Span | None:
    """A two- or three-character name made of the words right after an office title, if they look like
    one: no verb, preposition, conjunction or punctuation inside it, and a known surname first (or jieba
    saying it is a name)."""
    if not words:
        return None
    start, text = words[0][0], ""
    for _, word, flag in words:
        stops = "pcuxm" if text else "pcuxmvrdq"  # a name may be cut into words jieba tags oddly
        if flag[0] in stops or len(text + word) > 3:
            break
        text += word
    if len(text) < 2:
        return None
    first_flag = words[0][2]
    if first_flag == "nr" or text[0] in _surnames():
        return Span(start, start + len(text), text)
    return None


@lru_cache(maxsize=1)
def _surnames() -> frozenset[str]:
    data = resources.files("retrieval").joinpath("data/surnames.txt").read_text(encoding="utf-8")
    return frozenset(w for line in data.splitlines() if not line.startswith("#") for w in line.split())
