"""Finding the span of a quoted sentence that answers the question: 120家 for "how many", a name for
"who", a date for "when", a place for "where".

Candidates come from patterns (numbers with a measure word, dates) and from jieba's part-of-speech tags
(persons, places). When more than one candidate remains, the one standing in the clause that shares the
most question words wins; if that does not single one out, there is no highlight rather than a guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Sequence

from retrieval.english import base_forms
from retrieval.question import english_office, english_words, load_cues
from retrieval.tokenize import half_width, may_tag_without_hmm, normalise, tagged_words

# A comma groups thousands (2,800), three digits at a time: after NFKC a Chinese comma is one too, and
# 7.07，15岁 holds two numbers.
_DIGITS = r"\d+(?:,\d{3}(?!\d))*(?:\.\d+)?"
_HAN_NUMBER = r"[零〇一二两三四五六七八九十百千万亿]+"
_MAGNITUDE = r"(?:多|余|万|亿|千|百|几)*"
_NUMERALS = frozenset("一二三四五六七八九十百千万零〇两")  # 二十大 is a congress, not a person
_YEAR = re.compile(r"(?:1\d|20)\d\d年")
# A month or a day of the month names a date, not a count: 7月 (July) is no answer to 多少个, while a
# duration says 个月 or 天 (3个月, 20天).
_CALENDAR_PART = re.compile(r"(?:1[0-2]|0?[1-9])月|(?:3[01]|[12]\d|0?[1-9])[日号]")
_CLAUSE_END = re.compile(r"[，,；;。！？!?：:\s]")
_COORDINATION = re.compile(r"[和与、]")
_DEPUTY = "副"  # before an office title: its deputy (副厅长, 副总统)

_DATE = re.compile(
    "|".join(
        (
            r"(?:公元前?)?\d{2,4}年代",
            r"(?:公元前?)?(?:\d{1,2}|[一二三四五六七八九十]{1,3})世纪(?:\d{2}年代|[一二三四五六七八九十]{2,3}年代)?(?:初期|中期|末期|中叶|初|末|前期|后期|早期|晚期)?",
            r"[一二三四五六七八九十]{2,3}年代(?:初期|中期|末期|初|末)?",
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


@lru_cache(maxsize=8192)
def comparable(sentence: str) -> tuple[str, tuple[int, ...]]:
    """The sentence normalised (NFKC, Simplified, lower case) and, for each of its characters and its
    end, the offset in ``sentence`` it came from: finders read the normalised text (jieba tags
    Traditional text slowly and badly) and give spans of the sentence as stored.

    >>> comparable("２℃時")
    ('2°c时', (0, 1, 1, 2, 3))
    """
    folded = half_width(sentence)
    if unicodedata.is_normalized("NFKC", folded):
        # No character left that NFKC changes (one that does cannot stand in NFKC text, and one that
        # may compose stays as it is alone), and each full-width form became one character: the
        # characters' own NFKC forms are the characters, one for one.
        offsets = list(range(len(sentence) + 1))
    else:
        offsets = []
        pieces = []
        for position, char in enumerate(sentence):
            piece = unicodedata.normalize("NFKC", char)
            pieces.append(piece)
            offsets.extend([position] * len(piece))
        offsets.append(len(sentence))
        folded = "".join(pieces)
    simplified = normalise(folded)
    if len(simplified) != len(folded):  # a conversion that changed the length: compare as folded only
        simplified = folded.lower() if len(folded.lower()) == len(folded) else folded
    return simplified, tuple(offsets)


def _mapped(sentence: str, places: Sequence[tuple[int, int]]) -> list[Span]:
    """Spans of ``sentence`` for (start, end) places in its normalised text."""
    _, offsets = comparable(sentence)
    spans = []
    for start, end in places:
        first, last = offsets[start], offsets[end - 1] + 1 if end > start else offsets[start]
        spans.append(Span(first, last, sentence[first:last]))
    return spans


def count_spans(sentence: str) -> list[Span]:
    """Numbers followed by a measure word, longest measure first.

    >>> [s.text for s in count_spans("已关停120家，自行整改45家，让50万余人次受益，一是加强")]
    ['120家', '45家', '50万余人次']
    >>> [s.text for s in count_spans("共有２４項個性目標，速度15至25公里")]
    ['２４項', '15至25公里']
    >>> [s.text for s in count_spans("收视率为7.07，15岁至44岁观众，可容纳6,476名观众")]
    ['15岁', '44岁', '6,476名']
    >>> [s.text for s in count_spans("约三分之一的人口，增长百分之五十，得了95分")]
    ['三分之一', '百分之五十', '95分']
    """
    text, _ = comparable(sentence)
    places = []
    for match in _count_pattern().finditer(text):
        number = match.group()
        # A lone 一 is nearly always part of a phrase (一是, 一个时期), not a count.
        if number[0] == "一" and not re.match(_HAN_NUMBER[:-1] + "{2,}", number):
            continue
        places.append(match.span())
    return _mapped(sentence, places)


@lru_cache(maxsize=1)
def _count_pattern() -> re.Pattern[str]:
    measures = "|".join(re.escape(m) for m in load_cues().measures)
    number = rf"(?:{_DIGITS}|{_HAN_NUMBER}){_MAGNITUDE}"
    # A fraction is one answer, not a count of 分 (三分之一, 百分之五十); a range is one answer too:
    # 15至25公里, 50～75公斤.
    fraction = rf"{number}分之{number}"
    return re.compile(rf"{fraction}|{number}(?:\s*[～~\-—–至到]\s*{number})?(?:{measures})")


def date_spans(sentence: str) -> list[Span]:
    """Explicit dates: years, months, days, decades.

    >>> [s.text for s in date_spans("8月底，省文旅厅印发方案；2019年3月5日召开")]
    ['8月底', '2019年3月5日']
    """
    text, _ = comparable(sentence)
    return _mapped(sentence, [m.span() for m in _DATE.finditer(text)])


def person_spans(sentence: str, hmm: bool = True) -> list[Span]:
    """Persons: jieba's person words (a Chinese name must start with a known surname; transliterated
    names joined by · are one name), and a name right after an office (副厅长石清理主持 -> the name).
    Without the HMM (``hmm=False``, several times faster) names outside jieba's dictionary are found
    only after an office.

    >>> [s.text for s in person_spans("副厅长王小明主持，厅长曾锋出席")]
    ['王小明', '曾锋']
    >>> [s.text for s in person_spans("养老服务会议上，吉米·史都华发言")]
    ['吉米·史都华']
    """
    return [span for span, _ in _persons(sentence, hmm)]


def office_of(sentence: str, name: str) -> str | None:
    """The office title standing right before ``name`` in the sentence, if any.

    >>> office_of("厅长曾锋出席，副厅长石清理主持", "石清理"), office_of("曾锋出席", "曾锋")
    ('副厅长', None)
    """
    for span, title in _persons(sentence, True):
        if span.text == name and title:
            return title
    return None


# What joins the parts of a transliterated name (吉米·史都华).
_NAME_DOTS = "·•‧"


@lru_cache(maxsize=8192)
def _persons(sentence: str, hmm: bool) -> tuple[tuple[Span, str | None], ...]:
    """Each person of the sentence with the office title right before it (None when there is none)."""
    text, _ = comparable(sentence)
    if not hmm and not _may_name_person(text):
        return ()  # half the candidate sentences of a who question, for a tenth of the tagging's time
    words = _tagged(text, hmm)
    found: dict[int, tuple[tuple[int, int], str | None]] = {}
    i = 0
    while i < len(words):
        start, word, flag = words[i]
        title = _title_of(word)
        if title:
            name = _name_after(words[i + 1 :])
            if name:
                found[name[0]] = (name, title)
        if flag.startswith("nr"):
            # A transliterated name is cut into parts around a ·: 吉米 · 史都华 is one person.
            end, j = start + len(word), i + 1
            while j + 1 < len(words) and words[j][1] in _NAME_DOTS and words[j + 1][2][0] in "nri":
                end = words[j + 1][0] + len(words[j + 1][1])
                j += 2
            while j < len(words) and words[j][2].startswith("nrt") and end - start < 8:  # 穆罕默德 二世
                end = words[j][0] + len(words[j][1])
                j += 1
            joined = end - start > len(word)
            named = joined or flag != "nr" or word[0] in _surnames()
            if named and word[0] not in _NUMERALS and end - start >= 2 and start not in found:
                found[start] = ((start, end), _title_of(words[i - 1][1]) if i else None)
            i = j
            continue
        i += 1
    places = sorted(found.items())
    spans = _mapped(sentence, [place for _, (place, _) in places])
    return tuple((span, title) for span, (_, (_, title)) in zip(spans, places))


def _may_name_person(text: str) -> bool:
    """Whether ``_persons`` without the HMM can find a person in a normalised text: only after a word
    ending in a title, or at a word jieba's dictionary tags as a person (nr, nrt, nrfg). A one-character
    one of those (but nrt) makes a name only joined by a · or to an nrt word after it. False rules a
    person out; True does not say there is one.

    >>> _may_name_person("副厅长王小明主持"), _may_name_person("会议部署了工作"), _may_name_person("吉米·史都华发言")
    (True, False, True)
    """
    return bool(_title_pattern().search(text)) or any(dot in text for dot in _NAME_DOTS) or may_tag_without_hmm(text, _person_word)


@lru_cache(maxsize=1)
def _title_pattern() -> re.Pattern[str]:
    return re.compile("|".join(re.escape(title) for title in load_cues().titles))


def _person_word(word: str, tag: str) -> bool:
    return tag.startswith("nr") and (len(word) > 1 or tag.startswith("nrt"))


# Asked of every word of every tagged sentence: the answer for a word is kept.
@lru_cache(maxsize=65536)
def _title_of(word: str) -> str | None:
    """The office title a word is or ends with (民政厅厅长 -> 厅长; 副厅长 -> 副厅长), if any; 副 before
    any title makes it a deputy's, listed or not (副总统 is not 总统).

    >>> _title_of("民政厅厅长"), _title_of("副厅长"), _title_of("美国副总统"), _title_of("会议")
    ('厅长', '副厅长', '副总统', None)
    """
    titles, lengths = _titles()
    for length in lengths:  # longest first: a word has one ending of each length
        title = word[-length:]
        if len(title) == length and title in titles and (length >= 2 or word == title):
            return _DEPUTY + title if word.endswith(_DEPUTY + title) else title
    return None


@lru_cache(maxsize=1)
def _titles() -> tuple[frozenset[str], tuple[int, ...]]:
    """The office titles, and their lengths longest first."""
    titles = load_cues().titles
    return frozenset(titles), tuple(sorted({len(title) for title in titles}, reverse=True))


def place_spans(sentence: str) -> list[Span]:
    """Places by jieba's ``ns`` tag. Place names are in jieba's dictionary, so the HMM (slow, and needed
    only for unknown words) is left out: this runs on every candidate sentence of a "where" question.

    >>> [s.text for s in place_spans("会议在石家庄市召开")]
    ['石家庄市']
    """
    return list(_places(sentence))


# Asked of each candidate sentence of a where question, question after question.
@lru_cache(maxsize=8192)
def _places(sentence: str) -> tuple[Span, ...]:
    text, _ = comparable(sentence)
    if not may_tag_without_hmm(text, _place_word):
        return ()  # half the candidate sentences of a where question, for a tenth of the tagging's time
    return tuple(_mapped(sentence, [(start, start + len(word)) for start, word, flag in _tagged(text, False) if _place_word(word, flag)]))


def _place_word(word: str, tag: str) -> bool:
    return tag == "ns" and len(word) >= 2


def answer_spans(sentence: str, kind: str, hmm: bool = True) -> list[Span]:
    """The candidate answers of a question type in ``sentence``; none for "what"."""
    if kind == "who":
        return person_spans(sentence, hmm)
    finder = _FINDERS.get(kind)
    return finder(sentence) if finder else []


_FINDERS = {"how_many": count_spans, "when": date_spans, "where": place_spans}
_normalised_question = lru_cache(maxsize=16)(normalise)

# Measure words that count the same things: a question asking 几个人 or 多少名 takes 8人, 8名 or 8位.
_PEOPLE = frozenset({"人", "名", "位", "人次", "万人次"})
# What part of a date a when-question asks for, by its cue words; the date must hold the part's mark.
_DATE_PARTS = (
    ("年代", ("年代",)),
    ("世纪", ("世纪",)),
    ("年", ("哪一年", "哪年", "何年", "年份", "几几年", "什么年")),
    ("月", ("几月", "哪个月", "哪一个月", "什么月")),
    ("日", ("哪一天", "哪天", "几号", "几日", "哪日", "什么日子")),
)


# The question-only parts of ``candidate_spans``, asked for each of a question's 30-odd candidate
# sentences: kept for the last few questions (a question's, not remembered across questions).
@lru_cache(maxsize=16)
def asked_measure(question: str) -> str | None:
    """The measure word a how-many question asks in, e.g. 家 in 多少家.

    >>> asked_measure("关停了多少家网吧？"), asked_measure("派出了几名队员"), asked_measure("有多少？")
    ('家', '名', None)
    """
    text = normalise(question)
    for match in re.finditer(r"(?:多少|几)", text):
        measure = measure_at(text, match.end())
        if measure is not None:
            return "人" if measure == "个" and text[match.end() + 1 : match.end() + 2] == "人" else measure
    return None


def measure_at(text: str, position: int) -> str | None:
    """The known measure word that starts at ``position`` of ``text``, the longest when several do.

    >>> measure_at("破获案件11起。", 6), measure_at("共3.2万元", 4), measure_at("共3人", 1)
    ('起', '万元', None)
    """
    return next((m for m in load_cues().measures if text.startswith(m, position)), None)


def fits_measure(span: str, measure: str) -> bool:
    """Whether a count is in the asked measure (people counted by 人, 名 or 位 alike).

    >>> fits_measure("8名", "人"), fits_measure("45家", "家"), fits_measure("45家", "名"), fits_measure("45家", "个")
    (True, True, False, True)
    >>> fits_measure("11起", "宗"), fits_measure("11起", "项")  # 宗, 起 and 件 all count cases
    (True, False)
    """
    text = normalise(span)
    if measure == "个":  # the classifier of anything: 多少个组织 is answered in 家 as often as in 个
        return not any(text.endswith(m) for m in _PEOPLE)
    if measure in _PEOPLE:
        return any(text.endswith(m) for m in _PEOPLE)
    for group in load_cues().measure_groups:
        if measure in group:
            return any(text.endswith(m) for m in group)
    return text.endswith(measure)


def shown_span(sentence: str, span: Span, kind: str, question: str) -> Span:
    """What is shown of a chosen span, which is judged whole: a date cut after the finest part the
    question asks for (哪一年 takes 1598年 of 1598年9月18日, 几月 takes 5月 of 5月21日, 几月几日 the day,
    哪个世纪 takes 16世纪 of 16世纪中期), a range whole (1861至1865年, 100米至2,800米), a 民国 year with its
    era (民國34年: the number alone is no year), an ordinal with its 第 (第149位: a rank, not a count).

    >>> s = "1598年9月18日逝世，民國34年建校，名列第149位，1861至1865年，16世紀中期，海拔100米至2,800米的山地"
    >>> [shown_span(s, Span(*where), kind, q).text for where, kind, q in [
    ...     ((0, 10, "1598年9月18日"), "when", "哪一年逝世"), ((0, 10, "1598年9月18日"), "when", "什么时候逝世"),
    ...     ((0, 10, "1598年9月18日"), "when", "几月几日逝世"), ((15, 18, "34年"), "when", "哪一年建校"),
    ...     ((15, 18, "34年"), "how_many", "民國幾年建校"), ((24, 28, "149位"), "how_many", "名列第几位"),
    ...     ((34, 39, "1865年"), "when", "何时"), ((40, 46, "16世紀中期"), "when", "哪一个世纪"),
    ...     ((49, 53, "100米"), "how_many", "海拔多少米")]]
    ['1598年', '1598年9月18日', '1598年9月18日', '民國34年', '民國34年', '第149位', '1861至1865年', '16世紀', '100米至2,800米']
    """
    text, offsets = comparable(sentence)
    # Where the span stands in the normalised text (offsets maps its positions to the stored ones).
    if span.start not in offsets or span.end not in offsets:
        return span
    at, to = offsets.index(span.start), offsets.index(span.end)
    if kind == "when":
        part = _finest_date_part(question)
        cut = text.find(part, at, to) if part else -1
        if cut >= 0 and not (part == "年" and text[cut + 1 : cut + 2] == "代"):
            to = cut + len(part)
        before = _RANGE_BEFORE.search(text, 0, at)
        if before:
            at = before.start()
    elif kind == "how_many":
        measure = re.search(r"\D+$", text[at:to])
        after = measure and re.compile(_RANGE_TO + _DIGITS + re.escape(measure.group())).match(text, to)
        if after:
            to = after.end()
    if text[max(at - 2, 0) : at] == _REPUBLIC_ERA and text[at : at + 1].isdigit():
        at -= 2
    elif kind == "how_many" and text[at - 1 : at] == _ORDINAL:
        at -= 1
    start, end = offsets[at], offsets[to]
    return Span(start, end, sentence[start:end])


def _finest_date_part(question: str) -> str | None:
    """The finest part of a date the question asks for: 日 for 几月几日, where ``asked_date_part`` (which
    picks the candidates) reads the first.

    >>> _finest_date_part("几月几日召开"), _finest_date_part("哪一年"), _finest_date_part("什么时候")
    ('日', '年', None)
    """
    parts = _date_parts_asked(question)
    return parts[-1] if parts else None


# A range whose first end stands bare before the date (1861至|1865年) or repeats the count after it
# (100米|至2,800米): one answer.
_RANGE_TO = r"\s*[至到～~\-—–]\s*"
_RANGE_BEFORE = re.compile(r"\d{1,4}" + _RANGE_TO + "$")
_REPUBLIC_ERA, _ORDINAL = "民国", "第"
# A when-question asking which period, era or dynasty: on DRCD's and CMRC's even halves, 4 of the 39
# gold answers to such questions hold a date; the rest name it (蒙德极小期, 朝鲜王朝, 清朝时期).
_PERIOD_ASKED = re.compile(r"(?:哪|什么|何)(?:一个|一|个)?(?:时期|时代|朝代)")


def asked_date_part(question: str) -> str | None:
    """The mark of the date part a when-question asks for: 年 for 哪一年, 月 for 几月, 年代 ...

    >>> asked_date_part("哪一年建成的？"), asked_date_part("几月几日召开"), asked_date_part("什么时候召开")
    ('年', '月', None)
    """
    parts = _date_parts_asked(question)
    return parts[0] if parts else None


@lru_cache(maxsize=16)
def _date_parts_asked(question: str) -> tuple[str, ...]:
    """The marks of every date part the question's cues ask for, coarsest first (月, 日 for 几月几日)."""
    text = normalise(question)
    return tuple(mark for mark, cues in _DATE_PARTS if any(cue in text for cue in cues))


