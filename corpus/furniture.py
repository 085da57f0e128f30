"""What a newspaper page prints besides its articles' text, recognised from the forms every paper uses.

Page headers and footers (date, 星期, 版, 责任编辑, a page number), bylines (本报记者 王某), datelines
(本报讯, 新华社北京6月1日电), photo captions (图为…, …摄), attributions （据…） and "continued on"
notes. Each recogniser is a small pure function of one line or one paragraph; none knows any
page's strings. The layout model (``corpus.layout``) weighs what they say with the page's geometry.
"""

from __future__ import annotations

import re

_DIGITS = "0-9０-９"
_CN_NUMERALS = "〇零一二三四五六七八九十"

# --- page headers and footers -------------------------------------------------------------------

_DATE = re.compile(rf"([12][{_DIGITS}]{{3}})\s*年\s*([{_DIGITS}]{{1,2}})\s*月\s*([{_DIGITS}]{{1,2}})\s*日")
_WEEKDAY = re.compile(r"星\s*期\s*[一二三四五六日天]|周[一二三四五六日]")
_EDITOR = re.compile(r"(责\s*任\s*编\s*辑|美\s*术\s*编\s*辑|责\s*编|编\s*辑|校\s*对|版\s*式|制\s*图|图\s*片\s*编\s*辑)\s*[：:]")
_EDITION = re.compile(rf"(第\s*[{_DIGITS}{_CN_NUMERALS}]+\s*版|\b[A-Z]?[{_DIGITS}]{{1,2}}\s*版\b|版\s*面)")
_PAGE_NUMBER_FIELD = re.compile(rf"^[-—\s]*[{_DIGITS}]{{1,3}}[-—\s]*$")
_WIDE_GAP = re.compile(r"\S(\s{2,}|\u3000+)\S")
_CONTINUED = re.compile(r"^[（(]\s*(上接|下转|转|接)\s*第?\s*[\dA-Z一二三四五六七八九十]+\s*版.{0,12}[）)]$")
_SENTENCE_MARKS = re.compile(r"[，。！？；]")

# A line needs this much evidence to be set aside as a page header or footer.
FURNITURE_EVIDENCE = 2.0


def furniture_evidence(raw: str, at_page_edge: bool) -> float:
    """How strongly a raw line reads as a page header or footer (0 for ordinary text).

    Each field such a line carries counts: a date, a weekday, an editor's credit, an edition (版), a
    lone page number, and the wide gaps between fields. A line at the top or bottom of the page needs
    less. A line with sentence punctuation is text.

    >>> furniture_evidence("2023年5月4日 星期四    责任编辑：王某     7", True) >= FURNITURE_EVIDENCE
    True
    >>> furniture_evidence("2023年5月4日，市政府召开会议。", True)
    0.0
    >>> furniture_evidence("  12  ", True) >= FURNITURE_EVIDENCE
    True
    """
    text = raw.strip()
    if not text:
        return 0.0
    if _CONTINUED.match(text):
        return 3.0
    if _SENTENCE_MARKS.search(text):
        return 0.0
    fields = [field for field in re.split(r"\s{2,}|\u3000+", text) if field]
    evidence = 0.0
    evidence += 1.0 if _DATE.search(text) else 0.0
    evidence += 1.0 if _WEEKDAY.search(text) else 0.0
    evidence += 1.5 if _EDITOR.search(text) else 0.0
    evidence += 1.0 if _EDITION.search(text) else 0.0
    if any(_PAGE_NUMBER_FIELD.match(field) for field in fields):
        evidence += 1.0 if len(fields) > 1 else (2.0 if at_page_edge else 0.0)
    evidence += 0.5 if len(_WIDE_GAP.findall(text)) >= 2 else 0.0
    if evidence and at_page_edge:
        evidence += 0.5
    return evidence


def page_date(raw: str) -> str | None:
    """The ISO date a page header or footer carries.

    >>> page_date("2023年5月4日 星期四"), page_date("星期四")
    ('2023-05-04', None)
    """
    match = _DATE.search(raw)
    if not match:
        return None
    year, month, day = (int(part.translate(_FULL_WIDTH_DIGITS)) for part in match.groups())
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}"


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

# --- bylines and datelines ----------------------------------------------------------------------

# Who wrote or photographed: 记者, 通讯员, ... with an optional outlet before it.
_ROLE = r"(?:本报|新华社|中新社|人民日报)?(?:特约|见习|实习)?(?:记者|通讯员|实习生|撰稿|作者)"
_NAME = r"[\u4e00-\u9fff·]{2,4}"
_BYLINE_LINE = re.compile(rf"^(?:文\s*/\s*)?{_ROLE}\s*[：:]?\s*{_NAME}(?:\s*[、\s]\s*(?:{_ROLE}\s*)?{_NAME}|\s*{_ROLE}\s*{_NAME})*$")
_ROLE_WORD = re.compile(rf"{_ROLE}")
_DATELINE = re.compile(
    r"^((?:本报|新华社|中新社|中新网|人民网|新华网|央视网|本刊)"
    r"(?:讯|[^，。！？（(“]{1,16}?(?:电|讯)))"
)
_BYLINE_IN_BRACKETS = re.compile(r"^[（(]([^（）()]{2,40})[）)]")


