"""A page's blocks -> its articles: which headings are headlines, which body each headline heads.

The layout model (``corpus.layout``) gives headings, paragraphs and attributions in reading order,
and what it set aside (bylines, captions, page headers and footers). Here they become articles:

1. **Where articles must break.** After an attribution （据…）; before a paragraph that opens with a
   dateline (本报讯, 新华社…电) and before a standalone byline (本报记者 …), taking any heading right
   above it along as its headline.
2. **Headline or subheading.** A heading with no paragraph above it, or none below it, before such a
   break is a headline. Each heading between two paragraphs is weighed on its own evidence: set
   across columns (wider than the column, taller glyphs), several lines, a subtitle (——…) under it,
   a lede opening right under it (近日，…), restating a lede (the first paragraph under it, or above
   it when the text above has no headline of its own: a headline printed under its body), ending in
   ！ or ？, opening with a place or an organisation (山东：…) speak for a headline; one of a series of
   headings of one shape in one text speaks for subheadings. The sum's distance from zero is the
   decision's confidence.
3. **Bodies.** Headlines and breaks cut the paragraphs into bodies: two bodies separated only by a
   headline are two articles.
4. **Which body a headline heads.** Each headline goes to the body it shares the most distinctive
   words with (jieba words weighted by how few bodies hold them), above or below it, one headline per
   body, best matches first. Headline matter whose lines match different bodies best (one article's
   headline printed under its body, the next one's right below it) is first cut where the best body
   changes.
5. **Kicker, title and subtitle.** With glyph heights, the tallest lines are the title; above it a
   kicker, below it a subtitle. From text alone: a first line that runs on (the body repeats the two
   lines joined, or it holds a subject and a verb waiting for the object the next line brings)
   continues into the title; a first line that is shorter, names no subject while the next does, and
   shares no words with the lede (a title restates its lede) is a kicker; otherwise a second line is
   the subtitle.

Nothing here knows any string of any particular page.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from corpus.furniture import (
    attribution_source,
    opens_like_a_lede,
    page_date,
    split_dateline,
    split_trailing_attribution,
    standalone_byline,
)
from corpus.layout import Block, Doubt, PageLayout, UNSURE_BELOW, _word_spans
from corpus.sentences import split_sentences
from corpus.text import join_lines

# A headline is wider than its column when set across columns; a subheading fits its column.
ACROSS_COLUMNS = 1.5
SOMEWHAT_WIDER = 1.15
# Taller glyphs than the body text by this much mark a headline.
HEADLINE_HEIGHT = 1.35
# A headline restates its lede: the share of its two-letter runs found in the lede counts this much
# per unit above (or below) what a subheading's words share with its section by chance.
RESTATE_EXPECTED = 0.5
RESTATE_WEIGHT = 4.0

# jieba part-of-speech tags of a word that needs a complement after it: verbs (not verbal nouns such
# as 建设, which end titles), prepositions, conjunctions and structural particles (u, uj, ude...).
# A headline line ending in one runs on into the next line.
_RUNS_ON_TAGS = frozenset({"v", "p", "c"})
# Kicker over title needs this much evidence (see _kicker_evidence).
KICKER_EVIDENCE = 2.0
# Places and organisations: the subject a news title opens with.
_SUBJECT_TAGS = frozenset({"ns", "nt"})
# The marks that give a heading its shape (quotes are decoration: “秒到账” and 秒到账 are alike).
_MARKS = re.compile(r"[，、：；！？《》（）—…,:;!?()]")
_NOT_LETTER = re.compile(r"[\W_]+")
_DASHES = ("—", "－", "--")


@dataclass(frozen=True)
class Story:
    """One article as read off a page, before it is given an id."""

    title: str
    paragraphs: tuple[tuple[str | None, str], ...]  # (subheading, text)
    first_line: int
    subtitle: str | None = None
    kicker: str | None = None
    source: str | None = None
    byline: str | None = None
    dateline: str | None = None
    date: str | None = None
    captions: tuple[str, ...] = ()
    titled_from_body: bool = False


@dataclass
class _Item:
    kind: str  # "heading", "paragraph" or "attribution"
    block: Block
    text: str = ""
    source: str | None = None  # an attribution's, or a paragraph's own trailing one
    dateline: str | None = None
    byline: str | None = None
    starts_article: bool = False  # a dateline or a byline marks it


@dataclass
class _Body:
    items: list[int]  # item indices of its paragraphs (and subheadings)
    paragraphs: list[tuple[str | None, str]] = field(default_factory=list)
    source: str | None = None
    dateline: str | None = None
    byline: str | None = None
    captions: list[str] = field(default_factory=list)

    @property
    def first_item(self) -> int:
        return self.items[0]

    @property
    def last_item(self) -> int:
        return self.items[-1]

    @property
    def text(self) -> str:
        return "".join(f"{heading or ''}{text}" for heading, text in self.paragraphs)


@dataclass(frozen=True)
class _Headline:
    lines: tuple[str, ...]
    heights: tuple[float | None, ...]
    item: int  # the heading item it came from
    first_line: int


def read_stories(layout: PageLayout) -> tuple[list[Story], list[Doubt]]:
    """The articles on the page, in the order their bodies are printed, and the close decisions."""
    items = _items(layout.blocks)
    _mark_article_starts(items, layout)
    doubts: list[Doubt] = []
    labels = _decide_headings(items, doubts)
    bodies, headlines = _bodies_and_headlines(items, labels)
    _attach_asides(bodies, items, layout)
    assigned = _assign_headlines(bodies, headlines, doubts)
    date = next((page_date(aside.text) for aside in layout.asides if aside.kind == "furniture" and page_date(aside.text)), None)
    stories = []
    for index, body in enumerate(bodies):
        headline = assigned.get(index)
        first_line = items[body.first_item].block.first_line
        if headline is not None:
            kicker, title, subtitle = _kicker_title_subtitle(headline, body.text, doubts)
            titled = False
        else:
            doubts.append(Doubt(first_line, body.paragraphs[0][1][:30], "a body with no headline: titled by its first sentence", 0.0))
            kicker, title, subtitle, titled = None, _title_from_body(body), None, True
        stories.append(
            Story(
                title,
                tuple(body.paragraphs),
                first_line,
                subtitle=subtitle,
                kicker=kicker,
                source=body.source,
                byline=body.byline,
                dateline=body.dateline,
                date=date,
                captions=tuple(body.captions),
                titled_from_body=titled,
            )
        )
    return stories, doubts


# --- items and breaks ---------------------------------------------------------------------------


def _items(blocks: tuple[Block, ...]) -> list[_Item]:
    items = []
    for block in blocks:
        if block.kind == "attribution":
            items.append(_Item("attribution", block, block.text, source=attribution_source(block.text)))
        elif block.kind == "heading":
            items.append(_Item("heading", block, block.text))
        else:
            text, source = split_trailing_attribution(block.text)
            dateline, byline, text = split_dateline(text)
            items.append(
                _Item("paragraph", block, text, source=source, dateline=dateline, byline=byline, starts_article=dateline is not None)
            )
    return items


def _mark_article_starts(items: list[_Item], layout: PageLayout) -> None:
    """A standalone byline starts the article printed after it (the heading above it is its headline)."""
    for aside in layout.asides:
        if aside.kind != "byline" or aside.before_block >= len(items):
            continue
        item = items[aside.before_block]
        if item.kind == "paragraph":
            item.starts_article = True
            item.byline = item.byline or standalone_byline(aside.text)


def _breaks(items: list[_Item]) -> list[int]:
    """Item indices where an article must start (0 and len included)."""
    breaks = {0, len(items)}
    for index, item in enumerate(items):
        if item.kind == "attribution" or (item.kind == "paragraph" and item.source):
            breaks.add(index + 1)
        if item.starts_article:
            start = index
            while start > 0 and items[start - 1].kind == "heading":
                start -= 1
            breaks.add(start)
    return sorted(breaks)


# --- headline or subheading ---------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _tagged(text: str) -> tuple[tuple[str, str], ...]:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return tuple((pair.word, pair.flag) for pair in jieba.posseg.cut(text))


def _words(text: str) -> list[str]:
    return [word for word, _ in _tagged(text) if len(word) > 1 and any(char.isalnum() for char in word)]


def _shape(text: str) -> tuple[int, str]:
    """A heading's length and its skeleton of marks: subheadings of one text share both."""
    return len(text), "".join(_MARKS.findall(text))


