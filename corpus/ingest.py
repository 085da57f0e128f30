"""A raw OCR newspaper page -> clean articles, using only the layout signals any such page has.

The page is a sequence of printed lines (blank lines carry no meaning: OCR puts them in at random).
Each line is cleaned (``corpus.text.clean``) and measured in print columns: a Chinese character or a
full-width mark is one column, a mark squeezed against another mark half a column, and a Latin
letter, digit or space half a column.
The column width is not fixed across the page (text wraps around pictures), so every comparison is
against the *local* width: the median of the six lines before, or after, the line in question.

1. **Blocks.** A new block starts before a line when
   - the previous line ends a sentence and is short (a paragraph's last line), or the line itself is
     indented (at least 1.5 columns shorter than the lines after it, or starting with white space);
   - the previous block is at most two lines long, ends without punctuation, and the line is
     indented without ending a sentence itself while the line after it is not another indented line
     that runs on (so it is a paragraph's first line, not its last one nor another line of the
     heading): the block above was a heading standing alone;
   - either line is an attribution （据…）;
   - the line is wider than the column by 4 or more (a headline set across several columns) and the
     block above is not a heading it could continue, or the previous line was that wide and neither
     line ends a sentence (a headline line stands on its own).
2. **Kinds.** An attribution line is a source. A block of at most two lines whose last line does not
   end a sentence and which holds no 。！？ is a heading; anything else is a paragraph.
3. **Headlines and subheadings.** A heading is a headline if it has more than one line, reaches a
   column or more past the column around it, stands first or last on the page, touches an
   attribution, repeats most of the opening paragraph of the body above it (a headline printed
   under its body restates its lede; a subheading sums up the section below it), or touches another
   headline (stacked headline lines are one headline matter). Any other heading stands between two
   paragraphs of one article: it is a subheading of the paragraphs below it. Two bodies with neither
   a headline nor an attribution between them cannot be told apart.
4. **Articles.** Headlines and attributions cut the paragraphs into bodies; an attribution ends the
   body above it and becomes its source. Each headline goes to the body it shares the most
   distinctive words with (jieba words, weighted by how few bodies hold them), above or below it,
   one headline per body, best matches first. Headline matter whose lines match different bodies
   best (one article's headline printed under its body, the next one's right below it) is first cut
   where the best body changes.
5. **Title and subtitle.** A headline's second line continues the title when the reading runs on
   (the body repeats the two lines joined, or the first line ends in a verb, preposition,
   conjunction or particle that needs what follows); otherwise the rest is the subtitle.

Nothing here knows any string of any particular page.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import statistics
import unicodedata
from dataclasses import dataclass

from corpus.model import Article, Paragraph
from corpus.sentences import split_sentences
from corpus.text import clean, join_lines

log = logging.getLogger(__name__)

# Enough lines for a steady column width, few enough to follow a column that narrows around a picture.
WINDOW_LINES = 6
# A first line is indented by two columns; the measure is off by up to half a column either way
# (marks are squeezed or not), so 1.5 separates it from a full line.
INDENT_COLUMNS = 1.5
# A body line crowded with squeezed marks can look up to about three columns too wide.
WIDER_THAN_COLUMN = 4.0
# A heading reaching this far past the column is set across columns: a headline, not a subheading
# (subheadings fit their column). Smaller than WIDER_THAN_COLUMN, which must not catch a body line
# that is merely crowded with punctuation.
HEADLINE_OVERHANG = 1.0
# A subheading or headline is one or two lines; a longer block without end punctuation is a
# paragraph's opening that merely looks indented.
MAX_HEADING_LINES = 2
# A heading under a body that shares at least this many words, and this share of its words, with
# the body's opening paragraph is that body's headline. Subheadings share at most one or two.
LEDE_ECHO_WORDS = 3
LEDE_ECHO_SHARE = 0.6
# Headline matter whose first line reaches past the column may run to more lines (stacked headlines,
# a title with its subtitle).
MAX_HEADLINE_LINES = 3

_CLOSERS = "”’」』）)]】〉》\"'"
_SENTENCE_END = tuple("。！？；;!?…")
_INNER_SENTENCE_END = re.compile(r"[。！？]")
# A line ending in one of these is mid-sentence, so it cannot end a heading either.
_OPEN_ENDING = tuple("，、：,:“‘（《(—-")
_ATTRIBUTION = re.compile(r"[（(]\s*据\s*([^（）()]{1,60}?)\s*[）)]")
_ATTRIBUTION_LINE = re.compile(rf"^{_ATTRIBUTION.pattern}$")
_TRAILING_ATTRIBUTION = re.compile(rf"{_ATTRIBUTION.pattern}$")
# jieba part-of-speech tags of a word that needs a complement after it: verbs (not verbal nouns such
# as 建设, which end titles), prepositions, conjunctions and structural particles (u, uj, ude...).
# A headline line ending in one runs on into the next line.
_RUNS_ON_TAGS = frozenset({"v", "p", "c"})


@dataclass(frozen=True)
class Line:
    index: int  # 0-based among the page's non-blank lines
    number: int  # 1-based line number in the page file
    raw: str
    text: str  # cleaned
    width: float
    leading_space: bool

    @property
    def is_attribution(self) -> bool:
        return bool(_ATTRIBUTION_LINE.match(self.text))

    @property
    def ends_sentence(self) -> bool:
        return self.text.rstrip(_CLOSERS).endswith(_SENTENCE_END)

    @property
    def ends_open(self) -> bool:
        return self.text.endswith(_OPEN_ENDING)


@dataclass(frozen=True)
class Block:
    kind: str  # "paragraph", "heading" or "attribution"
    lines: tuple[Line, ...]
    overhang: float = 0.0  # of its widest line past the column: a headline set across columns reaches out

    @property
    def text(self) -> str:
        # Cleaned as a whole, not line by line: "COVID" may end one line and "19" start the next.
        return join_lines([line.raw for line in self.lines])


@dataclass
class _Body:
    paragraphs: list[tuple[str | None, str]]  # (subheading, text)
    source: str | None = None
    first_line: int = 0


def print_width(line: str) -> float:
    """How many print columns a (cleaned) line takes: full-width 1, a mark squeezed against the mark
    before it 0.5, a Latin letter, digit or space 0.5.

    >>> print_width("会组织248家，自行解散33家，")
    13.5
    >>> print_width("“国际”“中国”")
    7.5
    """
    width = 0.0
    previous_was_mark = False
    for char in line.strip():
        is_mark = unicodedata.category(char)[0] == "P"
        if is_mark:
            width += 0.5 if previous_was_mark else 1.0
        else:
            width += 1.0 if unicodedata.east_asian_width(char) in "WF" else 0.5
        previous_was_mark = is_mark
    return width


def read_lines(page: str) -> list[Line]:
    """The page's printed lines, blank ones dropped."""
    lines = []
    for number, raw in enumerate(page.splitlines(), start=1):
        text = clean(raw)
        if text:
            # Measured clean: OCR spaces inside Chinese text are not print.
            lines.append(Line(len(lines), number, raw, text, print_width(text), raw[:1].isspace()))
    return lines