def candidate_spans(sentence: str, kind: str, question: str, hmm: bool = True, calendar_counts: bool = False) -> list[Span]:
    """The spans that could answer a ``kind`` question: not already in the question, and of the kind
    asked: for "how many" in the measure the question asks in (多少家 wants 120家, not 8名; a month or
    a day of the month is a date, not a count, unless ``calendar_counts``), for "when" holding the
    part asked (哪一年 wants a year).

    >>> [s.text for s in candidate_spans("解散45家，抓获8名", "how_many", "抓获了几名？")]
    ['8名']
    >>> [s.text for s in candidate_spans("5月30日攻入，1453年灭亡", "when", "哪一年灭亡？")]
    ['1453年']
    >>> [s.text for s in candidate_spans("7月初印发，历时3个月，查处12家", "how_many", "查处了多少个？")]
    ['3个', '12家']
    """
    asked = _normalised_question(question)
    candidates = [s for s in answer_spans(sentence, kind, hmm) if normalise(s.text) not in asked]
    if kind == "how_many":
        measure = asked_measure(question)
        if measure:
            candidates = [s for s in candidates if fits_measure(s.text, measure)]
        candidates = [s for s in candidates if not _YEAR.fullmatch(normalise(s.text))]  # 1989年 is a date
        if measure in (None, "个") and not calendar_counts:  # asking in any measure still asks for a count
            candidates = [s for s in candidates if not _CALENDAR_PART.fullmatch(normalise(s.text))]
    elif kind == "when":
        part = asked_date_part(question)
        if part:
            candidates = [s for s in candidates if part in normalise(s.text)]
    return candidates


