"""Matching question words in sentences, and the features of every candidate sentence.

``Matcher`` knows the corpus' words: a question word's idf, whether a sentence holds it (as a token,
or inside a longer word), the cached content words of each paragraph. ``sentence_candidates`` turns
the sentences of the best paragraphs into ``Candidate`` feature vectors (``retrieval.ranker.FEATURES``
names and explains each), which a ranker scores.
"""

from __future__ import annotations

import math
import re
from operator import mul
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Sequence

from corpus.model import Article, Paragraph
from retrieval.highlight import candidate_spans
from retrieval.index import BM25Index
from retrieval.question import QueryTerm, answer_head
from retrieval.ranker import FEATURE_NAMES, GAP_FEATURES
from retrieval.sentence_cuts import cut_texts, stored_words
from retrieval.tokenize import BIGRAM_MARK, Tokenizer, normalise

_NUMBER = re.compile(r"\d+")
# Words opening a sentence that lean on the one before it.
_POINTS_BACK = re.compile(r"^(?:他们|她们|它们|他|她|它|牠|其|此|这|该|那|同时|此外|因此|因而|所以|但|而|并且|后来|之后|随后|然而)")
_CHINESE_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

if TYPE_CHECKING:
    from retrieval.config import AnswerConfig

_TYPED = ("how_many", "when", "where", "who")
_POSITION = {name: i for i, name in enumerate(FEATURE_NAMES)}
# Feature positions as names: the features of some 30 candidates a question are set one by one.
(
    _PARAGRAPH_SCORE, _PASSAGE_SCORE, _WORD_MATCH, _SUBJECT_CREDIT, _PROXIMITY, _CHAR_MATCH, _BIGRAM_MATCH,
    _NEIGHBOUR_MATCH, _NOVELTY, _FIRST_SENTENCE, _EXTRA_SENTENCES, _NUMBERS_MATCH, _NUMBERS_CONFLICT,
    _PRONOUN_START, _PARAGRAPH_COVERAGE, _LENGTH, _HEAD_MATCH, _PARAGRAPH_RANK, _POSITION_IN_PARAGRAPH, _ANSWER_NEAR,
) = (
    _POSITION[name]
    for name in (
        "paragraph_score", "passage_score", "word_match", "subject_credit", "proximity", "char_match", "bigram_match",
        "neighbour_match", "novelty", "first_sentence", "extra_sentences", "numbers_match", "numbers_conflict",
        "pronoun_start", "paragraph_coverage", "length", "head_match", "paragraph_rank", "position", "answer_near",
    )
)


@dataclass(frozen=True)
class ParagraphWords:
    """A paragraph's content words, tokenized once and cached: per sentence, for its article title and
    heading (the subject), and for all of it. Each part is (word set, normalised text)."""

    sentences: tuple[tuple[frozenset[str], str], ...]
    subject: tuple[frozenset[str], str]
    whole: tuple[frozenset[str], str]


@dataclass(frozen=True)
class Candidate:
    """A run of ``count`` adjacent sentences of a paragraph (usually one), with its features and score."""

    paragraph_id: int
    index: int  # the first sentence's position in its paragraph
    text: str
    features: tuple[float, ...] = field(repr=False)
    score: float = 0.0
    count: int = 1


def sentence_idf(holding: int, competing: int) -> float:
    """BM25's idf of a word held by ``holding`` of ``competing`` sentences, scaled so that a word only
    one sentence holds counts 1 and a word none holds counts 0.

    >>> sentence_idf(1, 20), round(sentence_idf(10, 20), 2), sentence_idf(0, 20), sentence_idf(1, 1)
    (1.0, 0.26, 0.0, 1.0)
    """
    if not holding:
        return 0.0
    return math.log(1 + (competing - holding + 0.5) / (holding + 0.5)) / math.log(1 + (competing - 0.5) / 1.5)