class _Layout:
    """Local column widths around each line, measured from its neighbours."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines
        body_widths = [None if line.is_attribution else line.width for line in lines]
        self.before = [self._median(body_widths[max(0, i - WINDOW_LINES) : i]) for i in range(len(lines))]
        self.after = [self._median(body_widths[i + 1 : i + 1 + WINDOW_LINES]) for i in range(len(lines))]

    @staticmethod
    def _median(widths: list[float | None]) -> float | None:
        known = [w for w in widths if w is not None]
        return statistics.median(known) if known else None

    def _column_after(self, i: int) -> float | None:
        return self.after[i] if self.after[i] is not None else self.before[i]

    def _column_before(self, i: int) -> float | None:
        return self.before[i] if self.before[i] is not None else self.after[i]

    def indented(self, i: int) -> bool:
        """Shorter than the column below it; the very next line counts as the column too, because a
        paragraph's second line is full even when a narrower passage follows right after it."""
        column = self._column_after(i)
        if i + 1 < len(self.lines) and not self.lines[i + 1].is_attribution:
            column = max(column or 0.0, self.lines[i + 1].width)
        return self.lines[i].leading_space or (column is not None and self.lines[i].width <= column - INDENT_COLUMNS)

    def short(self, i: int) -> bool:
        column = self._column_before(i)
        return column is not None and self.lines[i].width <= column - INDENT_COLUMNS

    def overhang(self, i: int) -> float:
        """How far the line reaches past the column around it (negative when it fits)."""
        columns = [w for w in (self.before[i], self.after[i]) if w is not None]
        return self.lines[i].width - max(columns) if columns else 0.0

    def wide(self, i: int) -> bool:
        return self.overhang(i) >= WIDER_THAN_COLUMN


