"""Near misses: the articles speak of what a question asks about, but do not say what it asks.

A question about a subject the corpus covers can still ask for a fact it never states: who chaired a
meeting whose chair is never named, the director of one province where only another's is named. The
best sentence is then only related, and quoting it as the answer would mislead. Two generic signals
say so, after ranking:

- the kind of answer asked for is missing: a how-many question whose sentence holds no count, a when
  question whose sentence holds no date, a who question whose sentence names nobody;
- a place or an office the question names is missing from the answer's whole article (陕西 asked,
  an article about 海南 found; 厅长 asked, only 副厅长 written).
"""

from __future__ import annotations

import re
from typing import Callable

from retrieval.highlight import asked_measure, candidate_spans, fits_measure, measure_at
from retrieval.question import load_cues
from retrieval.tokenize import dictionary_tag, normalise, tagged_words

# Question kinds whose answer is a span the sentence must hold. "where" and "who" are left out: their
# answers are often organisations, venues, or names jieba does not tag (on the CMRC trial set a who
# check refused 14 answerable questions of 1,002).
CHECKED_KINDS = ("how_many", "when")
# Kinds a close sentence is preferred for when it holds one and the best does not; a who question is
# not refused for lack of a name, but a close sentence naming someone still beats one naming nobody.
PREFERRED_KINDS = ("how_many", "when", "who")
# A sentence scoring at most this much below the best, that holds the kind of answer asked for, is
# quoted instead of a best sentence that does not (sentence scores run from about 1 to 4).
KIND_MARGIN = 0.3
_PLACE_SUFFIXES = ("地区", "省", "市", "县", "区")
_NUMBER = re.compile(r"\d|[零〇两二三四五六七八九十百千万亿半]|一[^是些般起切直定样同致]")
# "When" is also answered by a relative time (近日, 今年上半年), unless the question asks for the day.
_RELATIVE_TIMES = ("近日", "日前", "近期", "目前", "当前", "今年", "去年", "明年", "前年", "上半年", "下半年", "年初",
    "年底", "年末", "月初", "月底", "当天", "当日", "同日", "此前", "今天", "昨天", "本月", "上月", "下月", "近年")
# Events that date another (赛后, 四国征伐后, 化雪的时候) answer a when question as well as a date.
_WHICH_ONES = ("哪几", "哪些")
_TIME_MARK = re.compile(r"岁|时候|时期|时代|期间|之后|以后|之前|以前|[后前]，|年|月|世纪|朝|季|[末初]|早上|晚上|上午|下午|中午|凌晨|夜间|平日|周末|每天|每周")
# A number in digits (normalise writes Chinese numerals so), with its magnitude: 3.2万, 1.5, 2019.
_DIGITS = re.compile(r"\d+(?:\.\d+)?[万亿千百]*")
_CHINESE_NUMERAL = re.compile(r"[零〇两二三四五六七八九十百千]")
_ANY_NUMERAL = re.compile(r"[零〇一两二三四五六七八九十百千万亿半]")
_EXACT_DATE_CUES = ("哪天", "哪一天", "几号", "几日", "哪日", "何日", "日期", "具体", "几月几")
# Common nouns jieba tags as places; they name no particular place a corpus may lack.
_GENERIC_PLACES = ("城市", "地区", "国家", "地方", "全国", "全省", "全市", "各地", "当地", "本地", "外地", "省份",
    "首都", "农村", "城乡", "基层", "海外", "境外", "国内", "省内", "市内")
_ROLES = ("成员", "人员", "同志", "负责人", "代表", "干部", "领导", "专家", "嘉宾", "群众", "团队")