# What the confidence of a highlight is judged by (``HighlightChoice.features``), in this order.
HIGHLIGHT_FEATURES = (
    "how_many", "when", "where", "who",  # the question's kind
    "only_candidate",  # the one span of the kind in the quote
    "context",  # characters around it repeating the question's words around its question word (/ 4, at most 1)
    "clause",  # share of the question's weight in the span's clause
    "lead",  # how far it leads the runner-up: 1 when alone, else the gap in clause share
    "office",  # a person named by the office asked for, or a person's office asked for
    "near",  # 1 / (1 + d / 10) for the distance d in characters to the nearest question word in the quote
    "candidates",  # spans of the asked kind in the quote (/ 5, at most 1)
    "typed",  # a count in the measure the question names (多少家 -> 248家), a person after an office title
)


@dataclass(frozen=True)
class HighlightChoice:
    """The span chosen to highlight (None: none is certain) and what its confidence is judged by."""

    text: str | None
    features: tuple[float, ...] = ()

    @property
    def tied(self) -> bool:
        """Whether the span stands by the question's words in the quote: its context repeats them, its
        clause holds some, or one stands in the quote at all (``near``). A span with none of these was
        picked only for its kind (a name in a sentence about something else).

        >>> s = "会上，王小明介绍了全市养老服务情况。"
        >>> [(c.text, c.tied) for c in (highlight_choice(s, "who", "Who chaired it?", [(w, 1.0)]) for w in ("主持", "养老"))]
        [('王小明', False), ('王小明', True)]
        """
        values = dict(zip(HIGHLIGHT_FEATURES, self.features))
        return any(values.get(name, 0.0) > 0 for name in _TIES)


