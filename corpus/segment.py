"""A page's blocks -> its articles: which headings are headlines, which body each headline heads.

The layout model (``corpus.layout``) gives headings, paragraphs and attributions in reading order,
and what it set aside (bylines, captions, page headers and footers). Here they become articles:

1. **Where articles must break.** After an attribution （据…）; before a paragraph that opens with a
   dateline (本报讯, 新华社…电) and before a standalone byline (本报记者 …), taking any heading right
   above it along as its headline.
2. **Headline or subheading.** A heading with no paragraph above it, or none below it, before such a
   break is a headline. Each heading between two paragraphs is weighed: set across columns (wider
   than the column, taller glyphs), several lines, a lede opening right under it (近日，…), restating
   the lede of the body above it (a headline printed under its body), ending in ！ or ？, opening with
   a place or an organisation (山东：…) speak for a headline; a series of headings of one shape in one
   text speaks for subheadings. So does the text: a subheading's section continues the text above it
   (the same places, names and terms, by tf-idf over the page's sections); a headline's body starts
   something else. Every combination of readings is scored and the best taken; the margin to the
   best reading with one heading read the other way is that heading's confidence.
3. **Bodies.** Headlines and breaks cut the paragraphs into bodies: two bodies separated only by a
   headline are two articles.
4. **Which body a headline heads.** Each headline goes to the body it shares the most distinctive
   words with (jieba words weighted by how few bodies hold them), above or below it, one headline per
   body, best matches first. Headline matter whose lines match different bodies best (one article's
   headline printed under its body, the next one's right below it) is first cut where the best body
   changes.
5. **Kicker, title and subtitle.** With glyph heights, the tallest lines are the title; above it a
   kicker, below it a subtitle. From text alone: a first line that runs on (ends in a verb or
   preposition, or the body repeats the two lines joined) continues into the title; a short first
   line without a subject over a line that names one is a kicker; otherwise a second line is the
   subtitle.

Nothing here knows any string of any particular page.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections import Counter
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
from corpus.layout import Block, Doubt, PageLayout, UNSURE_BELOW
from corpus.sentences import split_sentences
from corpus.text import join_lines

# Readings of this many free headings at most are searched exhaustively; beyond, one at a time.
MAX_EXHAUSTIVE_HEADINGS = 12
# A headline is wider than its column when set across columns; a subheading fits its column.
ACROSS_COLUMNS = 1.5
SOMEWHAT_WIDER = 1.15
# Taller glyphs than the body text by this much mark a headline.
HEADLINE_HEIGHT = 1.25
# A heading under a body that shares at least this many words, and this share of its words, with
# the body's opening paragraph restates that lede: it is the body's headline.
LEDE_ECHO_WORDS = 3
LEDE_ECHO_SHARE = 0.6
# How much a subheading's section is expected to share with the text above it (tf-idf cosine over the
# page's sections), and how much each unit of difference counts.
CONTINUITY_EXPECTED = 0.10
CONTINUITY_WEIGHT = 12.0

# jieba part-of-speech tags of a word that needs a complement after it: verbs (not verbal nouns such
# as 建设, which end titles), prepositions, conjunctions and structural particles (u, uj, ude...).
# A headline line ending in one runs on into the next line.
_RUNS_ON_TAGS = frozenset({"v", "p", "c"})
# Places and organisations: the subject a news title opens with.
_SUBJECT_TAGS = frozenset({"ns", "nt"})
_MARKS = re.compile(r"[，、：；！？“”‘’《》（）—…,:;!?()]")


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


class _Continuity:
    """tf-idf cosine between runs of paragraphs, with idf over the page's sections."""

    def __init__(self, items: list[_Item]) -> None:
        self.items = items
        sections: list[list[int]] = []
        for index, item in enumerate(items):
            if item.kind == "paragraph":
                if sections and sections[-1][-1] == index - 1 and items[index - 1].kind == "paragraph":
                    sections[-1].append(index)
                else:
                    sections.append([index])
        self.counts = {index: Counter(_words(items[index].text)) for index, item in enumerate(items) if item.kind == "paragraph"}
        frequency: Counter[str] = Counter()
        for section in sections:
            frequency.update(set().union(*(self.counts[i] for i in section)))
        total = max(1, len(sections))
        self.idf = {word: math.log((total + 1) / (count + 0.5)) for word, count in frequency.items()}

    def vector(self, indices: list[int]) -> dict[str, float]:
        counts: Counter[str] = Counter()
        for index in indices:
            counts.update(self.counts.get(index, {}))
        return {word: (1 + math.log(count)) * self.idf.get(word, 0.0) for word, count in counts.items()}

    def similarity(self, above: list[int], below: list[int]) -> float:
        a, b = self.vector(above), self.vector(below)
        dot = sum(weight * b.get(word, 0.0) for word, weight in a.items())
        norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
        return dot / norm if norm else 0.0


def _headline_evidence(items: list[_Item], index: int, siblings: list[int]) -> float:
    """Log-odds, from the heading itself and its surroundings, that it is a headline (not a subheading)."""
    item = items[index]
    block = item.block
    widest = max(line.width for line in block.lines)
    ratio = widest / block.column if block.column else 1.0
    evidence = -1.0
    if ratio >= ACROSS_COLUMNS:
        evidence += 2.5
    elif ratio >= SOMEWHAT_WIDER:
        evidence += 1.0
    if block.height is not None and block.height >= HEADLINE_HEIGHT:
        evidence += 2.5
    if len(block.lines) > 1:
        evidence += 1.0
    following = next((items[k] for k in range(index + 1, len(items)) if items[k].kind == "paragraph"), None)
    if following is not None and opens_like_a_lede(following.text):
        evidence += 1.5
    if _echoes_lede_above(items, index):
        evidence += 2.0
    if item.text.rstrip("”’」』）)").endswith(("！", "？", "!", "?")):
        evidence += 0.5
    tagged = _tagged(item.text)
    if tagged and tagged[0][1] in _SUBJECT_TAGS:
        evidence += 1.0
    if re.match(r"^[^，：:]{2,8}[：:]", item.text):
        evidence += 0.5
    length, marks = _shape(item.text)
    for other in siblings:
        if other == index:
            continue
        other_length, other_marks = _shape(items[other].text)
        if abs(other_length - length) <= 3 and other_marks == marks and marks:
            evidence -= 1.5
            break
    return evidence