def missing_answer(
    question: str,
    kind: str,
    sentence: str,
    article_text: str,
    known: Callable[[str], bool] = lambda word: False,
    kinds: tuple[str, ...] = CHECKED_KINDS,
) -> str | None:
    """Why ``sentence`` cannot answer ``question`` ("kind", "place", "office"), or None if it may.

    >>> missing_answer("会议是哪天召开的？", "when", "近日，省民政厅召开座谈会。", "省民政厅召开座谈会")
    'kind'
    >>> missing_answer("会议是哪天召开的？", "when", "5月8日，省民政厅召开座谈会。", "") is None
    True
    >>> missing_answer("浙江省民政厅厅长是谁？", "who", "厅长王明出席。", "江苏省民政厅厅长王明出席")
    'place'
    >>> missing_answer("民政厅副厅长是谁？", "who", "厅长王明出席。", "民政厅厅长王明出席")
    'office'
    """
    if kind in kinds and not holds_kind(sentence, kind, question):
        return "kind"
    if kind in kinds and kind == "how_many" and counts_only_in_other_measures(sentence, question):
        return "measure"
    text = normalise(question)
    for place in question_places(text, known):
        if not any(form in article_text for form in _place_forms(place)):
            return "place"
    for office in question_offices(text):
        if deputy_only(article_text, office):
            return "office"
    return None


def names_place_or_office(question: str, known: Callable[[str], bool] = lambda word: False) -> bool:
    """Whether ``missing_answer`` reads the article's text for ``question``: only to look for the places
    and offices it names.

    >>> names_place_or_office("陕西省民政厅厅长是谁？"), names_place_or_office("会议是哪天召开的？")
    (True, False)
    """
    text = normalise(question)
    return bool(question_places(text, known) or question_offices(text))


def without_idioms(sentence: str) -> str:
    """``sentence`` with the four-character idioms that hold a numeral (千方百计, 四面八方: jieba's
    dictionary tags them i) blanked out: their numerals count nothing.

    >>> without_idioms("千方百计改善民生，惠及三万人。")
    '    改善民生，惠及三万人。'
    """
    kept = list(sentence)
    for start in range(len(sentence) - 3):
        window = sentence[start : start + 4]
        if _ANY_NUMERAL.search(window) and dictionary_tag(window) == "i":
            kept[start : start + 4] = " " * 4
    return "".join(kept)


def holds_kind(sentence: str, kind: str, question: str) -> bool:
    """Whether ``sentence`` holds an answer of the kind asked: for how-many any number (the measure
    list cannot know every measure word), for when a date, for who a person or a role (成员, 负责人,
    an office: "who attended" is often answered by who they were).

    >>> holds_kind("放养鲢鱼三万尾。", "how_many", "多少尾？"), holds_kind("近日召开。", "when", "哪天？")
    (True, False)
    >>> holds_kind("近日召开。", "when", "什么时候召开的？"), holds_kind("他精通英语和法语。", "how_many", "精通哪几门语言？")
    (True, True)
    >>> holds_kind("各市民政局班子成员参加会议。", "who", "谁参加了？"), holds_kind("会议部署工作。", "who", "谁？")
    (True, False)
    >>> holds_kind("多措并举，千方百计改善民生。", "how_many", "投入了多少资金？")
    False
    """
    if kind == "how_many":
        # 哪几门 asks which ones, and a list answers it as well as a count.
        return bool(_NUMBER.search(without_idioms(sentence))) or any(cue in question for cue in _WHICH_ONES)
    # A who question's person spans need jieba's tagger with its HMM (several ms for a sentence of
    # unknown names): a title or a role found by a plain search answers first, the same either way.
    if kind == "who" and (any(t in sentence for t in load_cues().titles) or any(r in sentence for r in _ROLES)):
        return True
    if candidate_spans(sentence, kind, question):
        return True
    if kind == "when" and not any(cue in question for cue in _EXACT_DATE_CUES):
        return any(word in sentence for word in _RELATIVE_TIMES) or bool(_TIME_MARK.search(sentence))
    return False