# The features that tie a span to the question's words (``HighlightChoice.tied``).
_TIES = ("context", "clause", "near")


def choose_highlight(
    sentence: str, kind: str, question: str, terms: Sequence[tuple[str, float]]
) -> str | None:
    """The one span of ``sentence`` that answers a ``kind`` question, or None when it is not certain.

    ``terms`` are the question's words (normalised) with their weights; the candidate whose
    surroundings repeat the question's words around its question word wins, then the one in the
    clause sharing the most weight with them. Spans the question itself contains are never the answer.
    A who-question naming an office (厅长) takes only the name right after exactly that office (not
    副厅长); one naming the person it asks about (石清理是谁) takes the office before that name.

    >>> s = "已关停违规网吧120家，自行整改45家，新开门店70家。"
    >>> choose_highlight(s, "how_many", "关停了多少家？", [("关停", 2.0)])
    '120家'
    >>> choose_highlight(s, "how_many", "有多少家？", []) is None
    True
    >>> s = "厅长曾锋出席并讲话，副厅长石清理主持。"
    >>> choose_highlight(s, "who", "厅长是谁？", []), choose_highlight(s, "who", "石清理是谁？", [])
    ('曾锋', '副厅长')
    """
    return highlight_choice(sentence, kind, question, terms).text