def _echoes_lede_above(items: list[_Item], index: int) -> bool:
    """Whether the heading repeats most of the opening paragraph of the text above it: a headline
    printed under its body does (headlines restate their lede); a subheading sums up what follows."""
    lede = None
    for above in range(index - 1, -1, -1):
        if items[above].kind != "paragraph":
            if items[above].kind == "attribution" or lede is not None:
                break
            continue
        lede = items[above].text
        if items[above].starts_article:
            break
    if lede is None:
        return False
    words = set(_words(items[index].text))
    shared = sum(word in lede for word in words)
    return shared >= LEDE_ECHO_WORDS and shared >= LEDE_ECHO_SHARE * len(words)


def _decide_headings(items: list[_Item], doubts: list[Doubt]) -> dict[int, bool]:
    """Heading item -> True for a headline, False for a subheading."""
    breaks = _breaks(items)
    labels: dict[int, bool] = {}
    free: list[int] = []
    segment_of: dict[int, tuple[int, int]] = {}
    for start, end in zip(breaks, breaks[1:]):
        paragraphs = [k for k in range(start, end) if items[k].kind == "paragraph"]
        for k in range(start, end):
            if items[k].kind != "heading":
                continue
            segment_of[k] = (start, end)
            if not paragraphs or k < paragraphs[0] or k > paragraphs[-1]:
                labels[k] = True
            else:
                free.append(k)
    if not free:
        return labels
    continuity = _Continuity(items)
    evidence = {}
    for k in free:
        start, end = segment_of[k]
        siblings = [j for j in range(start, end) if items[j].kind == "heading" and j != k]
        evidence[k] = _headline_evidence(items, k, siblings)

    def score(reading: dict[int, bool]) -> float:
        total = 0.0
        for k in free:
            if reading[k]:
                total += evidence[k]
                continue
            start, _ = segment_of[k]
            top = max([start] + [j + 1 for j in range(start, k) if items[j].kind == "heading" and (labels.get(j) or reading.get(j))])
            above = [j for j in range(top, k) if items[j].kind == "paragraph"]
            below = []
            for j in range(k + 1, segment_of[k][1]):
                if items[j].kind == "heading":
                    break
                if items[j].kind == "paragraph":
                    below.append(j)
            total += CONTINUITY_WEIGHT * (continuity.similarity(above, below) - CONTINUITY_EXPECTED)
        return total

    if len(free) <= MAX_EXHAUSTIVE_HEADINGS:
        best_reading, best = None, -math.inf
        scored = []
        for choice in itertools.product((False, True), repeat=len(free)):
            reading = dict(zip(free, choice))
            value = score(reading)
            scored.append((value, choice))
            if value > best:
                best_reading, best = reading, value
        for position, k in enumerate(free):
            flipped = max(value for value, choice in scored if choice[position] != best_reading[k])
            _note_heading(items, k, best_reading[k], best - flipped, doubts)
    else:
        best_reading = {k: evidence[k] > 0 for k in free}
        for _ in range(3):
            for k in free:
                with_head = score({**best_reading, k: True})
                with_sub = score({**best_reading, k: False})
                best_reading[k] = with_head > with_sub
        for k in free:
            margin = abs(score({**best_reading, k: True}) - score({**best_reading, k: False}))
            _note_heading(items, k, best_reading[k], margin, doubts)
    labels.update(best_reading)
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


def _runs_on(line: str) -> bool:
    words = _tagged(line)
    return bool(words) and (words[-1][1] in _RUNS_ON_TAGS or words[-1][1].startswith("u"))


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
    if len(lines) > 1 and not _runs_on(lines[0]) and _is_kicker(lines[0], lines[1]):
        kicker = lines.pop(0)
    title, subtitle = title_and_subtitle(lines, body)
    return kicker, title, subtitle


def _is_kicker(first: str, second: str) -> bool:
    """A kicker is a short line over the title: shorter by far, without the subject the title names."""
    return len(first) <= 0.6 * len(second) and _names_subject(second) and not _names_subject(first)


def title_and_subtitle(headline_lines: list[str], body: str) -> tuple[str, str | None]:
    """Split a headline's lines into the title and an optional subtitle.

    A line continues the title when the reading runs on: the body repeats the two lines joined, or
    the line above ends in a word that needs what follows.
    """
    title = headline_lines[0]
    rest = list(headline_lines[1:])
    while rest:
        joined = join_lines([title, rest[0]])
        if joined[: len(title) + 2] in body or _runs_on(title):
            title = joined
            rest.pop(0)
        else:
            break
    subtitle = join_lines(rest) if rest else None
    if subtitle is not None:
        subtitle = subtitle.lstrip("—－-– ") or None
    return title, subtitle


def _title_from_body(body: _Body) -> str:
    text = body.paragraphs[0][1]
    first = split_sentences(text)[0].rstrip().rstrip("。！？；;!?.…") or text
    return first if len(first) <= 40 else first[:40] + "…"