def counts_only_in_other_measures(sentence: str, question: str) -> bool:
    """Whether every number of ``sentence`` counts in a known measure other than the one asked: 多少元
    against 由1.5倍调整为2倍. A number followed by anything the measure list does not know may be the
    answer written otherwise, and so may any number when the question asks in 个 or in no measure.

    >>> counts_only_in_other_measures("标准由1.5倍调整为2倍。", "每月多少元？")
    True
    >>> counts_only_in_other_measures("补贴3元至5元。", "每餐补贴多少钱？"), counts_only_in_other_measures("共3.2万元。", "多少元？")
    (False, False)
    >>> counts_only_in_other_measures("破获案件11起。", "几宗？"), counts_only_in_other_measures("有3支队伍。", "多少人？")
    (False, True)
    >>> counts_only_in_other_measures("共128个，其中8人。", "多少人？"), counts_only_in_other_measures("共128，8倍。", "多少人？")
    (False, False)
    >>> counts_only_in_other_measures("来自64个国家的84名运动员。", "多少国家参赛？")
    False
    >>> counts_only_in_other_measures("1997年大火连烧三天三夜。", "烧了几天？"), counts_only_in_other_measures("2010年列第4位。", "第几位？")
    (False, False)
    """
    measure = asked_measure(question)
    if measure is None or measure == "个" or "第几" in question:  # 第几位 asks a rank, not a count
        return False
    text = normalise(sentence)
    numbers = list(_DIGITS.finditer(text))
    if not numbers or _CHINESE_NUMERAL.search(text):  # 三天三夜, 民国七十一年: counts left in words
        return False
    for number in numbers:
        found = measure_at(text, number.end())
        # 个 counts anything (多少国家 -> 64个国家), like a measure the list does not know.
        if found is None or found == "个" or fits_measure(number.group() + found, measure):
            return False
    return True


def question_places(text: str, known: Callable[[str], bool] = lambda word: False) -> list[str]:
    """The names of administrative places in a (normalised) question: jieba's ``ns`` words that end
    as one (浙江省, 杭州市), or that the corpus (``known``) or jieba's dictionary also writes so as a
    place (浙江 for 浙江省). jieba tags some common nouns ``ns`` too, which this leaves out. Asking
    about a province the corpus never names (广东 in a corpus of other provinces) is a near miss, not
    a question about the one province it does name.

    >>> question_places("陕西省民政厅厅长是谁"), question_places("陕西厅长是谁", lambda w: w == "陕西省")
    (['陕西省'], ['陕西'])
    >>> question_places("广东厅长是谁")
    ['广东']
    >>> question_places("谁主持了会议"), question_places("环抱着哪座城市"), question_places("长度是多少")
    ([], [], [])
    """
    return [
        word
        for word, flag in tagged_words(text, hmm=False)
        if flag == "ns"
        and len(word) >= 2
        and word not in _GENERIC_PLACES
        and (word.endswith(_PLACE_SUFFIXES) or any(_written_as_place(word + suffix, known) for suffix in _PLACE_SUFFIXES))
    ]


def _written_as_place(word: str, known: Callable[[str], bool]) -> bool:
    return known(word) or dictionary_tag(word) == "ns"


def question_offices(text: str) -> list[str]:
    """The offices a question names (厅长, 副厅长), longest first, none inside another.

    >>> question_offices("海南省民政厅副厅长是谁"), question_offices("厅长是谁")
    (['副厅长'], ['厅长'])
    """
    found: list[str] = []
    for title in load_cues().titles:  # longest first
        start = text.find(title)
        if start >= 0 and not any(title in other for other in found):
            found.append(title)
    return found


def deputy_only(text: str, office: str) -> bool:
    """Whether ``text`` names only the other rank of ``office``: the deputy (副厅长) where the office
    itself (厅长) is asked, or the office where its deputy is asked. A text naming neither says
    nothing either way (the office may be written otherwise: 宣武帝 for 皇帝).

    >>> deputy_only("副厅长石清理主持", "厅长"), deputy_only("厅长曾锋、副厅长石清理", "厅长")
    (True, False)
    >>> deputy_only("厅长董杰人讲话", "副厅长"), deputy_only("宣武帝的皇后", "皇帝")
    (True, False)
    """
    if office.startswith("副"):
        return office not in text and office[1:] in text
    itself = any(text[max(m.start() - 1, 0) : m.start()] != "副" for m in re.finditer(re.escape(office), text))
    return not itself and "副" + office in text