def _is_heading_so_far(block: list[Line], layout: _Layout) -> bool:
    reaches_out = layout.overhang(block[0].index) >= HEADLINE_OVERHANG
    return (
        len(block) <= (MAX_HEADLINE_LINES if reaches_out else MAX_HEADING_LINES)
        and not block[-1].ends_sentence
        and not block[-1].ends_open
        and not any(_INNER_SENTENCE_END.search(line.text) for line in block)
    )


def split_blocks(lines: list[Line]) -> list[Block]:
    """Group the lines into paragraphs, headings and attributions (rules 1 and 2 of the module)."""
    if not lines:
        return []
    layout = _Layout(lines)
    groups: list[list[int]] = [[0]]
    for i in range(1, len(lines)):
        previous, current = lines[i - 1], lines[i]
        block = [lines[k] for k in groups[-1]]
        starts = (
            previous.is_attribution
            or current.is_attribution
            or (layout.wide(i) and not _is_heading_so_far(block, layout))
            or (layout.wide(i - 1) and not previous.ends_sentence and not current.ends_sentence)
            or (previous.ends_sentence and (layout.short(i - 1) or layout.indented(i)))
            or (
                not previous.ends_sentence
                and not current.ends_sentence
                and i + 1 < len(lines)
                and layout.indented(i)
                and not (layout.indented(i + 1) and not lines[i + 1].ends_sentence)
                and _is_heading_so_far(block, layout)
            )
        )
        if starts:
            groups.append([i])
        else:
            groups[-1].append(i)
    blocks = []
    for group in groups:
        block_lines = tuple(lines[k] for k in group)
        overhang = max(layout.overhang(k) for k in group)
        if len(block_lines) == 1 and block_lines[0].is_attribution:
            kind = "attribution"
        elif _is_heading_so_far(list(block_lines), layout):
            kind = "heading"
        else:
            kind = "paragraph"
        blocks.append(Block(kind, block_lines, overhang))
    return blocks


def _headline_flags(blocks: list[Block]) -> list[bool]:
    """Which heading blocks are headlines (rule 3); a heading printed right against a headline is
    part of the same headline matter (stacked headlines, a kicker, a subtitle on its own line)."""

    def basic(index: int) -> bool:
        block = blocks[index]
        neighbours = blocks[max(0, index - 1) : index] + blocks[index + 1 : index + 2]
        return block.kind == "heading" and (
            len(block.lines) > 1
            or block.overhang >= HEADLINE_OVERHANG
            or index in (0, len(blocks) - 1)
            or any(b.kind == "attribution" for b in neighbours)
        )

    flags = [basic(index) for index in range(len(blocks))]
    for index, block in enumerate(blocks):
        if block.kind == "heading" and not flags[index]:
            flags[index] = _echoes_lede_above(blocks, flags, index)
    for order in (range(1, len(blocks)), range(len(blocks) - 2, -1, -1)):
        for index in order:
            neighbour = index - 1 if order.step == 1 else index + 1
            if blocks[index].kind == "heading" and flags[neighbour]:
                flags[index] = True
    return flags