def highlight_choice(sentence: str, kind: str, question: str, terms: Sequence[tuple[str, float]]) -> HighlightChoice:
    """``choose_highlight`` with the features its confidence is judged by."""
    if kind not in _KINDS:
        return HighlightChoice(None)
    total = sum(w for _, w in terms) or 1.0
    office = False
    if kind == "who":
        role = _role_asked(sentence, question)
        if role is not None:
            return _choice(role or None, kind, True, 0, 0.0, 1.0, True, 1.0, 1, True)
    if kind == "when" and _PERIOD_ASKED.search(normalise(question)):
        return HighlightChoice(None)  # a named period (宋朝, 启蒙时代) is the answer, and no date finder names one
    candidates = candidate_spans(sentence, kind, question)
    if kind == "who":
        asked_office = _office_asked(question)
        if asked_office:
            candidates = [s for s in candidates if office_of(sentence, s.text) == asked_office]
            office = True
        elif (asked_in_english := _office_asked_in_english(question)) is not None:
            candidates = [s for s in candidates if _holds_office(sentence, s, *asked_in_english)]
            office = True
    if not candidates:
        return HighlightChoice(None)
    scored = sorted(
        ((context_match(sentence, span, question), _clause_weight(sentence, span, terms) / total, span) for span in candidates),
        key=lambda x: (-x[0], -x[1]),
    )
    context, clause, span = scored[0]
    if any(_coordinated(sentence, span, other) for *_, other in scored[1:]):
        return HighlightChoice(None)  # 王小明和李华都出席: either is half the answer
    near = _nearness(sentence, span, terms)
    # The span is judged whole (its context, its clause); what is shown is the part asked for.
    shown = shown_span(sentence, span, kind, question).text
    if kind == "how_many":
        typed = asked_measure(question) not in (None, "个")
    else:
        typed = kind == "who" and office_of(sentence, span.text) is not None
    if len(scored) == 1:
        return _choice(shown, kind, True, context, clause, 1.0, office, near, 1, typed)
    runner_context, runner_clause, _ = scored[1]
    if (context, clause) == (runner_context, runner_clause) or (context == 0 and clause == 0):
        return HighlightChoice(None)  # two candidates equally likely
    lead = 1.0 if context > runner_context else clause - runner_clause
    return _choice(shown, kind, False, context, clause, lead, office, near, len(scored), typed)