def places_never_named(question: str, known: Callable[[str], bool]) -> list[str]:
    """The places ``question`` names that the corpus (``known``: its words) never writes in any form:
    a question about them asks what no article can say.

    >>> places_never_named("广东省民政厅厅长是谁", lambda w: w == "陕西"), places_never_named("陕西厅长是谁", lambda w: w == "陕西")
    (['广东省'], [])
    """
    text = normalise(question)
    return [
        place
        for place in question_places(text, known)
        if not any(known(form) for base in _place_forms(place) for form in (base, *(base + s for s in _PLACE_SUFFIXES)))
    ]


def _place_forms(place: str) -> tuple[str, ...]:
    """A place as it may be written: 陕西省 also as 陕西."""
    for suffix in _PLACE_SUFFIXES:
        if place.endswith(suffix) and len(place) > 2:
            return (place, place[: -len(suffix)])
    return (place,)


_COUNTED_RUN = re.compile(r"(?:多少|几)")
_COMMON_NOUN_TAGS = frozenset({"n", "nz", "ng", "vn", "b", "j"})  # jieba's tags of a noun phrase's words (非法/b 社会/n)
_RUN_END = re.compile(r"[，,。？?！!；;：:、\s的了吗呢啊呀]")


def counted_noun(question: str) -> str | None:
    """The noun a how-many question counts, right after its question word and measure: 目标 in
    一共多少个目标, 国家 in 多少个国家参加; the last word of the noun phrase (社会 in 多少家非法社会组织:
    jieba tags 组织 a verb); None when the measure is the whole of it (多少人) or no noun follows.

    >>> counted_noun("青海考核一共多少个目标？"), counted_noun("取缔了多少家非法社会组织"), counted_noun("抓了多少人？")
    ('目标', '社会', None)
    >>> counted_noun("有多少个国家参加了比赛"), counted_noun("於民國幾年嘉義升格為省轄市")
    ('国家', None)
    """
    text = normalise(question)
    for match in _COUNTED_RUN.finditer(text):
        start = match.end()
        measure = measure_at(text, start)
        start += len(measure) if measure else 0
        end = _RUN_END.search(text, start)
        run = text[start : end.start() if end else len(text)][:8]
        nouns: list[str] = []
        for word, flag in tagged_words(run, hmm=False):
            if flag not in _COMMON_NOUN_TAGS:
                break  # a verb or particle ends the noun phrase (多少个国家/参加), and a name is no count's noun (民国几年/嘉义)
            if len(word) >= 2:
                nouns.append(word)
        if nouns:
            return nouns[-1]
    return None


def counts_the_noun(sentence: str, noun: str) -> bool:
    """Whether ``sentence`` writes a count of ``noun``: a number then, within a few characters of the
    same clause, the noun (24项个性目标), or the noun right before a number (非法社会组织248家).

    >>> counts_the_noun("紧扣下达的24项个性目标和22项共性目标", "目标"), counts_the_noun("取缔非法社会组织248家", "组织")
    (True, True)
    >>> counts_the_noun("当前和今后一个时期，把牢考核目标", "目标")
    False
    >>> counts_the_noun("阿拉巴马州有四个国家森林", "森林"), counts_the_noun("一半以上病人死亡", "病人")
    (True, True)
    """
    text = normalise(sentence)
    noun = re.escape(noun)
    number = f"(?:{_NUMBER.pattern})"  # as holds_kind reads a number: digits, Chinese numerals, not 一些
    return bool(re.search(rf"{number}[^，,。；;、]{{0,5}}?{noun}|{noun}[^，,。；;、]{{0,2}}{number}", without_idioms(text)))
