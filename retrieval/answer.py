"""The answer interface shared by the CLI and the bot: ``Answerer.ask(question) -> Answer``.

A question becomes a list of weighted terms (its own jieba tokens, or CC-CEDICT translations of an
English question's words). BM25 ranks the indexed documents (paragraphs, and passages of the long
ones); the sentences of the best few paragraphs compete for the quote, with runs of adjacent sentences
where the question's evidence spreads over them. Each candidate is a feature vector
(``retrieval.features``) scored by the fitted ranker (``retrieval.ranker``); the best is quoted, and its
answer span highlighted when the ranker's gate finds it likely right.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from corpus.model import Article, Corpus, Paragraph
from retrieval.config import AnswerConfig
from retrieval.documents import Document, indexed_documents
from retrieval.features import Candidate, Matcher, sentence_candidates
from retrieval.highlight import HighlightChoice, highlight_choice
from retrieval.index import BM25Index, BM25Params
from retrieval.question import detect_language, question_type
from retrieval.ranker import cached_ranker
from retrieval.tokenize import BIGRAM_MARK, Tokenizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alternative:
    quote: str
    title: str
    article_id: str
    score: float
    paragraph_id: int  # position of the paragraph in the corpus' paragraph order


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    language: str  # "zh", "zh-Hant" or "en": the language the reply's own words should use
    quote: str | None = None  # one sentence, exactly as it stands in the article
    highlight: str | None = None  # a substring of quote that answers the question, if one is certain
    title: str | None = None
    source: str | None = None
    article_id: str | None = None
    paragraph: str | None = None  # the whole paragraph the quote stands in
    paragraph_id: int | None = None
    score: float = 0.0
    alternatives: tuple[Alternative, ...] = ()
    reason: str | None = None  # why not answered: "empty", "too_long", "no_match"
    competing: tuple[int, ...] = ()  # ids of the paragraphs whose sentences competed, best first
    sentence_index: int | None = None  # the quote's (first) sentence's position in its paragraph
    sentence_count: int = 1  # sentences the quote runs over: 1, or up to 3 when the evidence spans them


@dataclass(frozen=True)
class QueryTerm:
    """One question word and the index terms that stand for it: itself, or the translations of an
    English word, each with a weight in (0, 1]."""

    word: str
    alternatives: tuple[tuple[tuple[str, ...], float], ...]
    translated: bool = False  # dictionary readings: found only as written, never less a character


def clean_question(text: str) -> str:
    """The question without control and format characters, white space collapsed.

    >>> clean_question("  浙江\\x00关停了\\u200b多少家？\\n")
    '浙江关停了多少家？'
    """
    kept = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C" or ch.isspace())
    return " ".join(kept.split())


class Answerer:
    """Answers questions from one corpus; build once, ask many times."""

    def __init__(
        self,
        corpus: Corpus,
        config: AnswerConfig,
        tokenizer: Tokenizer | None = None,
        index: BM25Index | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """``cache_dir`` (the index cache folder) keeps the English dictionary's reverse index between
        runs; without it the dictionary is built in memory on the first English question."""
        self.corpus = corpus
        self.cache_dir = cache_dir
        self.config = config
        self.tokenizer = tokenizer or Tokenizer()
        self._entries: list[tuple[Article, Paragraph]] = list(corpus.paragraphs())
        self.documents: list[Document] = indexed_documents(corpus, config)
        if index is None:
            index = BM25Index.build(self.document_tokens(), BM25Params(config.k1, config.b, config.epsilon))
        if index.doc_count != len(self.documents):
            raise ValueError(f"the index holds {index.doc_count} documents, the corpus {len(self.documents)}")
        self.index = index
        self.matcher = Matcher(self._entries, self.tokenizer, index)
        self.ranker = cached_ranker(config.sentence_ranker, tuple(config.ranker_off))
        self._dictionary = None

    def document_tokens(self) -> Iterable[list[str]]:
        """The token list indexed for each document (paragraphs, then passages), in index order: what a
        persisted index must hold."""
        return (self.tokenizer.tokens(document.text) for document in self.documents)

    def ask(self, question: str) -> Answer:
        """The best sentence for ``question``, or a refusal with a reason; never raises on any str."""
        text = clean_question(question if isinstance(question, str) else "")
        language = detect_language(text)
        if not text:
            return Answer(question, False, language, reason="empty")
        if len(text) > self.config.max_question_chars:
            return Answer(question, False, language, reason="too_long")
        terms = self.query_terms(text, language)
        if not terms:
            return Answer(question, False, language, reason="no_match")
        kind = question_type(text)
        ranked = self.rank_sentences(text, language, terms, kind)
        if not ranked:
            return Answer(question, False, language, reason="no_match")
        best = ranked[0]
        competing = tuple(dict.fromkeys(c.paragraph_id for c in ranked))
        floor = self.config.min_coverage_english if language == "en" else self.config.min_coverage
        if self.coverage(terms, best.paragraph_id) < floor:
            return Answer(question, False, language, reason="no_match", competing=competing)
        article, paragraph = self._entries[best.paragraph_id]
        choice, gate = self.highlight(ranked, kind, text, terms)
        highlight = choice.text if choice.text and (not self._gated(language) or self.ranker.shows(gate)) else None
        return Answer(
            question=question,
            answered=True,
            language=language,
            quote=best.text,
            highlight=highlight,
            title=article.title,
            source=article.source,
            article_id=article.id,
            paragraph=paragraph.text,
            paragraph_id=best.paragraph_id,
            sentence_index=best.index,
            sentence_count=best.count,
            score=round(best.score, 6),
            alternatives=self._alternatives(ranked),
            competing=competing,
        )

    def query_terms(self, text: str, language: str) -> list[QueryTerm]:
        """The question's words sentences are matched by: its content words, or for English their
        CC-CEDICT translations."""
        if language == "en":
            return self._english_terms(text)
        return [QueryTerm(word, (((word,), 1.0),)) for word in self.tokenizer.content_words(text)]

    def closest_paragraphs(
        self, text: str, language: str, terms: Sequence[QueryTerm], k: int
    ) -> tuple[list[int], list[float]]:
        """The k best paragraphs with positive score. A Chinese question is ranked exactly by BM25Okapi
        over its index tokens; for an English one each word adds its best-scoring translation only."""
        ids, scores, _ = self._closest(text, language, terms, k)
        return ids, scores

    def coverage(self, terms: Sequence[QueryTerm], paragraph_id: int) -> float:
        """Share of the question's idf weight found in the paragraph (with its title and heading)."""
        return self.matcher.coverage(terms, paragraph_id)

    def candidates(self, question: str) -> list[Candidate]:
        """The candidate sentences for ``question``, unscored, as ``ask`` sees them (for the fitting
        tool, which learns the ranker's weights from them)."""
        text = clean_question(question)
        language = detect_language(text)
        if not text or len(text) > self.config.max_question_chars:
            return []
        terms = self.query_terms(text, language)
        return self.sentence_candidates(text, language, terms, question_type(text)) if terms else []

    def sentence_candidates(self, text: str, language: str, terms: Sequence[QueryTerm], kind: str) -> list[Candidate]:
        """The sentences of the best paragraphs as feature vectors, unscored, in corpus order within
        paragraphs and paragraphs best first: what the ranker scores (and the fitting tool learns from)."""
        ids, scores, passages = self._closest(text, language, terms, self.config.top_paragraphs)
        if not ids:
            return []
        scale = self.config.english_paragraph_scale if language == "en" else 1.0
        return sentence_candidates(self.matcher, self.config, text, terms, kind, ids, scores, passages, scale)

    def rank_sentences(self, text: str, language: str, terms: Sequence[QueryTerm], kind: str) -> list[Candidate]:
        """``sentence_candidates`` scored by the ranker, best first (ties keep corpus order)."""
        scored = [replace(c, score=self.ranker.score(c.features)) for c in self.sentence_candidates(text, language, terms, kind)]
        scored.sort(key=lambda c: -c.score)
        return scored

    def highlight(
        self, ranked: Sequence[Candidate], kind: str, text: str, terms: Sequence[QueryTerm]
    ) -> tuple[HighlightChoice, tuple[float, ...]]:
        """The span of the best candidate's quote that answers the question (if one is certain), and
        the features the ranker's gate judges its confidence by (``GATE_FEATURES``; empty without a span)."""
        best = ranked[0]
        weights = [("".join(alt), self.matcher.term_idf(alt)) for term in terms for alt, _ in term.alternatives]
        choice = highlight_choice(best.text, kind, text, weights)
        if choice.text is None:
            return choice, ()
        end = best.index + best.count
        others = (c.score for c in ranked[1:] if c.paragraph_id != best.paragraph_id or c.index >= end or c.index + c.count <= best.index)
        lead = best.score - next(others, best.score - 2.0)
        return choice, (min(max(lead, 0.0) / 5.0, 1.0), 1.0 if best.count > 1 else 0.0, *choice.features)

    def _gated(self, language: str) -> bool:
        """Whether the ranker's highlight gate judges this language's highlights: it was fitted on
        Chinese questions, and an English question's scores run on translations, so its leads are not
        comparable."""
        return self.config.highlight_gate and (language != "en" or self.config.highlight_gate_english)

    def highlight_evidence(self, question: str) -> tuple[Candidate, HighlightChoice, tuple[float, ...]] | None:
        """The best candidate for ``question``, its highlight before the gate, and the gate's features:
        what the fitting tool learns the gate from. None when nothing is found."""
        text = clean_question(question)
        language = detect_language(text)
        terms = self.query_terms(text, language) if text else []
        kind = question_type(text)
        ranked = self.rank_sentences(text, language, terms, kind) if terms else []
        if not ranked:
            return None
        return (ranked[0], *self.highlight(ranked, kind, text, terms))

    def _alternatives(self, ranked: Sequence[Candidate]) -> tuple[Alternative, ...]:
        """The best single sentence of each other paragraph: first the best of each other article (the
        next candidates a reader wants are other articles' answers), then more of the answer's own
        article, then the other articles' further paragraphs."""
        answer_article = self._entries[ranked[0].paragraph_id][0].id
        seen_paragraphs, seen_articles = {ranked[0].paragraph_id}, {answer_article}
        firsts, own, further = [], [], []
        for sentence in ranked:
            if sentence.paragraph_id in seen_paragraphs or sentence.count > 1:
                continue
            seen_paragraphs.add(sentence.paragraph_id)
            article = self._entries[sentence.paragraph_id][0]
            alternative = Alternative(sentence.text, article.title, article.id, round(sentence.score, 6), sentence.paragraph_id)
            if article.id == answer_article:
                own.append(alternative)
            elif article.id in seen_articles:
                further.append(alternative)
            else:
                seen_articles.add(article.id)
                firsts.append(alternative)
        return tuple((firsts + own + further)[: self.config.max_alternatives])

    def _closest(
        self, text: str, language: str, terms: Sequence[QueryTerm], k: int
    ) -> tuple[list[int], list[float], dict[tuple[int, int], float]]:
        """The k best paragraphs (ids, scores) and, for each of their sentences, the best score of a
        document holding it. A paragraph scores as its best document: itself or one of its passages."""
        # Passages of one paragraph may fill the first places: ask for more documents until k paragraphs
        # are found or the index has no more.
        wanted = k if len(self.documents) == len(self._entries) else k * 4
        query = None if language == "en" else self.tokenizer.tokens(text)
        while True:
            if query is None:
                doc_ids, doc_scores = self._translated_closest(terms, wanted)
            else:
                doc_ids, doc_scores = self.index.closest_docs(query, wanted)
            paragraphs = {self.documents[d].paragraph_id for d, s in zip(doc_ids, doc_scores) if s > 0}
            if len(paragraphs) >= k or len(doc_ids) < wanted or wanted >= len(self.documents):
                break
            wanted *= 4
        best: dict[int, float] = {}
        passages: dict[tuple[int, int], float] = {}
        for doc_id, score in zip(doc_ids, doc_scores):
            if score <= 0:
                continue
            document = self.documents[doc_id]
            paragraph_id = document.paragraph_id
            if paragraph_id not in best:
                if len(best) == k:
                    continue
                best[paragraph_id] = score
            for sentence in range(document.first, document.last + 1):
                passages.setdefault((paragraph_id, sentence), score)
        return list(best), list(best.values()), passages

    def _english_terms(self, text: str) -> list[QueryTerm]:
        if self._dictionary is None:
            from retrieval.english import load_dictionary

            self._dictionary = load_dictionary(self.cache_dir)
        terms = []
        for word, translations in self._dictionary.translate(text, self.config.english_translations, self._known):
            alternatives = tuple(
                (tuple(tokens), weight)
                for chinese, weight in translations
                if (tokens := self.tokenizer.content_words(chinese))
            )
            terms.append(QueryTerm(word, alternatives, translated=True))
        return terms

    def _known(self, chinese: str) -> bool:
        """Whether the index holds each content word of ``chinese``, as a word or (two characters)
        inside longer words."""
        ids = self.index.term_ids
        words = self.tokenizer.content_words(chinese)
        return bool(words) and all(word in ids or (len(word) == 2 and BIGRAM_MARK + word in ids) for word in words)

    def _translated_closest(self, terms: Sequence[QueryTerm], k: int) -> tuple[list[int], list[float]]:
        """Paragraph scores summed over the question's words, each word scoring by its best weighted
        reading (wrong readings of a word then cost little)."""
        total = None
        for term in terms:
            best = None
            for words, weight in term.alternatives:
                scores = self.index.scores(self.tokenizer.tokens("".join(words))) * weight
                best = scores if best is None else best.clip(min=scores)  # elementwise max
            if best is not None:
                total = best if total is None else total + best
        if total is None:
            return [], []
        k = min(k, len(total))
        top = total.argpartition(len(total) - k)[len(total) - k :] if k < len(total) else range(len(total))
        order = sorted((int(i) for i in top), key=lambda i: (-total[i], i))
        return order, [float(total[i]) for i in order]