def _headline_evidence(items: list[_Item], index: int, siblings: list[int]) -> float:
    """Log-odds, from the heading itself and its surroundings, that it is a headline (not a subheading)."""
    item = items[index]
    block = item.block
    widest = max(line.width for line in block.lines)
    ratio = widest / block.column if block.column else 1.0
    evidence = -0.5
    if ratio >= ACROSS_COLUMNS:
        evidence += 2.5
    elif ratio >= SOMEWHAT_WIDER:
        evidence += 1.0
    if block.height is not None and block.height >= HEADLINE_HEIGHT:
        evidence += 2.5
    if len(block.lines) > 1:
        evidence += 1.0
    if any(line.text.startswith(("—", "－")) for line in block.lines[1:]):
        evidence += 2.5  # a subtitle under it: subheadings have none
    following = next((items[k] for k in range(index + 1, len(items)) if items[k].kind == "paragraph"), None)
    if following is not None and opens_like_a_lede(following.text):
        evidence += 1.5
    # A headline restates its lede (the body's first paragraph, under it or, for a headline printed
    # under its body, above it); a subheading sums up its section in words of its own.
    restated = _share(item.text, following.text) if following is not None else 0.0
    lede_above = _lede_above(items, index)
    if lede_above is not None:
        restated = max(restated, _share(item.text, lede_above))
    evidence += _clip(RESTATE_WEIGHT * (restated - RESTATE_EXPECTED), -1.5, 2.0)
    if item.text.rstrip("”’」』）)").endswith(("！", "？", "!", "?")):
        evidence += 0.5
    tagged = _tagged(item.text)
    if tagged and tagged[0][1] in _SUBJECT_TAGS:
        evidence += 1.5  # news titles open with their subject: a place, an organisation
    if re.match(r"^[^，：:]{2,8}[：:]", item.text):
        evidence += 0.5
    length, marks = _shape(item.text)
    for other in siblings:
        other_length, other_marks = _shape(items[other].text)
        if abs(other_length - length) <= 3 and other_marks == marks and marks:
            evidence -= 1.5  # one of a series of subheadings set alike
            break
    return evidence