def densest_window(places: Sequence[tuple[int, float]], width: int) -> float:
    """The most weight that (character offset, weight) pairs put within ``width`` characters, when
    two or more words are found: question words standing together in a sentence say more than the
    same words scattered over it.

    >>> densest_window([(0, 1.0), (5, 2.0), (40, 3.0)], 15), densest_window([(3, 1.0)], 15)
    (3.0, 0.0)
    """
    if len(places) < 2:
        return 0.0
    return max(sum(w for p, w in places if start <= p <= start + width) for start, _ in places)


def nearness(spans: Sequence[tuple[int, int]], places: Sequence[int], scale: float = 10.0) -> float:
    """1 / (1 + d / scale) for the least distance d in characters between an answer span (start, end)
    and a place where a question word starts; 0 when either is missing.

    >>> nearness([(10, 14)], [0, 20]), nearness([(10, 14)], [12]), nearness([], [3])
    (0.625, 1.0, 0.0)
    """
    if not spans or not places:
        return 0.0
    distance = min(0 if start <= p < end else min(abs(p - start), abs(p - end)) for start, end in spans for p in places)
    return 1.0 / (1.0 + distance / scale)


class Matcher:
    """Where question words stand in the corpus' sentences, and what they weigh."""

    def __init__(self, entries: Sequence[tuple[Article, Paragraph]], tokenizer: Tokenizer, index: BM25Index) -> None:
        self.entries = entries
        self.tokenizer = tokenizer
        self.index = index
        self.unseen_idf = math.log((index.doc_count + 0.5) / 0.5)
        self.paragraph_words = lru_cache(maxsize=4096)(self._read_paragraph)
        # Asked for each reading in each sentence that holds it: two hash-table probes each time.
        self.term_idf = lru_cache(maxsize=65536)(self._term_idf)

    def _read_paragraph(self, paragraph_id: int) -> ParagraphWords:
        article, paragraph = self.entries[paragraph_id]
        texts = cut_texts(article.title, paragraph)
        normalised = [normalise(text) for text in texts]
        # The cuts the index build stored with the paragraph: jieba then never runs on a corpus sentence.
        words = [frozenset(found) for found in stored_words(paragraph.cuts, texts, normalised, self.tokenizer.content_words)]
        sentences = tuple(zip(words[1:], normalised[1:]))
        subject_text = texts[0]
        subject = (words[0], subject_text)
        whole_words = subject[0].union(*(words for words, _ in sentences))
        whole = (whole_words, "\n".join([subject_text, *(text for _, text in sentences)]))
        return ParagraphWords(sentences, subject, whole)

    def term_weight(self, term: QueryTerm) -> float:
        """A question word's weight: the idf of its likeliest reading (the highest for a word no
        dictionary reading of which is known)."""
        if not term.alternatives:
            return self.unseen_idf
        idfs = [self.term_idf(alternative) for alternative, _ in term.alternatives]
        if not term.translated and len(idfs) > 1:
            if idfs[0] < self.unseen_idf:
                # A word the corpus holds weighs as itself, or as its commonest full-weight form (青海
                # as 青海省, the same place): its guessed readings (会议 for 会) are not rarer words the
                # question asked for.
                return min(idf for idf, (_, weight) in zip(idfs, term.alternatives) if weight >= 1.0)
            # A Chinese word the corpus lacks as a word but holds inside its words (来 in 以来) is not
            # rare: it weighs no more than the most common corpus word it may stand for.
            return min(idfs[1:])
        return max(idfs)

    def unheld(self, term: QueryTerm) -> bool:
        """Whether no paragraph holds any reading of the term."""
        return all(self.term_idf(alternative) >= self.unseen_idf for alternative, _ in term.alternatives)

    def matched_weight(self, term: QueryTerm, tokens: frozenset[str], text: str) -> float:
        """The weight the term earns in a text: its best reading found there, weighted by the reading's
        weight and idf; 0 when none is found."""
        return earned_weight(self.readings(term), tokens, text)

    def readings(self, term: QueryTerm) -> tuple[tuple[tuple[str, ...], float, tuple[str, ...]], ...]:
        """Each reading of the term as (its words, weight x idf, the strings ``holds`` looks for in a
        text when the words are not all tokens of it): worked out once a question, not once a sentence."""
        return tuple((alt, weight * self.term_idf(alt), _probes(alt, term.translated)) for alt, weight in term.alternatives)

    def holds_any(self, term: QueryTerm, where: tuple[frozenset[str], str]) -> bool:
        return any(self.holds(alt, *where, term.translated) for alt, _ in term.alternatives)

    @staticmethod
    def holds(alternative: tuple[str, ...], tokens: frozenset[str], text: str, translated: bool = False) -> bool:
        """A term is found as a token, or, when it is two characters or more, inside a longer word
        (浙江 in 浙江省)."""
        return tokens.issuperset(alternative) or any(probe in text for probe in _probes(alternative, translated))

    def _term_idf(self, alternative: tuple[str, ...]) -> float:
        """Mean idf of the alternative's words. A two-character word only found inside longer words
        takes its bigram's idf; a word no paragraph holds at all gets the highest idf."""
        values = []
        for word in alternative:
            for term in (word, BIGRAM_MARK + word if len(word) == 2 else None):
                if term in self.index.term_ids:
                    values.append(self.index.idf(term))
                    break
            else:
                values.append(self.unseen_idf)
        return sum(values) / len(values) if values else 0.0

    def coverage(
        self,
        terms: Sequence[QueryTerm],
        paragraph_id: int,
        common: "CommonWords | None" = None,
        name_weight: float = 1.0,
        weighed_readings: bool = False,
    ) -> float:
        """Share of the question's idf weight found in the paragraph (with its title and heading). A
        Chinese word found only through a guessed alternative (抓获 for 抓) counts at that guess' weight.
        With ``common``, a Chinese word the corpus holds also counts by how rare it is in Chinese at
        large (``CommonWords.share``). An English word written as a name, or one no paragraph holds
        any reading of, weighs ``name_weight`` times its weight. With ``weighed_readings`` (a mixed
        question's English word beside exact Chinese ones), an English word weighs as its likeliest
        reading and earns the idf of the rarest reading found, up to that weight: of its dozen loose
        readings a common one is held almost anywhere and says little."""
        distinct, weights = distinct_terms(terms), []
        for term in distinct:
            weight = self.term_weight(term)
            if weighed_readings and term.translated and term.alternatives:
                weight = self.term_idf(term.alternatives[0][0])
            if name_weight != 1.0 and (term.name or (term.translated and self.unheld(term))):
                weight *= name_weight
            if common is not None and not term.translated and self.term_idf((term.word,)) < self.unseen_idf:
                weight *= common.share(term.word)
            weights.append(weight)
        readings = [self.readings(term) for term in distinct]
        earned = self.term_idf if weighed_readings else None
        return held_share(distinct, weights, readings, self.paragraph_words(paragraph_id).whole, earned)


