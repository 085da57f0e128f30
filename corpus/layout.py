"""A page's printed lines -> headings, paragraphs and attributions, every signal weighed together.

The page is a sequence of printed lines, from OCR text (blank lines carry no meaning: OCR puts them
in at random) or from the boxes of an image or PDF (which add where a line starts and ends in its
column and how tall its glyphs are). Lines that are not article text are set aside first, each by
its own form (``corpus.furniture``): page headers and footers, photo captions, standalone bylines.
A caption that does not open with 图为 is found from its credit (…（某某 摄）): its text runs back to
a fresh line, after a line that ends a sentence.

Every other line takes one role: the **first** line of a paragraph, a **continuing** line of one, a
line of a **heading** (headline or subheading matter, up to four lines), or an **attribution**
（据…）. Each role gets a score from the line's features and from how it meets the line before it,
and the Viterbi algorithm picks the best consistent sequence of roles for the whole page (a heading
cannot be followed by a continuing line; a continuing line needs a paragraph above it). Forward and
backward sums over the same scores give each line's probability of its role, so a decision that was
close is reported with its confidence.

The features, all relative to the page itself:

- **The column width** around each line: the width most of its neighbours reach (a high quantile of
  their widths: first lines are indented and last lines short, and one long headline does not move
  it), before and after it separately, since text narrows around pictures; headings found by a
  first reading are left out of it. With geometry, the column's own edges.
- **Indentation**: a paragraph's first line is about two columns shorter than the column below it
  (or, with geometry, starts about two glyphs in); much shorter than that without ending a sentence,
  it is not a first line.
- **The previous line's ending**: a sentence end (。！？…) on a short line closes a paragraph; a line
  ending in ，、： or with a bracket or quote left open runs on.
- **Reaching past the column**: body lines never do beyond what their marks, digits and Latin
  letters can be squeezed (about half a column each; a line of Chinese letters alone, none);
  headlines set across columns do.
  With geometry, taller glyphs mark headings.
- **A lede takes up its headline's words**: a line whose words the next few lines print again is
  likely the headline over them, even when it is as wide as a body line.
- **Headings** hold no sentence end inside, do not end in 。 or in a mark that runs on, and are
  followed by the start of something new, not by a continuing line (a paragraph's first line is
  followed by a full-width line; a heading by an indented one).
- **Datelines** (本报讯, 新华社…电) open a paragraph, never a heading.
- **After an attribution** （据…） an article has ended: a headline mostly follows (the next
  article's, or this one's printed under its text).
- **Words and numbers broken across lines** (养 | 老, 14 | 76, 2. | 1万) run on.
- **A lede that only restates its headline** (近日，… and little but the headline's words, wherever
  the headline stands) is a paragraph by itself, even when it ends right at the column's end.

Nothing here knows any string of any particular page.
"""

from __future__ import annotations

import logging
import math
import re
import statistics
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from corpus.furniture import (
    FURNITURE_EVIDENCE,
    attribution_source,
    caption_ends,
    caption_starts,
    furniture_evidence,
    opens_like_a_lede,
    standalone_byline,
    starts_with_dateline,
)
from corpus.text import clean, join_lines

# Enough neighbours for a steady column width, few enough to follow a column that narrows around a picture.
WINDOW_LINES = 8
# Lines this close to the top or bottom of the page can be its header or footer.
PAGE_EDGE_LINES = 2
# A caption wraps over a few lines at most.
MAX_CAPTION_LINES = 4
# Where in its neighbours' widths a column's width lies: full lines are most of a column's lines,
# but not all (first lines are indented, last lines short), and they vary by a column or so.
COLUMN_QUANTILE = 0.85
# A body line measured from its text may look up to this much wider than its column (digits and
# squeezed marks are counted as half a column, and a printer may squeeze more).
BODY_OVERHANG = 1.5
# A line of at least this many letters, most of whose four-letter runs (this share) are printed again
# within this many lines, is restated: what a lede does to its headline.
RESTATED_MIN_CHARS = 8
RESTATED_SHARE = 0.75
RESTATED_WINDOW = 40
# What an attribution says for a headline right under it.
AFTER_ATTRIBUTION_HEADLINE = 1.5
# How far below a headline its lede takes up its words, and what share of its two-letter runs a lede
# takes up before it counts as a sign (lines of one paragraph share some words too).
ECHO_LINES = 4
ECHOED_SHARE = 0.5
# A headline may stand above its body or below it, a whole article away.
LEDE_HEADLINE_WINDOW = 150
# OCR boxes of body text vary in height (quotes, digits, descenders) up to this ratio to the median.
BODY_HEIGHT = 1.25
# A decision whose probability is below this is reported to the user as one to check.
UNSURE_BELOW = 0.8