_KINDS = ("how_many", "when", "where", "who")


def _choice(
    text: str | None, kind: str, alone: bool, context: float, clause: float, lead: float, office: bool, near: float,
    count: int, typed: bool,
) -> HighlightChoice:
    if text is None:
        return HighlightChoice(None)
    values = [1.0 if kind == k else 0.0 for k in _KINDS]
    values += [1.0 if alone else 0.0, min(context, 4) / 4, min(clause, 1.0), min(lead, 1.0), 1.0 if office else 0.0]
    values += [near, min(count, 5) / 5, 1.0 if typed else 0.0]
    return HighlightChoice(text, tuple(values))


_CONJUNCTION = re.compile(r"\s*(?:和|与|及|以及|、|跟|同|或|,|，)\s*")


def _coordinated(sentence: str, a: Span, b: Span) -> bool:
    """Whether two spans stand side by side joined only by 和, 与, 、 ... (both, or either, answer).

    >>> s = "王小明和李华都出席了会议"
    >>> _coordinated(s, Span(0, 3, "王小明"), Span(4, 6, "李华"))
    True
    """
    first, second = (a, b) if a.start < b.start else (b, a)
    return bool(_CONJUNCTION.fullmatch(sentence[first.end : second.start]))


def _nearness(sentence: str, span: Span, terms: Sequence[tuple[str, float]]) -> float:
    """1 / (1 + d / 10) for the distance d from the span to the nearest question word in the sentence."""
    text, offsets = comparable(sentence)
    distances = []
    for term, _ in terms:
        at = text.find(term) if term else -1
        while at >= 0:
            start, end = offsets[at], offsets[min(at + len(term), len(offsets) - 1)]
            if end <= span.start:
                distances.append(span.start - end)
            elif start >= span.end:
                distances.append(start - span.end)
            at = text.find(term, at + 1)
    return 1.0 / (1.0 + min(distances) / 10) if distances else 0.0