@dataclass(frozen=True)
class CommonWords:
    """How much a word says about what a question asks, by how common it is in Chinese at large: its
    idf in jieba's dictionary (log of the dictionary's total count over the word's). A corpus of a few
    hundred paragraphs gives general words (可以, 已经, 使用) nearly the idf of content words, and a
    paragraph that answers a question need not repeat its framing; a fact's own words (厅长, 举报,
    菜单) are rare in Chinese at large."""

    frequency: Callable[[str], int | None]  # the word's count in the general dictionary (None: not in it)
    total: float  # the dictionary's total count
    low: float  # a word of this general idf or less counts ``least`` of its weight
    high: float  # ... of this general idf or more, all of it; in between, in proportion
    least: float

    def share(self, word: str) -> float:
        """The share of its weight a word keeps; a word the dictionary lacks keeps all of it.

        >>> c = CommonWords({"可以": 70958, "召开": 9138, "厅长": 406}.get, 6.0e7, 6.0, 10.0, 0.1)
        >>> [round(c.share(w), 2) for w in ("可以", "召开", "厅长", "龟山岛")]
        [0.19, 0.7, 1.0, 1.0]
        """
        count = self.frequency(word)
        if not count:
            return 1.0
        general_idf = math.log(self.total / count)
        return min(1.0, max(self.least, (general_idf - self.low) / (self.high - self.low)))