def _echoes_lede_above(blocks: list[Block], flags: list[bool], index: int) -> bool:
    """Whether the heading repeats most of the opening paragraph of the body above it: a headline
    printed under its body does (headlines restate their lede); a subheading sums up the section
    below it instead."""
    lede = None
    for above in range(index - 1, -1, -1):
        if blocks[above].kind == "attribution" or flags[above]:
            break
        if blocks[above].kind == "paragraph":
            lede = blocks[above].text
    if lede is None:
        return False
    words = _words(blocks[index].text)
    shared = sum(word in lede for word in words)
    return shared >= LEDE_ECHO_WORDS and shared >= LEDE_ECHO_SHARE * len(words)


def _attribution_source(text: str) -> str | None:
    match = _ATTRIBUTION.fullmatch(text)
    return match.group(1) if match else None


def _split_trailing_attribution(text: str) -> tuple[str, str | None]:
    """A paragraph that ends in its own （据…） gives it up as the source."""
    match = _TRAILING_ATTRIBUTION.search(text)
    if not match or match.start() == 0:
        return text, None
    return text[: match.start()].rstrip(), match.group(1)


def _bodies_and_headlines(blocks: list[Block]) -> tuple[list[_Body], list[Block]]:
    bodies: list[_Body] = []
    headlines: list[Block] = []
    current: _Body | None = None
    heading: str | None = None

    def close() -> None:
        nonlocal current, heading
        if current is not None and current.paragraphs:
            bodies.append(current)
        current, heading = None, None

    headline_flags = _headline_flags(blocks)
    for index, block in enumerate(blocks):
        if headline_flags[index] and index > 0 and headline_flags[index - 1]:
            above = headlines.pop()
            headlines.append(Block("heading", above.lines + block.lines, max(above.overhang, block.overhang)))
        elif block.kind == "attribution":
            source = _attribution_source(block.text)
            if current is not None and current.paragraphs:
                current.source = source
            elif bodies and bodies[-1].source is None:
                bodies[-1].source = source
            close()
        elif headline_flags[index]:
            close()
            headlines.append(block)
        elif block.kind == "heading":
            heading = block.text
        else:
            if current is None:
                current = _Body([], first_line=block.lines[0].number)
            text, source = _split_trailing_attribution(block.text)
            current.paragraphs.append((heading, text))
            if source:
                current.source = source
                close()
    close()
    return bodies, headlines


def _words(text: str) -> set[str]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return {w for w in jieba.lcut(text) if len(w) > 1 and any(c.isalnum() for c in w)}


class _Overlap:
    """How many distinctive words a headline shares with each body: each shared word counts
    log((bodies + 1) / bodies holding it), so a word every body holds counts little."""

    def __init__(self, bodies: list[_Body]) -> None:
        self.texts = ["".join(f"{heading or ''}{text}" for heading, text in body.paragraphs) for body in bodies]

    def scores(self, headline: str) -> list[float]:
        weights = {}
        for word in _words(headline):
            holding = sum(word in text for text in self.texts)
            if holding:
                weights[word] = math.log((len(self.texts) + 1) / holding)
        return [sum(weight for word, weight in weights.items() if word in text) for text in self.texts]

    def best(self, headline: str) -> int | None:
        """The one body the headline matches best, or None when nothing matches or two tie."""
        scores = self.scores(headline)
        top = max(scores, default=0.0)
        return scores.index(top) if top > 0 and scores.count(top) == 1 else None


def _split_stacked_headlines(headlines: list[Block], overlap: _Overlap) -> list[Block]:
    """Two headlines printed one under the other (one closing the body above, one opening the body
    below) read as one block; a line whose best body differs from the lines above it starts a new one."""
    result = []
    for block in headlines:
        start = 0
        for k in range(1, len(block.lines)):
            above = overlap.best(join_lines([line.text for line in block.lines[start:k]]))
            line = overlap.best(block.lines[k].text)
            if above is not None and line is not None and line != above:
                result.append(Block(block.kind, block.lines[start:k], block.overhang))
                start = k
        result.append(Block(block.kind, block.lines[start:], block.overhang))
    return result