_PARTICLES = "的了是有在为于和与及把被将等着过呢吗啊呀吧"


def context_match(sentence: str, span: Span, question: str) -> float:
    """How many of the character bigrams around the question's own question word (six characters
    each side) stand within six characters on the same side of the span: 多少项个性目标 asks for the
    count followed by 个性目标 (24项个性目标, not 22项共性目标). A count's words before the question
    word also count, at half, after the span. When no span leads, the clause decides
    (``choose_highlight``).

    >>> s = "下达的24项个性目标和22项共性目标"
    >>> [context_match(s, x, "下达了多少项个性目标？") for x in count_spans(s)]
    [4.0, 2.0]
    >>> [context_match(s, x, "个性目标有几项？") for x in count_spans(s)]
    [1.5, 1.0]
    >>> s = "已关停违规网吧120家，自行整改45家"
    >>> [context_match(s, x, "有多少家自行整改？") for x in count_spans(s)]
    [0.0, 0.0]
    >>> s = "取缔劝散非法社会组织248家，自行解散33家，引导登记416家"
    >>> [context_match(s, x, "河北引导多少家社会组织进行了登记？") for x in count_spans(s)]
    [0.0, 0.0, 1.0]
    """
    asked = normalise(question)
    place = _question_word(asked)
    if place is None:
        return 0.0
    text, offsets = comparable(sentence)
    start = offsets.index(span.start) if span.start in offsets else None
    end = next((i for i, o in enumerate(offsets) if o >= span.end), None)
    if start is None or end is None:
        return 0.0
    before, after = asked[max(0, place[0] - 6) : place[0]], asked[place[1] : place[1] + 6]
    # Within the span's clause: the next clause's words belong to its own count (120家，自行整改45家).
    window_before = _CLAUSE_END.split(text[max(0, start - 6) : start])[-1]
    window_after = _CLAUSE_END.split(text[end : end + 6])[0]
    counting = asked.startswith(("多少", "几"), place[0]) and asked_date_part(asked) is None
    if counting:  # and short of a 和 or 、, where the next count's words start (24项个性目标和22项)
        window_before, window_after = _COORDINATION.split(window_before)[-1], _COORDINATION.split(window_after)[0]
    matched = float(sum(1 for b in _bigrams(before) if b in window_before) + sum(1 for b in _bigrams(after) if b in window_after))
    if counting:
        # A count stands before what it counts (24项个性目标), which a question names before its
        # question word as often as after it (个性目标有几项); but the words before it also name the
        # whole the count is part of (委员中有多少人为学生 against 20位委员), so they count half.
        matched += 0.5 * sum(1 for b in _bigrams(before) - _bigrams(after) if b in window_after)
    return matched


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1) if not (set(text[i : i + 2]) & set(_PARTICLES + "，,。？?！!；;：: "))}


@lru_cache(maxsize=1)
def _question_word_pattern() -> re.Pattern[str]:
    cues = load_cues()
    measures = "|".join(re.escape(m) for m in cues.measures)
    words = sorted({c for kind in ("when", "where", "who") for c in cues.chinese[kind]}, key=len, reverse=True)
    return re.compile(rf"(?:多少|几)(?:{measures})?|" + "|".join(re.escape(w) for w in words))


def _question_word(question: str) -> tuple[int, int] | None:
    match = _question_word_pattern().search(question)
    return match.span() if match else None