def standalone_byline(text: str) -> str | None:
    """A line that is only a byline (本报记者 王某), tidied; None for anything else.

    A photo credit (… 摄) is a caption, not a byline.

    >>> standalone_byline("本报记者 王某某"), standalone_byline("记者 李某 通讯员 张某")
    ('本报记者 王某某', '记者 李某 通讯员 张某')
    >>> standalone_byline("记者从会上获悉，全市已建成"), standalone_byline("本报记者 王某 摄")
    (None, None)
    """
    text = text.strip()
    if text.endswith("摄") or not _BYLINE_LINE.match(text):
        return None
    return tidy_byline(text)


def tidy_byline(text: str) -> str:
    """One space between each role and its names, however OCR spaced them.

    >>> tidy_byline("记者王某通讯员 张某")
    '记者 王某 通讯员 张某'
    """
    text = re.sub(r"\s+", " ", text.strip())
    text = _ROLE_WORD.sub(lambda m: f" {m.group(0)} ", text)
    return re.sub(r"\s+", " ", text).strip().replace(" ：", "：").replace("： ", "：")


def split_dateline(text: str) -> tuple[str | None, str | None, str]:
    """A paragraph's opening dateline and bracketed byline, taken off its text.

    >>> split_dateline("本报讯（记者王某 通讯员李某）5月3日，全市召开会议。")
    ('本报讯', '记者 王某 通讯员 李某', '5月3日，全市召开会议。')
    >>> split_dateline("新华社北京5月3日电 全国会议今日召开。")
    ('新华社北京5月3日电', None, '全国会议今日召开。')
    >>> split_dateline("本报记者从会上获悉，全市已建成10处。")
    (None, None, '本报记者从会上获悉，全市已建成10处。')
    """
    match = _DATELINE.match(text)
    if not match:
        return None, None, text
    dateline = match.group(1)
    rest = text[match.end() :]
    byline = None
    bracket = _BYLINE_IN_BRACKETS.match(rest)
    if bracket and _ROLE_WORD.search(bracket.group(1)):
        byline = tidy_byline(bracket.group(1))
        rest = rest[bracket.end() :]
    rest = rest.lstrip(" ：:")
    if not rest:
        return None, None, text
    return re.sub(r"\s+", "", dateline), byline, rest


def starts_with_dateline(text: str) -> bool:
    """Whether a (cleaned) line or paragraph opens with a dateline: the first line of an article.

    >>> starts_with_dateline("本报讯（记"), starts_with_dateline("本报记者从会上获悉")
    (True, False)
    """
    return bool(_DATELINE.match(text))


# A news lede opens with when it happened or where the news came from.
_LEDE_OPENER = re.compile(
    r"^(近日|日前|近期|前不久|昨天|昨日|今天|今日|本周|上周|本月|"
    rf"(?:今年|去年|年初|入夏|入冬|入汛|[{_DIGITS}{_CN_NUMERALS}]{{1,2}}月)以来|"
    rf"自?[{_DIGITS}{_CN_NUMERALS}]{{1,3}}月[{_DIGITS}{_CN_NUMERALS}]{{1,3}}日|"
    r"记者从|记者日前从|本报讯|新华社)"
)


def opens_like_a_lede(text: str) -> bool:
    """Whether a paragraph opens as a news story's first paragraph does (近日，… / 5月3日，… / 本报讯).

    >>> opens_like_a_lede("近日，某市召开会议。"), opens_like_a_lede("会议要求，各地要抓好落实。")
    (True, False)
    """
    return bool(_LEDE_OPENER.match(text))


# --- photo captions -----------------------------------------------------------------------------

_CAPTION_START = re.compile(r"^(图为|上图|下图|左图|右图|图[①-⑩0-9一二三四五六]|图片[：:]|[（(]?图片来源)")
_PHOTO_CREDIT = re.compile(rf"(?:{_ROLE}\s*)?{_NAME}\s*摄\s*[）)]?$|(?:供图|图片来源[：:].*)[）)]?$")


def caption_starts(text: str) -> bool:
    """Whether a line opens a photo caption.

    >>> caption_starts("图为志愿者在社区服务。"), caption_starts("图书馆新馆开放")
    (True, False)
    """
    return bool(_CAPTION_START.match(text.strip()))


def caption_ends(text: str) -> bool:
    """Whether a line closes a photo caption with its credit (… 摄, 供图).

    >>> caption_ends("本报记者 王某 摄"), caption_ends("某某 摄）"), caption_ends("会议摄制完成。")
    (True, True, False)
    """
    return bool(_PHOTO_CREDIT.search(text.strip()))


# --- attributions -------------------------------------------------------------------------------

_ATTRIBUTION = re.compile(r"[（(]\s*据\s*([^（）()]{1,60}?)\s*[）)]")
_ATTRIBUTION_LINE = re.compile(rf"^{_ATTRIBUTION.pattern}$")
_TRAILING_ATTRIBUTION = re.compile(rf"{_ATTRIBUTION.pattern}$")


def attribution_source(text: str) -> str | None:
    """The source named by a line that is only an attribution.

    >>> attribution_source("（据某省民政厅）"), attribution_source("据介绍，全省已建成")
    ('某省民政厅', None)
    """
    match = _ATTRIBUTION_LINE.match(text.strip())
    return match.group(1) if match else None


def split_trailing_attribution(text: str) -> tuple[str, str | None]:
    """A paragraph that ends in its own （据…） gives it up as the source.

    >>> split_trailing_attribution("会议要求抓好落实。（据某省民政厅）")
    ('会议要求抓好落实。', '某省民政厅')
    """
    match = _TRAILING_ATTRIBUTION.search(text)
    if not match or match.start() == 0:
        return text, None
    return text[: match.start()].rstrip(), match.group(1)