def _assign_headlines(bodies: list[_Body], headlines: list[Block]) -> dict[int, Block]:
    """Body index -> its headline: best word overlap first, one headline per body (rule 4)."""
    overlap = _Overlap(bodies)
    headlines = _split_stacked_headlines(headlines, overlap)
    pairs = []
    for h, headline in enumerate(headlines):
        for b, score in enumerate(overlap.scores(headline.text)):
            distance = abs(headline.lines[0].number - bodies[b].first_line)
            pairs.append((-score, distance, h, b))
    assigned: dict[int, Block] = {}
    used: set[int] = set()
    for _, _, h, b in sorted(pairs):
        if h not in used and b not in assigned:
            assigned[b] = headlines[h]
            used.add(h)
    for h, headline in enumerate(headlines):
        if h not in used:
            log.warning("line %d: headline %r matches no body; left out", headline.lines[0].number, headline.text)
    return assigned


def _runs_on(line: str) -> bool:
    import jieba.posseg

    words = list(jieba.posseg.cut(line))
    return bool(words) and (words[-1].flag in _RUNS_ON_TAGS or words[-1].flag.startswith("u"))


def title_and_subtitle(headline_lines: list[str], body: str) -> tuple[str, str | None]:
    """Split a headline's lines into the title and an optional subtitle (rule 5)."""
    title = headline_lines[0]
    rest = list(headline_lines[1:])
    while rest:
        joined = join_lines([title, rest[0]])
        if joined[: len(title) + 2] in body or _runs_on(title):
            title = joined
            rest.pop(0)
        else:
            break
    return title, (join_lines(rest) if rest else None)


def _title_from_body(body: _Body) -> str:
    text = body.paragraphs[0][1]
    first = split_sentences(text)[0].rstrip().rstrip("。！？；;!?.…") or text
    return first if len(first) <= 40 else first[:40] + "…"


def page_slug(name: str) -> str:
    """A file-name-safe ASCII prefix for the articles of one page.

    >>> page_slug("newspaper-page.txt"), page_slug("第3版.txt")
    ('newspaper-page', '3')
    """
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    slug = re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")
    return slug or "page"


def article_id(slug: str, sequence: int, title: str) -> str:
    """Stable id: the page, the article's place on it, and a short digest of its title.

    >>> article_id("newspaper-page", 2, "标题")
    'newspaper-page-02-748d7d'
    """
    digest = hashlib.sha1(title.encode("utf-8")).hexdigest()[:6]
    return f"{slug}-{sequence:02d}-{digest}"


def ingest_page(page: str, page_name: str) -> tuple[Article, ...]:
    """The articles of one raw OCR page, in the order their bodies are printed."""
    blocks = split_blocks(read_lines(page))
    bodies, headlines = _bodies_and_headlines(blocks)
    assigned = _assign_headlines(bodies, headlines)
    slug = page_slug(page_name)
    articles = []
    for index, body in enumerate(bodies):
        body_text = "".join(text for _, text in body.paragraphs)
        headline = assigned.get(index)
        if headline is not None:
            title, subtitle = title_and_subtitle([line.text for line in headline.lines], body_text)
        else:
            log.warning("line %d: a body with no headline; titled by its first sentence", body.first_line)
            title, subtitle = _title_from_body(body), None
        identifier = article_id(slug, index + 1, title)
        paragraphs = tuple(
            Paragraph(identifier, position, heading, text, split_sentences(text))
            for position, (heading, text) in enumerate(body.paragraphs)
        )
        articles.append(Article(identifier, title, paragraphs, subtitle=subtitle, source=body.source))
    return tuple(articles)