def _clip(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _share(heading: str, text: str) -> float:
    """The share of the heading's two-letter runs that the text holds."""
    heading, text = _NOT_LETTER.sub("", heading), _NOT_LETTER.sub("", text)
    pairs = {heading[k : k + 2] for k in range(len(heading) - 1)}
    return sum(pair in text for pair in pairs) / len(pairs) if pairs else 0.0


def _lede_above(items: list[_Item], index: int) -> str | None:
    """The first paragraph of the text right above the heading, when that text has no heading of its
    own above it (it may be this heading's body, printed above its headline)."""
    lede = None
    for above in range(index - 1, -1, -1):
        kind = items[above].kind
        if kind == "heading":
            return None
        if kind == "attribution":
            break
        lede = items[above].text
        if items[above].starts_article:
            break
    return lede


def _decide_headings(items: list[_Item], doubts: list[Doubt]) -> dict[int, bool]:
    """Heading item -> True for a headline, False for a subheading."""
    breaks = _breaks(items)
    labels: dict[int, bool] = {}
    for start, end in zip(breaks, breaks[1:]):
        paragraphs = [k for k in range(start, end) if items[k].kind == "paragraph"]
        headings = [k for k in range(start, end) if items[k].kind == "heading"]
        for k in headings:
            if not paragraphs or k < paragraphs[0] or k > paragraphs[-1]:
                labels[k] = True  # nothing of its own text above it, or below it
                continue
            evidence = _headline_evidence(items, k, [j for j in headings if j != k])
            labels[k] = evidence > 0
            _note_heading(items, k, labels[k], abs(evidence), doubts)
    return labels


def _note_heading(items: list[_Item], k: int, headline: bool, margin: float, doubts: list[Doubt]) -> None:
    confidence = 1.0 / (1.0 + math.exp(-margin))
    if confidence < UNSURE_BELOW:
        reading = "a headline (a new article starts here)" if headline else "a subheading (the article goes on)"
        doubts.append(Doubt(items[k].block.first_line, items[k].text, f"read as {reading}", confidence))


# --- bodies and headlines -----------------------------------------------------------------------


def _bodies_and_headlines(items: list[_Item], labels: dict[int, bool]) -> tuple[list[_Body], list[_Headline]]:
    bodies: list[_Body] = []
    headlines: list[_Headline] = []
    current: _Body | None = None
    heading: str | None = None

    def close() -> None:
        nonlocal current, heading
        if current is not None and current.paragraphs:
            bodies.append(current)
        current, heading = None, None

    for index, item in enumerate(items):
        if item.kind == "attribution":
            if current is not None and current.paragraphs:
                current.source = item.source
            elif bodies and bodies[-1].source is None:
                bodies[-1].source = item.source
            close()
        elif item.kind == "heading" and labels.get(index, True):
            close()
            block = item.block
            headlines.append(
                _Headline(
                    tuple(line.text for line in block.lines),
                    tuple(line.printed.height for line in block.lines),
                    index,
                    block.first_line,
                )
            )
        elif item.kind == "heading":
            heading = item.text
        else:
            if item.starts_article:
                close()
            if current is None:
                current = _Body([])
                current.dateline, current.byline = item.dateline, item.byline
            current.items.append(index)
            current.paragraphs.append((heading, item.text))
            if item.source:
                current.source = item.source
                close()
    close()
    return bodies, headlines


def _attach_asides(bodies: list[_Body], items: list[_Item], layout: PageLayout) -> None:
    """Captions go to the body they are printed in (or next to); bylines were read with the items."""
    for aside in layout.asides:
        if aside.kind != "caption" or not bodies:
            continue
        position = aside.before_block
        inside = [b for b in bodies if b.first_item < position <= b.last_item + 1]
        nearest = inside[0] if inside else min(bodies, key=lambda b: min(abs(b.first_item - position), abs(b.last_item - position)))
        nearest.captions.append(aside.text)


class _Overlap:
    """How many distinctive words a headline shares with each body: each shared word counts
    log((bodies + 1) / bodies holding it), so a word every body holds counts little."""

    def __init__(self, bodies: list[_Body]) -> None:
        self.texts = [body.text for body in bodies]

    def scores(self, headline: str) -> list[float]:
        weights = {}
        for word in set(_words(headline)):
            holding = sum(word in text for text in self.texts)
            if holding:
                weights[word] = math.log((len(self.texts) + 1) / holding)
        return [sum(weight for word, weight in weights.items() if word in text) for text in self.texts]

    def best(self, headline: str) -> int | None:
        """The one body the headline matches best, or None when nothing matches or two tie."""
        scores = self.scores(headline)
        top = max(scores, default=0.0)
        return scores.index(top) if top > 0 and scores.count(top) == 1 else None


def _split_stacked(headlines: list[_Headline], overlap: _Overlap) -> list[_Headline]:
    """Two headlines printed one under the other (one closing the body above, one opening the body
    below) read as one block; a line whose best body differs from the lines above it starts a new one."""
    result = []
    for headline in headlines:
        start = 0
        for k in range(1, len(headline.lines)):
            above = overlap.best(join_lines(list(headline.lines[start:k])))
            line = overlap.best(headline.lines[k])
            if above is not None and line is not None and line != above:
                result.append(_Headline(headline.lines[start:k], headline.heights[start:k], headline.item, headline.first_line))
                start = k
        result.append(_Headline(headline.lines[start:], headline.heights[start:], headline.item, headline.first_line))
    return result


def _assign_headlines(bodies: list[_Body], headlines: list[_Headline], doubts: list[Doubt]) -> dict[int, _Headline]:
    """Body index -> its headline: best word overlap first, the nearest on a tie, one per body."""
    overlap = _Overlap(bodies)
    headlines = _split_stacked(headlines, overlap)
    pairs = []
    for h, headline in enumerate(headlines):
        scores = overlap.scores(join_lines(list(headline.lines)))
        for b, score in enumerate(scores):
            distance = min(abs(headline.item - bodies[b].first_item), abs(headline.item - bodies[b].last_item))
            pairs.append((-score, distance, h, b))
    assigned: dict[int, _Headline] = {}
    used: set[int] = set()
    for _, _, h, b in sorted(pairs):
        if h not in used and b not in assigned:
            assigned[b] = headlines[h]
            used.add(h)
    for h, headline in enumerate(headlines):
        if h not in used:
            doubts.append(Doubt(headline.first_line, join_lines(list(headline.lines)), "a headline that matches no body: left out", 0.0))
    return assigned


# --- kicker, title and subtitle -----------------------------------------------------------------


def _names_subject(line: str) -> bool:
    return any(flag in _SUBJECT_TAGS for _, flag in _tagged(line)) or bool(re.match(r"^[^，：:]{2,8}[：:]", line))


def _kicker_title_subtitle(headline: _Headline, body: str, doubts: list[Doubt]) -> tuple[str | None, str, str | None]:
    """Split headline matter into kicker, title and subtitle (rule 5)."""
    lines = list(headline.lines)
    heights = headline.heights
    if len(lines) > 1 and all(h is not None for h in heights) and max(heights) - min(heights) >= 0.1 * max(heights):
        tallest = max(heights)
        title_lines = [k for k, h in enumerate(heights) if h >= tallest * 0.92]
        first, last = title_lines[0], title_lines[-1]
        kicker = join_lines(lines[:first]) if first > 0 else None
        title = join_lines(lines[first : last + 1])
        subtitle = join_lines(lines[last + 1 :]) if last + 1 < len(lines) else None
        return kicker, title, subtitle
    kicker = None
    if len(lines) > 1:
        evidence = _kicker_evidence(lines[0], lines[1], body)
        if evidence >= KICKER_EVIDENCE:
            kicker = lines.pop(0)
        if abs(evidence - KICKER_EVIDENCE + 0.5) <= 0.5:
            reading = f"“{kicker}” read as a kicker over the title" if kicker else f"“{lines[0]}” read as the title, not a kicker"
            doubts.append(Doubt(headline.first_line, join_lines(list(headline.lines)), reading, 0.6))
    title, subtitle = title_and_subtitle(lines, body)
    return kicker, title, subtitle


def _kicker_evidence(first: str, second: str, body: str) -> float:
    """How much the first of two headline lines reads as a kicker over the title (not the title over
    a subtitle): it is shorter, names no subject while the line under it does, and its words are not
    the lede's (a title restates the lede; a kicker names a theme or a rubric)."""
    if runs_on(first, second, body):
        return -2.0
    evidence = 0.0
    if len(first) <= 0.75 * len(second):
        evidence += 1.0
    if _names_subject(first):
        evidence -= 1.0
    elif _names_subject(second):
        evidence += 1.0
    first_share, second_share = _share(first, body), _share(second, body)
    if first_share <= 0.3 < second_share:
        evidence += 2.0 if first_share <= 0.1 else 1.0
    return evidence


def title_and_subtitle(headline_lines: list[str], body: str) -> tuple[str, str | None]:
    """Split a headline's lines into the title and an optional subtitle.

    A line continues the title when the reading runs on (``runs_on``); otherwise the rest is the
    subtitle (a dash before it dropped).
    """
    title = headline_lines[0]
    rest = list(headline_lines[1:])
    dashed = next((k for k, line in enumerate(rest) if line.lstrip().startswith(_DASHES)), None)
    while rest and ((dashed is not None and dashed > 0) or runs_on(title, rest[0], body)):
        # The lines above a ——subtitle are all the title's: a title set over two narrow lines.
        title = join_lines([title, rest.pop(0)])
        dashed = dashed - 1 if dashed is not None else None
    subtitle = join_lines(rest) if rest else None
    if subtitle is not None:
        subtitle = subtitle.lstrip("—－-– ") or None
    return title, subtitle


def runs_on(line: str, following: str, body: str) -> bool:
    """Whether a headline line runs on into the next one: the body repeats the two joined, or the line
    names its subject and ends in a word that needs an object (召开, 部署; a preposition), and the next
    line, no longer than it, brings that object rather than a subject of its own.
    """
    if line.rstrip().endswith(("，", "、", ",", "：", ":")):
        return True  # a title does not stop on a comma: the next line goes on with it
    joined = join_lines([line, following])
    if joined[: len(line) + 2] in body:
        return True
    across = line[-2:] + following[:3]
    if len(_NOT_LETTER.sub("", across)) >= 4 and across in body:
        return True  # the lede prints the words across the break together (两所 | 区域养老)
    if _word_spans(line[-3:], following[:3]):
        return True  # the break falls inside a word (养 | 老): a subtitle starts on a word of its own
    words = [(word, flag) for word, flag in _tagged(line) if flag != "x"]
    if not words or _opens_with_subject(following):
        return False
    if any(flag == "p" for _, flag in words[-3:-1]) and not words[-1][1].startswith("v"):
        return True  # a line closing on a prepositional phrase (为留守儿童) still wants its verb
    if len(line) > len(following):
        return False
    needs_object = words[-1][1] in _RUNS_ON_TAGS or words[-1][1].startswith("u")
    # A subject and one word after it (民政厅 部署) is no title yet, whatever jieba tags the word.
    subject = 0
    while subject < len(words) and words[subject][1] in _SUBJECT_TAGS:
        subject += 1
    return subject > 0 and (needs_object or len(words) - subject <= 1)


def _opens_with_subject(line: str) -> bool:
    words = _tagged(line)
    return bool(words) and words[0][1] in _SUBJECT_TAGS


def _title_from_body(body: _Body) -> str:
    text = body.paragraphs[0][1]
    first = split_sentences(text)[0].rstrip().rstrip("。！？；;!?.…") or text
    return first if len(first) <= 40 else first[:40] + "…"