_CLOSERS = "”’」』）)]】〉》\"'"
_SENTENCE_END = tuple("。！？…!?")
_INNER_SENTENCE_END = frozenset("。！？")
_OPEN_ENDING = tuple("，、：,:“‘（《(—-")
_OPENERS = "（(“‘《「『【"
_CLOSING = "）)”’》」』】"

FIRST, CONTINUING, ATTRIBUTION = "first", "continuing", "attribution"
HEADING_STATES = ("heading1", "heading2", "heading3", "heading4")
STATES = (FIRST, CONTINUING, *HEADING_STATES, ATTRIBUTION)
_IMPOSSIBLE = -1e9


@dataclass(frozen=True)
class PrintedLine:
    """One printed line as read from the page, with its geometry when the page was an image or PDF.

    Geometry is in glyphs (the page's body text glyph width and height): ``indent`` from the
    column's left edge, ``right_gap`` to its right edge, ``column_width`` of the column the line sits
    in, ``height`` of its glyphs relative to the body text.
    """

    number: int  # 1-based: the line in the page file, or the line in reading order for a scan
    raw: str
    indent: float | None = None
    right_gap: float | None = None
    column_width: float | None = None
    height: float | None = None
    ocr_score: float | None = None
    width: float | None = None  # measured on the page, in body glyphs (else counted from the text)


def text_lines(page: str) -> list[PrintedLine]:
    """The printed lines of OCR text, blank ones dropped."""
    return [PrintedLine(number, raw) for number, raw in enumerate(page.splitlines(), start=1) if raw.strip()]


def print_width(line: str, squeeze: bool = True) -> float:
    """How many print columns a (cleaned) line takes: full-width 1, a mark squeezed against the mark
    before it 0.5 (unless ``squeeze`` is off), a Latin letter, digit or space 0.5.

    >>> print_width("会组织248家，自行解散33家，")
    13.5
    >>> print_width("“国际”“中国”"), print_width("“国际”“中国”", squeeze=False)
    (7.5, 8.0)
    """
    width = 0.0
    previous_was_mark = False
    for char in line.strip():
        is_mark = unicodedata.category(char)[0] == "P"
        if is_mark:
            width += 0.5 if previous_was_mark and squeeze else 1.0
        else:
            width += 1.0 if unicodedata.east_asian_width(char) in "WF" else 0.5
        previous_was_mark = is_mark
    return width


@dataclass(frozen=True)
class Line:
    """A printed line with the measures the model reads."""

    printed: PrintedLine
    text: str  # cleaned
    width: float  # marks squeezed where they meet: the narrowest the line can be printed
    full_width: float  # every mark a full column: the widest (a page may squeeze or not)

    @property
    def number(self) -> int:
        return self.printed.number

    @property
    def raw(self) -> str:
        return self.printed.raw

    @property
    def ends_sentence(self) -> bool:
        return self.text.rstrip(_CLOSERS).endswith(_SENTENCE_END)

    @property
    def ends_clause(self) -> bool:
        return self.text.endswith(("；", ";"))

    @property
    def ends_open(self) -> bool:
        return self.text.endswith(_OPEN_ENDING)

    @property
    def leaves_open(self) -> bool:
        """A bracket or quote opened on this line and not closed on it."""
        depth = 0
        for char in self.text:
            if char in _OPENERS:
                depth += 1
            elif char in _CLOSING and depth:
                depth -= 1
        return depth > 0

    @property
    def inner_sentence_end(self) -> bool:
        body = self.text.rstrip(_CLOSERS).rstrip("。！？…!?")
        return any(char in _INNER_SENTENCE_END for char in body)

    @property
    def is_attribution(self) -> bool:
        return attribution_source(self.text) is not None

    @property
    def opens_dateline(self) -> bool:
        return starts_with_dateline(self.text)


def measure(printed: PrintedLine) -> Line:
    text = clean(printed.raw)
    if printed.width is not None:
        return Line(printed, text, printed.width, printed.width)
    return Line(printed, text, print_width(text), print_width(text, squeeze=False))


@dataclass(frozen=True)
class Aside:
    """A line (or a few) set aside from the article text: a page header or footer, a caption, a byline."""

    kind: str  # "furniture", "caption" or "byline"
    lines: tuple[Line, ...]
    before_block: int  # the index of the first block printed after it

    @property
    def text(self) -> str:
        return join_lines([line.raw for line in self.lines]) if self.kind != "furniture" else self.lines[0].raw.strip()


@dataclass(frozen=True)
class Block:
    kind: str  # "paragraph", "heading" or "attribution"
    lines: tuple[Line, ...]
    confidence: float = 1.0  # the least probable line role inside it
    overhang: float = 0.0  # how far its widest line reaches past the column around it, in columns
    column: float = 0.0  # the column width around it
    height: float | None = None  # its glyphs' height relative to body text, when known

    @property
    def text(self) -> str:
        # Cleaned as a whole, not line by line: "COVID" may end one line and "19" start the next.
        return join_lines([line.raw for line in self.lines])

    @property
    def first_line(self) -> int:
        return self.lines[0].number