def _probes(alternative: tuple[str, ...], translated: bool) -> tuple[str, ...]:
    """What ``Matcher.holds`` looks for in a text holding the reading's words not as tokens: the words
    joined, when two characters or more (浙江 in 浙江省).

    >>> _probes(("黄华麒",), False), _probes(("生活费",), True), _probes(("浙江",), False), _probes(("会",), False)
    (('黄华麒', '黄华', '华麒'), ('生活费',), ('浙江',), ())
    """
    joined = "".join(alternative)
    if len(joined) >= 3 and not translated:
        # jieba's HMM may glue a name to the next character (黄华麒是): the word less its last or
        # first character still names the same thing. A dictionary reading has no such glue, and
        # less a character it is another word (生活费 "cost of living" is not 生活).
        return (joined, joined[:-1], joined[1:])
    return (joined,) if len(joined) >= 2 else ()


def held_share(
    terms: Sequence[QueryTerm],
    weights: Sequence[float],
    readings: Sequence[Sequence[tuple[tuple[str, ...], float, tuple[str, ...]]]],
    where: tuple[frozenset[str], str],
    earned_idf: Callable[[tuple[str, ...]], float] | None = None,
) -> float:
    """``Matcher.coverage`` from the distinct terms' weights and ``Matcher.readings``: the share of the
    weight whose term a text holds (a Chinese word's guessed reading counting at its guess' weight;
    with ``earned_idf``, a translated word the idf of its rarest reading held, up to its weight).
    ``sentence_candidates`` asks it of every paragraph with the weights and readings it has already."""
    tokens, text = where
    total = found = 0.0
    for term, weight, reading in zip(terms, weights, readings):
        total += weight
        held = [
            (alt, w) for (alt, _, probes), (_, w) in zip(reading, term.alternatives)
            if tokens.issuperset(alt) or any(probe in text for probe in probes)
        ]
        if earned_idf is not None and term.translated:
            found += min(weight, max((earned_idf(alt) for alt, _ in held), default=0.0))
        elif held:
            found += weight if term.translated else weight * max(w for _, w in held)
    return found / total if total else 0.0


def earned_weight(readings: Sequence[tuple[tuple[str, ...], float, tuple[str, ...]]], tokens: frozenset[str], text: str) -> float:
    """The most weight x idf (``Matcher.readings``) of a reading found in a text; 0 when none is."""
    if len(readings) == 1:  # most question words: themselves only
        alt, value, probes = readings[0]
        return value if tokens.issuperset(alt) or any(probe in text for probe in probes) else 0.0
    return max(
        (value for alt, value, probes in readings if tokens.issuperset(alt) or any(probe in text for probe in probes)),
        default=0.0,
    )


def earned_weights(
    readings: Sequence[tuple[tuple[str, ...], float, tuple[str, ...]]], texts: Sequence[tuple[frozenset[str], str]]
) -> list[float]:
    """``earned_weight`` in each of the (tokens, text) pairs: a term of one reading, most terms, is
    looked for without a call a sentence.

    >>> earned_weights(((("浙江",), 2.0, ("浙江",)),), [(frozenset({"浙江"}), "浙江"), (frozenset(), "浙江省"), (frozenset(), "江")])
    [2.0, 2.0, 0.0]
    """
    if len(readings) == 1:
        alt, value, probes = readings[0]
        if not probes:
            return [value if tokens.issuperset(alt) else 0.0 for tokens, _ in texts]
        if len(probes) == 1:
            probe = probes[0]
            return [value if tokens.issuperset(alt) or probe in text else 0.0 for tokens, text in texts]
    return [earned_weight(readings, tokens, text) for tokens, text in texts]