def _office_asked(question: str) -> str | None:
    """The office a who-question names (海南省民政厅厅长是谁 -> 厅长); the titles are tried longest
    first, so 副厅长 is never read as 厅长, and 副 before any title asks for the deputy.

    >>> _office_asked("海南省民政厅副厅长是谁"), _office_asked("美国副总统是谁"), _office_asked("美国总统是谁")
    ('副厅长', '副总统', '总统')
    """
    text = normalise(question)
    title = next((title for title in load_cues().titles if len(title) >= 2 and title in text), None)
    return _DEPUTY + title if title and _DEPUTY + title in text else title


def _office_asked_in_english(question: str) -> tuple[bool, tuple[str, ...]] | None:
    """For an English question naming an office's holder ("who heads", "the director of"): whether it
    asks for a deputy ("the deputy director"), and the endings of the titles its words stand for. None
    when it names no office. The office is translated loosely (a director is a 厅长, 局长 or 主任), but
    not its rank: a question without "deputy" or "vice" asks for the holder, as 厅长 does, and never
    for 副厅长.

    >>> _office_asked_in_english("Who heads the bureau?")[0], _office_asked_in_english("Who is its vice-director?")
    (False, (True, ('长', '主任')))
    >>> _office_asked_in_english("Who chaired the meeting?") is None
    True
    """
    return english_office(form for word in english_words(question) for form in base_forms(word, derived=False))


def _holds_office(sentence: str, span: Span, deputy: bool, endings: tuple[str, ...]) -> bool:
    """Whether the person ``span`` names holds an office of the rank and kind an English question asks
    for: a title right before the name (厅长曾锋) or right after it (唐登杰部长) that ends as one of
    ``endings``. A person with no title, or another one (习近平总书记 for "the director"), is not the
    holder asked for.

    >>> s = "厅长曾锋出席，副厅长石清理主持，传达习近平总书记的指示，唐登杰部长讲话"
    >>> [_holds_office(s, x, False, ("长", "主任")) for x in person_spans(s)]
    [True, False, False, True]
    """
    title = office_of(sentence, span.text) or _title_after(sentence, span)
    return title is not None and _is_deputy(title) == deputy and title.removeprefix(_DEPUTY).endswith(endings)


def _title_after(sentence: str, span: Span) -> str | None:
    """The office title standing right after a name (唐登杰部长), if any."""
    rest = normalise(sentence[span.end : span.end + 8])
    deputy = rest.startswith(_DEPUTY)
    title = next((t for t in load_cues().titles if rest.startswith(t, len(_DEPUTY) if deputy else 0)), None)
    return (_DEPUTY + title if deputy and not title.startswith(_DEPUTY) else title) if title else None


def _is_deputy(office: str | None) -> bool | None:
    """Whether an office title is a deputy's (副厅长); None for no office."""
    return None if office is None else office.startswith(_DEPUTY)


def _role_asked(sentence: str, question: str) -> str | None:
    """For a who-question about a person the sentence names (石清理是谁): that person's office in the
    sentence, "" when the sentence gives none; None when the question names nobody the sentence holds."""
    asked = normalise(question)
    named = [span.text for span, _ in _persons(sentence, True) if normalise(span.text) in asked]
    if not named:
        return None
    for name in named:
        office = office_of(sentence, name)
        if office:
            return _office_text(sentence, name, office)
    return ""


def _office_text(sentence: str, name: str, office: str) -> str:
    """The office as the sentence writes it (Traditional stays Traditional)."""
    text, offsets = comparable(sentence)
    at = text.find(normalise(office) + normalise(name))
    if at < 0:
        return office
    return sentence[offsets[at] : offsets[at + len(office) - 1] + 1]


def _clause_weight(sentence: str, span: Span, terms: Sequence[tuple[str, float]]) -> float:
    start = max((m.end() for m in _CLAUSE_END.finditer(sentence, 0, span.start)), default=0)
    end_match = _CLAUSE_END.search(sentence, span.end)
    clause = normalise(sentence[start : end_match.start() if end_match else len(sentence)])
    return sum(weight for term, weight in terms if term in clause)


def _tagged(sentence: str, hmm: bool = True) -> list[tuple[int, str, str]]:
    """(offset, word, part-of-speech flag) for each jieba word of a normalised sentence."""
    words, offset = [], 0
    for word, flag in tagged_words(sentence, hmm):
        words.append((offset, word, flag))
        offset += len(word)
    return words


def _name_after(words: Sequence[tuple[int, str, str]]) -> tuple[int, int] | None:
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
        return start, start + len(text)
    return None


@lru_cache(maxsize=1)
def _surnames() -> frozenset[str]:
    data = resources.files("retrieval").joinpath("data/surnames.txt").read_text(encoding="utf-8")
    return frozenset(w for line in data.splitlines() if not line.startswith("#") for w in line.split())