@dataclass(frozen=True)
class Doubt:
    """A close decision, for the user to check: the line, what was decided and how sure it was."""

    line: int
    text: str
    decision: str
    confidence: float


@dataclass(frozen=True)
class PageLayout:
    blocks: tuple[Block, ...]
    asides: tuple[Aside, ...]
    doubts: tuple[Doubt, ...] = field(default=())


# --- setting aside what is not article text -----------------------------------------------------


def _set_aside(lines: list[Line]) -> tuple[list[Line], list[tuple[str, tuple[Line, ...], int]]]:
    """The article lines, and the asides as (kind, lines, index of the next article line)."""
    body: list[Line] = []
    asides: list[tuple[str, tuple[Line, ...], int]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        at_edge = index < PAGE_EDGE_LINES or index >= len(lines) - PAGE_EDGE_LINES
        if furniture_evidence(line.raw, at_edge) >= FURNITURE_EVIDENCE:
            asides.append(("furniture", (line,), len(body)))
            index += 1
            continue
        if caption_ends(line.text) and not caption_starts(line.text) and not line.is_attribution:
            # A caption that opens without 图为: its text runs back from its credit to a fresh line.
            floor = asides[-1][2] if asides else 0
            above = _caption_text_above(body, floor, line)
            if above is not None or _is_photo_credit(line):
                taken = tuple(body[len(body) - above :]) if above else ()
                if above:
                    del body[-above:]
                asides.append(("caption", (*taken, line), len(body)))
                index += 1
                continue
        caption = _caption_at(lines, index)
        if caption:
            asides.append(("caption", tuple(lines[index : index + caption]), len(body)))
            index += caption
            continue
        if standalone_byline(line.text) and not line.is_attribution:
            asides.append(("byline", (line,), len(body)))
            index += 1
            continue
        body.append(line)
        index += 1
    return body, asides


def _caption_at(lines: list[Line], index: int) -> int:
    """How many lines from ``index`` form a photo caption (0 if none starts there).

    A caption opens with 图为… and runs to its credit (…摄) or its sentence end; a line that is only
    a credit is a caption too.
    """
    line = lines[index]
    if _is_photo_credit(line):
        return 1
    if not caption_starts(line.text):
        return 0
    for count in range(1, MAX_CAPTION_LINES + 1):
        last = lines[index + count - 1]
        if caption_ends(last.text):
            return count
        if last.ends_sentence:
            # The credit may stand on the next line by itself.
            follows = lines[index + count] if index + count < len(lines) else None
            if follows is not None and (_is_photo_credit(follows) or (caption_ends(follows.text) and len(follows.text) <= 8)):
                return count + 1
            return count
        if index + count >= len(lines):
            break
    return 1


def _caption_text_above(body: list[Line], floor: int, credit: Line) -> int | None:
    """How many of the last body lines (none before ``floor``) are the text of a caption closed by
    ``credit`` (…（某某 摄）), or None if it closes none: a caption's one sentence runs back from its
    credit to a fresh line, after a line that ends a sentence; a sentence starting mid-line belongs
    to a paragraph."""
    own = _PHOTO_CREDIT_TAIL.sub("", credit.text).strip()
    if own:
        if any(char in _INNER_SENTENCE_END for char in own.rstrip(_CLOSERS).rstrip("。！？…!?")):
            return None
        taken = 0
    else:
        if not body or len(body) - 1 < floor or not body[-1].ends_sentence or body[-1].inner_sentence_end:
            return None
        taken = 1
    k = len(body) - 1 - taken
    while k >= floor and taken <= MAX_CAPTION_LINES:
        line = body[k]
        if line.ends_sentence or line.ends_clause:
            return taken
        if line.inner_sentence_end or line.is_attribution or line.opens_dateline:
            return None
        taken += 1
        k -= 1
    return taken if k < floor and taken <= MAX_CAPTION_LINES else None


_PHOTO_CREDIT_TAIL = re.compile(r"[（(][^（()）]*摄\s*[）)]\s*$")


def _is_photo_credit(line: Line) -> bool:
    """A line that is only a photographer's credit: 本报记者 某某 摄, 某某 摄."""
    text = line.text
    if not caption_ends(text) or len(text) > 16:
        return False
    return bool(standalone_byline(text.rstrip("摄 ）)"))) or bool(re.search(r"\s摄\s*[）)]?\s*$", line.raw))


# --- the column around each line ----------------------------------------------------------------


def _common_width(widths: list[float]) -> float | None:
    """The width a column's full lines reach: high among its lines (first lines are indented, last
    lines short), but not the longest (a headline set across columns).

    >>> _common_width([12, 13, 13, 10, 13, 4, 12.5, 25])
    13.0
    """
    if not widths:
        return None
    kept = sorted(widths)
    position = COLUMN_QUANTILE * (len(kept) - 1)
    low = int(position)
    high = min(low + 1, len(kept) - 1)
    return kept[low] + (kept[high] - kept[low]) * (position - low)


def _columns(lines: list[Line], excluded: frozenset[int] = frozenset(), walls: frozenset[int] = frozenset()) -> tuple[list[float], list[float]]:
    """The column width before and after each line (from its neighbours, or from geometry).

    ``excluded`` lines (headings) are not column lines; a window of neighbours stops at an
    attribution and at a ``wall`` (a headline set across columns, a byline): the next article may
    be set in another width.
    """
    widths = [None if line.is_attribution or i in excluded else line.full_width for i, line in enumerate(lines)]
    stops = {i for i, line in enumerate(lines) if line.is_attribution} | set(walls)
    page = _common_width([w for w in widths if w is not None]) or 1.0

    def window(indices: range) -> list[float]:
        found = []
        for k in indices:
            if k in stops:
                break
            if widths[k] is not None:
                found.append(widths[k])
            if len(found) == WINDOW_LINES:
                break
        return found

    before, after = [], []
    for i, line in enumerate(lines):
        if line.printed.column_width is not None:
            before.append(line.printed.column_width)
            after.append(line.printed.column_width)
            continue
        above = window(range(i - 1, -1, -1))
        below = window(range(i + 1, len(lines)))
        if len(above) < 3 or len(below) < 3:
            # Too few on one side (the page's edge, an attribution): both sides together.
            both = _common_width(above + below) if len(above + below) >= 3 else page
            before.append(_common_width(above) if len(above) >= 3 else both)
            after.append(_common_width(below) if len(below) >= 3 else both)
        else:
            before.append(_common_width(above))
            after.append(_common_width(below))
    return before, after


# --- the scores ---------------------------------------------------------------------------------


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


class _Scores:
    """Log-odds from the features of each line and of each pair of neighbouring lines."""

    def __init__(
        self,
        lines: list[Line],
        breaks: frozenset[int] = frozenset(),
        headings: frozenset[int] = frozenset(),
        walls: frozenset[int] = frozenset(),
    ) -> None:
        self.lines = lines
        self.breaks = breaks  # lines right after a byline: something new starts there
        self.letters = [_letters(line.text) for line in lines]
        self._heading_cache: dict[int, float] = {}
        self._lede_cache: dict[int, bool] = {}
        self.before, self.after = _columns(lines, headings, breaks | walls)

    def overhang(self, i: int) -> float:
        return self.lines[i].width - max(self.before[i], self.after[i])

    def in_narrow_passage(self, i: int) -> bool:
        """Whether the line is one of four or more in a row of about its width: text set narrower
        around a picture, where every line is short against the column. (Three in a row are often a
        heading's two lines and a first line.)"""
        width = self.lines[i].full_width
        column = max(self.before[i], self.after[i])

        def alike(k: int) -> bool:
            if not 0 <= k < len(self.lines):
                return False
            other = self.lines[k].full_width
            return abs(other - width) <= 1.5 and other <= column - 3.0

        return any(all(alike(k) for k in range(start, start + 4)) for start in range(i - 3, i + 1))

    def _too_wide_for_body(self, i: int) -> float:
        """Body lines stay inside their column, up to the measuring noise of squeezed marks."""
        score = 0.0
        over = self.overhang(i)
        line = self.lines[i]
        # Only marks, digits and Latin letters can be squeezed (or measured wrong), each by about half
        # a column: a line of Chinese letters alone that reaches past its column is no body line.
        squeezable = len(_SQUEEZABLE.findall(line.text))
        tolerance = min(BODY_OVERHANG, 0.5 + 0.5 * squeezable)
        if over > tolerance:
            # Capped: where the column is misjudged (a narrow passage nearby), other signals decide.
            score -= min(6.0, 3.0 * (over - tolerance))
        height = self.lines[i].printed.height
        if height is not None and height > BODY_HEIGHT:
            score -= 20.0 * (height - BODY_HEIGHT)
        return score

    def first(self, i: int) -> float:
        line = self.lines[i]
        score = self._too_wide_for_body(i)
        if line.opens_dateline:
            score += 4.0
        if not line.ends_sentence:
            printed = line.printed
            if printed.right_gap is not None:
                # A first line runs to the column's right edge unless it ends its paragraph.
                score -= 1.5 * _clip(printed.right_gap - 1.0, 0.0, 3.0)
            elif not self.in_narrow_passage(i):
                # Shorter than the column by about the indent; much shorter is not a first line.
                shortfall = self.after[i] - line.full_width
                score -= 1.2 * max(0.0, shortfall - 3.0)
        return score

    def continuing(self, i: int) -> float:
        line = self.lines[i]
        score = self._too_wide_for_body(i)
        previous = self.lines[i - 1] if i > 0 else None
        if opens_like_a_lede(line.text) and previous is not None and not (previous.ends_sentence or previous.ends_open):
            score -= 3.0  # 近日，… opens a sentence: the line above it would have ended one
        if not line.ends_sentence:
            # Inside a paragraph a line is full unless the paragraph ends on it.
            if line.printed.right_gap is not None:
                score -= 1.0 * max(0.0, line.printed.right_gap - 2.0)
            elif not self.in_narrow_passage(i):
                score -= 1.5 * max(0.0, min(self.before[i], self.after[i]) - line.full_width - 1.0)
        return score

    def heading(self, i: int, position: int) -> float:
        # Headings are rarer than text, long ones rarer still.
        if i not in self._heading_cache:
            self._heading_cache[i] = self._heading(i)
        return self._heading_cache[i] - 0.4 * position

    def _heading(self, i: int) -> float:
        line = self.lines[i]
        score = -1.5
        if line.inner_sentence_end:
            score -= 6.0
        text = line.text.rstrip(_CLOSERS)
        if text.endswith(("。", "；", ";", "…")):
            score -= 6.0
        elif text.endswith(("！", "？", "!", "?")):
            score -= 1.0
        over = self.overhang(i)
        if over > 1.0:
            score += min(4.0, 1.5 * (over - 1.0))
        elif over > -1.0 and line.printed.height is None:
            score -= 1.0  # filling its column exactly, as text does; a heading rarely does
        height = line.printed.height
        if height is not None:
            score += _clip(20.0 * (height - BODY_HEIGHT), -2.0, 4.0)
        if len(line.text) > 40:
            score -= 0.2 * (len(line.text) - 40)
        if _opens_subtitle(line):
            score += 2.0
        if line.opens_dateline:
            score -= 8.0
        elif opens_like_a_lede(line.text):
            score -= 3.0  # 近日，… opens a story's text, not its headline
        commas = sum(line.text.count(mark) for mark in "，,")
        score -= 1.0 * max(0, commas - 1)
        if i + 1 < len(self.lines) and _opens_subtitle(self.lines[i + 1]):
            score += 3.0  # the line over a subtitle is its title
        if i + 1 < len(self.lines) and self.lines[i + 1].opens_dateline:
            score += 3.0  # a dateline opens an article: right above it stands its headline
        elif i + 1 < len(self.lines) and opens_like_a_lede(self.lines[i + 1].text):
            score += 1.0  # a news story opens right under its headline
        if self.restated(i):
            score += 1.5  # a lede restates its headline; a line of text is rarely printed twice
        else:
            # A lede right under its headline takes up most of the headline's words in its own order.
            score += _clip(3.0 * (self.echoed_below(i) - ECHOED_SHARE), 0.0, 1.5)
        return score

    def echoed_below(self, i: int) -> float:
        """The share of the line's two-letter runs that the next few lines print again."""
        text = self.letters[i]
        if len(text) < RESTATED_MIN_CHARS:
            return 0.0
        pairs = {text[k : k + 2] for k in range(len(text) - 1)}
        below = "".join(self.letters[i + 1 : i + 1 + ECHO_LINES])
        return sum(pair in below for pair in pairs) / len(pairs)

    def restated(self, i: int) -> bool:
        """Whether most of the line is printed again in the text around it (a headline's words
        in the lede under or above it)."""
        text = self.letters[i]
        if len(text) < RESTATED_MIN_CHARS:
            return False
        grams = {text[k : k + 4] for k in range(len(text) - 3)}
        low, high = max(0, i - RESTATED_WINDOW), min(len(self.lines), i + 1 + RESTATED_WINDOW)
        around = "".join(self.letters[k] if k != i else "|" for k in range(low, high))
        found = sum(gram in around for gram in grams)
        return found >= RESTATED_SHARE * len(grams)

    def splits_word(self, i: int) -> bool:
        """Whether the break before line ``i`` falls inside a word (针 | 对性强): text runs on across
        such a break; a paragraph or a heading never ends inside a word."""
        left, right = self.lines[i - 1].text[-3:], self.lines[i].text[:3]
        if left and right and (left[-1].isdigit() or left[-2:-1].isdigit() and left[-1] == ".") and (
            right[0].isdigit() or right[:1] == "." and right[1:2].isdigit() or right[0] in "%％"
        ):
            return True  # a number broken across the lines (14 | 76, 2. | 1万, 1 | .6万, 10 | 0%)
        if not left or not right or not _HAN.match(left[-1]) or not _HAN.match(right[0]):
            return False
        return _word_spans(left, right)

    def ends_paragraph(self, i: int, alone: bool = False) -> float:
        """Evidence from line ``i`` itself that the paragraph it belongs to ends with it. A paragraph
        of that one line (``alone``) is short by nature: its shortness says nothing."""
        line = self.lines[i]
        score = 1.5 if line.ends_sentence else (0.3 if line.ends_clause else -6.0)
        if line.ends_open or line.leaves_open:
            score -= 4.0
        if (line.ends_sentence or line.ends_clause) and not alone:
            score += self.short_of_column(i)
        if line.ends_sentence and self.lede_only_restates_headline(i):
            score += 2.5
        return score

    def lede_only_restates_headline(self, i: int) -> bool:
        """Whether line ``i`` ends a story's opening sentence (近日，…) that says little but its headline
        again: such a lede is a paragraph by itself, even when it ends right at the column's end."""
        if i in self._lede_cache:
            return self._lede_cache[i]
        self._lede_cache[i] = False
        if self.lines[i].inner_sentence_end:
            return False
        start = i
        while not opens_like_a_lede(self.lines[start].text):
            start -= 1
            if start < 0 or i - start > 5 or self.lines[start].ends_sentence or self.lines[start].inner_sentence_end:
                return False
        sentence = "".join(self.letters[start : i + 1])
        if len(sentence) < RESTATED_MIN_CHARS:
            return False
        # Headline matter: lines with no sentence end in them, consecutive ones read as one.
        low, high = max(0, start - LEDE_HEADLINE_WINDOW), min(len(self.lines), i + 1 + LEDE_HEADLINE_WINDOW)
        headlines = "".join(
            self.letters[k] if not (start <= k <= i) and not any(m in self.lines[k].text for m in "。！？!?；;") else "|"
            for k in range(low, high)
        )
        grams = {sentence[k : k + 4] for k in range(len(sentence) - 3)}
        found = sum(gram in headlines for gram in grams)
        self._lede_cache[i] = found >= RESTATED_SHARE * len(grams)
        return self._lede_cache[i]

    def short_of_column(self, i: int) -> float:
        """A line that stops short of its column's end: the last line of something."""
        line = self.lines[i]
        if line.printed.right_gap is not None:
            return _clip(line.printed.right_gap - 0.8, -1.0, 2.5)
        shortfall = self.before[i] - line.full_width
        if 0 < i < len(self.lines) - 1 and all(
            abs(self.lines[k].full_width - line.full_width) <= 0.5 and not self.lines[k].is_attribution for k in (i - 1, i + 1)
        ):
            # As wide as the lines on both sides of it, it is as full as they are: a run of lines thick
            # with marks (quotes, commas) above can widen the column measured there.
            shortfall = min(shortfall, 0.0)
        return _clip(shortfall - 1.0, -1.0, 2.5)

    def starts_block(self, i: int) -> float:
        """Evidence from line ``i`` itself that it starts something new (an indented first line)."""
        line = self.lines[i]
        printed = line.printed
        score = 0.0
        if printed.indent is not None:
            score += 2.5 if printed.indent >= 1.2 else -1.5
        else:
            shortfall = self.after[i] - line.full_width
            if i + 1 < len(self.lines):
                # The very next line counts as the column too: a paragraph's second line is full
                # even when a narrower passage follows right after it.
                shortfall = max(shortfall, self.lines[i + 1].full_width - line.full_width)
            # A full line is no first line. About the indent (two columns) short is all the evidence
            # there is (shorter says no more), and little when the line ends a sentence: a
            # paragraph's last line is short too.
            if shortfall < 1.0:
                score -= 1.5 * min(1.0, 1.0 - shortfall)
            else:
                score += (0.5 if line.ends_sentence else 1.5) * min(1.0, shortfall - 1.0)
            if printed.raw[:1].isspace():
                score += 0.7
        if line.opens_dateline or line.is_attribution:
            score += 4.0
        elif _LABEL.match(line.text):
            score += 1.0  # 问：… 答：… a speaker's or a question's label opens its paragraph
        return score

    def heading_ends(self, i: int) -> float:
        """A heading's last line does not run on: no mark that leads on, no preposition, conjunction
        or particle (至, 和, 的) waiting for its word."""
        line = self.lines[i]
        if line.ends_open or line.leaves_open:
            return -5.0
        return -3.0 if _ends_wanting(line.text) else 0.0

    def transition(self, i: int, previous: str, current: str) -> float:
        broken = -6.0 if i in self.breaks else 0.0
        if current == CONTINUING:
            if previous not in (FIRST, CONTINUING):
                return _IMPOSSIBLE
            return broken
        if current in HEADING_STATES[1:]:
            wanted = HEADING_STATES[HEADING_STATES.index(current) - 1]
            if previous != wanted:
                return _IMPOSSIBLE
            # A heading's lines break between phrases, rarely inside a quote, a bracket or a word.
            return broken - (3.0 if self.lines[i - 1].leaves_open else 0.0) - (2.0 if self.splits_word(i) else 0.0)
        if current == HEADING_STATES[0] and previous in HEADING_STATES:
            # Heading lines one under another are one heading matter (split later into headlines);
            # only a fifth line starts another.
            return -2.0 if previous == HEADING_STATES[-1] else _IMPOSSIBLE
        # Something new starts at line i.
        if self.splits_word(i) and i not in self.breaks:
            return -3.0 + (self.heading_ends(i - 1) if previous in HEADING_STATES else self.ends_paragraph(i - 1))
        if i in self.breaks:
            ends = self.heading_ends(i - 1) if previous in HEADING_STATES else self.ends_paragraph(i - 1, previous == FIRST)
            return 6.0 + ends
        if previous in (FIRST, CONTINUING):
            # A heading is as wide as it is: its shortness is barely a sign, and no indentation.
            starts = self.starts_block(i)
            if current == HEADING_STATES[0]:
                starts = _clip(starts, 0.0, 1.0)
                if _opens_subtitle(self.lines[i]):
                    starts -= 5.0  # a subtitle goes on from its title; it starts no heading
            elif current == FIRST:
                starts -= 0.7  # paragraphs run to several lines: a break needs evidence
            return self.ends_paragraph(i - 1, alone=previous == FIRST) + starts
        if previous in HEADING_STATES:
            score = self.heading_ends(i - 1)
            if current == FIRST:
                score += self.starts_block(i)
            return score
        # After an attribution: a first line is indented there too. An article ends with its
        # attribution, and what follows is mostly a headline: the next article's, or this one's
        # printed under its text.
        return self.starts_block(i) if current == FIRST else AFTER_ATTRIBUTION_HEADLINE

    def emission(self, i: int, state: str) -> float:
        line = self.lines[i]
        if line.is_attribution:
            return 0.0 if state == ATTRIBUTION else _IMPOSSIBLE
        if state == ATTRIBUTION:
            return _IMPOSSIBLE
        if state == FIRST:
            return self.first(i)
        if state == CONTINUING:
            return self.continuing(i)
        return self.heading(i, HEADING_STATES.index(state))

    def start(self, state: str) -> float:
        # A page may open in the middle of a paragraph continued from another page, but rarely.
        if state == CONTINUING:
            return -4.0
        if state == HEADING_STATES[0]:
            return 1.0  # pages mostly open with a headline
        return 0.0 if state in (FIRST, ATTRIBUTION) else _IMPOSSIBLE

    def end(self, state: str) -> float:
        last = len(self.lines) - 1
        if state in (FIRST, CONTINUING):
            return self.ends_paragraph(last)
        if state in HEADING_STATES:
            return self.heading_ends(last)
        return 0.0


_HAN = re.compile(r"[\u3400-\u9fff]")
_SQUEEZABLE = re.compile(r"[^\w\s]|[0-9A-Za-z_.%]+")
_LABEL = re.compile(r"^[\u3400-\u9fff]{1,3}[：:]")


def _opens_subtitle(line: Line) -> bool:
    """——… is how a subtitle opens."""
    return line.text.startswith(("—", "－")) and not line.inner_sentence_end and len(line.text) <= 40
_NOT_LETTER = re.compile(r"[\W_]+")


def _letters(text: str) -> str:
    return _NOT_LETTER.sub("", text)


@lru_cache(maxsize=8192)
def _word_spans(left: str, right: str) -> bool:
    """Whether jieba reads a word of two or more characters across the join of ``left`` and ``right``."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    position = 0
    for word in jieba.cut(left + right, HMM=False):
        end = position + len(word)
        if position < len(left) < end:
            return len(set(word)) > 1  # not a doubled character (问问), which a break makes by chance
        position = end
    return False


@lru_cache(maxsize=8192)
def _ends_wanting(text: str) -> bool:
    """Whether the text ends in a word that cannot end a phrase: a preposition, a conjunction, a
    structural particle."""
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    words = [pair for pair in jieba.posseg.cut(text[-6:]) if pair.flag != "x"]
    return bool(words) and (words[-1].flag in ("p", "c") or words[-1].flag.startswith("u"))


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    if top <= _IMPOSSIBLE / 2:
        return _IMPOSSIBLE
    return top + math.log(sum(math.exp(v - top) for v in values))


def label_lines(lines: list[Line], breaks: frozenset[int] = frozenset()) -> tuple[list[str], list[dict[str, float]], _Scores]:
    """The best sequence of roles, and each line's probability of each role.

    Twice: the first reading finds the headings, which the second leaves out of the column widths.
    """
    scores = _Scores(lines, breaks)
    path, marginals = _decode(scores)
    headings = frozenset(i for i, state in enumerate(path) if state in HEADING_STATES)
    # A sure headline set across columns often stands between articles set in different widths.
    walls = frozenset(
        i for i in headings if scores.overhang(i) >= 2.0 and _role_probability(marginals[i], path[i]) >= 0.9
    )
    scores = _Scores(lines, breaks, headings, walls)
    path, marginals = _decode(scores)
    return path, marginals, scores


def _decode(scores: _Scores) -> tuple[list[str], list[dict[str, float]]]:
    """Viterbi for the best path; forward-backward for each line's role probabilities."""
    lines = scores.lines
    n = len(lines)
    if not n:
        return [], []
    emissions = [{s: scores.emission(i, s) for s in STATES} for i in range(n)]
    transitions = [None] + [
        {(p, c): scores.transition(i, p, c) for p in STATES for c in STATES} for i in range(1, n)
    ]
    # Viterbi.
    best = [{s: scores.start(s) + emissions[0][s] for s in STATES}]
    back: list[dict[str, str]] = [{}]
    for i in range(1, n):
        row, pointers = {}, {}
        for c in STATES:
            previous = max(STATES, key=lambda p: best[i - 1][p] + transitions[i][(p, c)])
            row[c] = best[i - 1][previous] + transitions[i][(previous, c)] + emissions[i][c]
            pointers[c] = previous
        best.append(row)
        back.append(pointers)
    state = max(STATES, key=lambda s: best[n - 1][s] + scores.end(s))
    path = [state]
    for i in range(n - 1, 0, -1):
        state = back[i][state]
        path.append(state)
    path.reverse()
    # Forward-backward on the same scores, for each line's probability of its role.
    forward = [{s: scores.start(s) + emissions[0][s] for s in STATES}]
    for i in range(1, n):
        forward.append(
            {
                c: _logsumexp([forward[i - 1][p] + transitions[i][(p, c)] for p in STATES]) + emissions[i][c]
                for c in STATES
            }
        )
    backward = [dict.fromkeys(STATES, 0.0) for _ in range(n)]
    backward[n - 1] = {s: scores.end(s) for s in STATES}
    for i in range(n - 2, -1, -1):
        backward[i] = {
            p: _logsumexp([transitions[i + 1][(p, c)] + emissions[i + 1][c] + backward[i + 1][c] for c in STATES])
            for p in STATES
        }
    total = _logsumexp([forward[n - 1][s] + backward[n - 1][s] for s in STATES])
    marginals = [
        {s: math.exp(min(0.0, forward[i][s] + backward[i][s] - total)) for s in STATES} for i in range(n)
    ]
    return path, marginals


# --- blocks -------------------------------------------------------------------------------------


def read_layout(printed: list[PrintedLine]) -> PageLayout:
    """The page's blocks in reading order, what was set aside, and the close decisions."""
    lines = [measure(p) for p in printed]
    lines = [line for line in lines if line.text]
    body, aside_marks = _set_aside(lines)
    breaks = frozenset(next_line for kind, _, next_line in aside_marks if kind == "byline" and next_line < len(body))
    path, marginals, scores = label_lines(body, breaks)
    groups: list[tuple[str, list[int]]] = []
    for i, state in enumerate(path):
        kind = "heading" if state in HEADING_STATES else "attribution" if state == ATTRIBUTION else "paragraph"
        if state in (CONTINUING, *HEADING_STATES[1:]) and groups:
            groups[-1][1].append(i)
        else:
            groups.append((kind, [i]))
    blocks = []
    block_of_line = {}
    for kind, members in groups:
        for i in members:
            block_of_line[i] = len(blocks)
        confidence = min(_role_probability(marginals[i], path[i]) for i in members)
        overhang = max(scores.overhang(i) for i in members)
        column = max(max(scores.before[i], scores.after[i]) for i in members)
        heights = [body[i].printed.height for i in members if body[i].printed.height is not None]
        blocks.append(
            Block(
                kind,
                tuple(body[i] for i in members),
                confidence,
                overhang,
                column,
                statistics.median(heights) if heights else None,
            )
        )
    asides = tuple(
        Aside(kind, aside_lines, block_of_line.get(next_line, len(blocks))) for kind, aside_lines, next_line in aside_marks
    )
    doubts = []
    for i, state in enumerate(path):
        probability = _role_probability(marginals[i], state)
        if probability < UNSURE_BELOW:
            doubts.append(Doubt(body[i].number, body[i].text, _describe(state, path, i), probability))
    return PageLayout(tuple(blocks), asides, tuple(doubts))


def _role_probability(marginal: dict[str, float], state: str) -> float:
    """The probability of the decision the role stands for: for a first line or a heading's first
    line, that something new starts here as this kind; for a continuing line, that it continues."""
    if state in HEADING_STATES:
        return sum(marginal[s] for s in HEADING_STATES)
    return marginal[state]


def _describe(state: str, path: list[str], i: int) -> str:
    if state == FIRST:
        return "starts a paragraph"
    if state == CONTINUING:
        return "continues the paragraph above"
    if state in HEADING_STATES:
        return "a heading line"
    return "an attribution"