def distinct_terms(terms: Sequence[QueryTerm]) -> list[QueryTerm]:
    seen, distinct = set(), []
    for term in terms:
        if term.word not in seen:
            seen.add(term.word)
            distinct.append(term)
    return distinct


def substrings(text: str) -> frozenset[str]:
    """Every substring of ``text``, the empty one included: ``w in substrings(t)`` is ``w in t``.

    >>> sorted(substrings("河北"))
    ['', '北', '河', '河北']
    """
    return frozenset(text[start:end] for start in range(len(text) + 1) for end in range(start, len(text) + 1))


def question_bigrams(question: str) -> list[str]:
    """The distinct character bigrams of the question's Chinese runs, in order.

    >>> question_bigrams("河北取缔了几家？")
    ['河北', '北取', '取缔', '缔了', '了几', '几家']
    """
    found = []
    for run in _CHINESE_RUN.findall(normalise(question)):
        found.extend(run[i : i + 2] for i in range(len(run) - 1))
    return list(dict.fromkeys(found))


def first_found(readings: Sequence[str], text: str) -> int | None:
    """Where the first of ``readings`` that ``text`` holds starts.

    >>> first_found(("浙江省", "浙江"), "在浙江"), first_found(("会议",), "开会")
    (1, None)
    """
    for reading in readings:
        place = text.find(reading)
        if place >= 0:
            return place
    return None


def sentence_candidates(
    matcher: Matcher,
    config: AnswerConfig,
    question: str,
    terms: Sequence[QueryTerm],
    kind: str,
    ids: Sequence[int],
    scores: Sequence[float],
    passage_scores: dict[tuple[int, int], float],
    paragraph_scale: float = 1.0,
) -> list[Candidate]:
    """Every sentence of the paragraphs ``ids`` (best first, BM25 ``scores``) as a feature vector.

    ``passage_scores`` maps (paragraph id, sentence index) to the best score of an indexed passage
    holding the sentence; ``paragraph_scale`` scales the paragraph features (English questions rank
    paragraphs through translations, less reliably)."""
    distinct = distinct_terms(terms)
    weights = [matcher.term_weight(t) for t in distinct]
    total = sum(weights) or 1.0
    words = [matcher.paragraph_words(paragraph_id) for paragraph_id in ids]
    readings = [matcher.readings(term) for term in distinct]
    # matched[p][t][s]: the weight term t earns in sentence s of paragraph p (0 when absent).
    matched = [
        [earned_weights(reading, part.sentences) for reading in readings]
        for part in words
    ]
    # A word counts by how few of all competing sentences hold it: the article's subject is in
    # many of them and tells none apart.
    competing = sum(len(part.sentences) for part in words)
    held_by = [sum(1 for rows in matched for weight in rows[t] if weight) for t in range(len(distinct))]
    specificity = [sentence_idf(held, competing) for held in held_by]
    question_text = normalise(question)
    head = answer_head(question_text) if kind not in _TYPED else None
    head = head[:2] if head else None
    bigrams = [(b, matcher.index.idf(BIGRAM_MARK + b)) for b in question_bigrams(question_text)]
    bigrams = [(b, w) for b, w in bigrams if w > 0]  # a bigram no paragraph holds matches nothing
    numbers = set(_NUMBER.findall(question_text))
    # Every piece of the question's text: a sentence word is in the question's text when it is one, so
    # a set intersection counts a sentence's new words (a longer question is searched word by word).
    in_question = substrings(question_text) if len(question_text) <= 64 else None
    best_score = scores[0] if scores and scores[0] > 0 else 1.0
    best_passage = max(passage_scores.values(), default=best_score) or best_score
    typed_cue = _POSITION["cue_" + kind] if kind in _TYPED else None
    # The summed weight of a set of terms (bits in term order), summed in term order as it always was:
    # the run checks ask it of the same few sets over and over.
    mask_weights: dict[int, float] = {}

    def mask_weight(mask: int) -> float:
        found = mask_weights.get(mask)
        if found is None:
            found = mask_weights[mask] = sum(w for t, w in enumerate(weights) if mask >> t & 1)
        return found

    # Each term's readings as written, searched for in every candidate's text (``first_found``).
    written = [tuple("".join(alternative) for alternative, _ in term.alternatives) for term in distinct]

    rows_out: list[tuple[int, int, int, str, list[float]]] = []
    for paragraph_id, paragraph_score, part, rows in zip(ids, scores, words, matched):
        _, paragraph = matcher.entries[paragraph_id]
        in_subject = [matcher.holds_any(term, part.subject) for term in distinct]
        factors = [f * (1 - config.subject_discount) if s else f for f, s in zip(specificity, in_subject)]
        # Every sentence of the article speaks of its subject, named or not: the subject's words are
        # credited to all of them, so a paragraph whose title holds them is not at a disadvantage.
        subject_share = sum(w for w, s in zip(weights, in_subject) if s) / total
        # Characters catch paraphrases (现任 for 现在); the subject's own characters tell nothing.
        # A Chinese word's guessed alternatives (抓获 for 抓) bring no characters of the question's own.
        chars = {
            c
            for term, s in zip(distinct, in_subject)
            if not s
            for alt, _ in (term.alternatives if term.translated else term.alternatives[:1])
            for c in "".join(alt)
        }
        subject_text = part.subject[1]
        pair_weights = [(b, w * (1 - config.subject_discount) if b in subject_text else w) for b, w in bigrams]
        pair_total = sum(w for _, w in pair_weights) or 1.0
        relative = paragraph_score / best_score
        word_matches = [sum(row[i] * f for row, f in zip(rows, factors)) / total for i in range(len(part.sentences))]
        evidence = sum(w for w, s in zip(weights, in_subject) if not s) or 1.0
        coverage = held_share(distinct, weights, readings, part.whole)

        sentences = part.sentences
        paragraph_feature = relative * paragraph_scale
        subject_credit = subject_share * paragraph_scale
        paragraph_coverage = coverage * paragraph_scale

        def unit(first: int, last: int) -> list[float]:
            """The features of sentences first .. last read as one quote."""
            if first == last:  # most candidates: the one sentence's own words, text and matches
                tokens, text = sentences[first]
                earned = [row[first] for row in rows]
                passage = passage_scores.get((paragraph_id, first), paragraph_score)
            else:
                members = range(first, last + 1)
                tokens = frozenset().union(*(sentences[i][0] for i in members))
                text = "".join(sentences[i][1] for i in members)
                earned = [max(row[i] for i in members) for row in rows]
                passage = max(passage_scores.get((paragraph_id, i), paragraph_score) for i in members)
            places = [
                (place, e)
                for readings, e, s in zip(written, earned, in_subject)
                if e and not s and (place := first_found(readings, text)) is not None
            ]
            neighbours = [word_matches[j] for j in (first - 1, last + 1) if 0 <= j < len(word_matches)]
            values = [0.0] * len(FEATURE_NAMES)
            values[_PARAGRAPH_SCORE] = paragraph_feature
            values[_PASSAGE_SCORE] = passage / best_passage * paragraph_scale
            values[_WORD_MATCH] = sum(map(mul, earned, factors)) / total
            values[_SUBJECT_CREDIT] = subject_credit
            values[_PROXIMITY] = densest_window(places, config.proximity_window) / total
            values[_CHAR_MATCH] = len(chars.intersection(text)) / len(chars) if chars else 0.0
            values[_NEIGHBOUR_MATCH] = max(neighbours, default=0.0)
            values[_NOVELTY] = (
                (len(tokens) - len(tokens.intersection(in_question))) / len(tokens)
                if in_question is not None
                else sum(1 for w in tokens if w not in question_text) / len(tokens)
            ) if tokens else 0.0
            values[_FIRST_SENTENCE] = 1.0 if first == 0 else 0.0
            values[_BIGRAM_MATCH] = sum(w for b, w in pair_weights if b in text) / pair_total
            values[_EXTRA_SENTENCES] = float(last - first)
            if numbers:
                values[_NUMBERS_MATCH] = sum(1 for n in numbers if n in text) / len(numbers)
                held = set(_NUMBER.findall(text))
                if held and not held & numbers:
                    values[_NUMBERS_CONFLICT] = 1.0
            values[_PRONOUN_START] = 1.0 if _POINTS_BACK.match(text) else 0.0
            values[_LENGTH] = min(len(text), 100) / 100
            values[_PARAGRAPH_COVERAGE] = paragraph_coverage
            if head and any(w.endswith(head) and len(w) > len(head) and w not in question_text for w in tokens):
                values[_HEAD_MATCH] = 1.0
            if typed_cue is not None:
                quoted = paragraph.sentences[first] if first == last else "".join(paragraph.sentences[first : last + 1])
                # The shipped ranker was fitted with 7月 counted as an answer to 多少个: read as it was
                # fitted (reading it as a date here moved DRCD quotes both ways; a refit may drop it).
                spans = candidate_spans(quoted, kind, question, hmm=False, calendar_counts=True)
                if spans:
                    values[typed_cue] = 1.0
                    values[_ANSWER_NEAR] = nearness([(s.start, s.end) for s in spans], [p for p, _ in places])
            return values

        # The question words (the subject's aside) each sentence holds, as bits in term order.
        held = [
            sum(1 << t for t, (row, s) in enumerate(zip(rows, in_subject)) if not s and row[i])
            for i in range(len(sentences))
        ]
        least = config.run_min_share * evidence

        def spans_evidence(first: int, last: int) -> bool:
            """Whether each sentence of the run holds question words (the subject's aside) that no other
            sentence of it holds, worth at least ``run_min_share`` of all such words' weight: the
            evidence runs across them, and no shorter run holds it. Or, for two sentences, whether the
            second holds such words and opens pointing back (他, 其, 这 ...) at the first."""
            if last == first + 1 and _POINTS_BACK.match(sentences[last][1]):
                if mask_weight(held[last]) >= least:
                    return True
            for i in range(first, last + 1):
                others = 0
                for j in range(first, last + 1):
                    if j != i:
                        others |= held[j]
                if mask_weight(held[i] & ~others) < least:
                    return False
            return True

        count = len(paragraph.sentences)
        for index in range(count):
            rows_out.append((paragraph_id, index, 1, paragraph.sentences[index], unit(index, index)))
        for size in range(2, min(config.max_quote_sentences, count) + 1):
            for first in range(count - size + 1):
                if spans_evidence(first, first + size - 1):
                    text = "".join(paragraph.sentences[first : first + size])
                    rows_out.append((paragraph_id, first, size, text, unit(first, first + size - 1)))
    rank = {paragraph_id: place for place, paragraph_id in enumerate(ids)}
    counts = {paragraph_id: len(part.sentences) for paragraph_id, part in zip(ids, words)}
    for paragraph_id, index, size, _, values in rows_out:
        values[_PARAGRAPH_RANK] = float(rank[paragraph_id])
        count = counts[paragraph_id]
        values[_POSITION_IN_PARAGRAPH] = index / (count - 1) if count > 1 else 0.0
    # A tree ranker judges one candidate at a time: how far each is behind the best of its rivals on
    # the main matches is what lets it compare them, as a linear model's sum does by itself.
    vectors = [values for *_, values in rows_out]
    for name, source in GAP_FEATURES.items():
        column, gap = _POSITION[source], _POSITION[name]
        best = max((values[column] for values in vectors), default=0.0)
        for values in vectors:
            values[gap] = best - values[column]
    return [Candidate(paragraph_id, index, text, tuple(values), count=size) for paragraph_id, index, size, text, values in rows_out]
