"""The answer interface shared by the CLI and the bot: ``Answerer.ask(question) -> Answer``.

A question becomes a list of weighted terms (its own jieba tokens, or CC-CEDICT translations of an
English question's words). BM25 ranks the paragraphs; the sentences of the best few compete for the
quote. A sentence scores by the question words it holds, each weighted by corpus idf and by how few
sentences of its paragraph share it (the article's subject is in every sentence and tells none apart),
plus its paragraph's relative BM25 score and a bonus when it holds the kind of answer asked for.
"""

from __future__ import annotations

import logging
import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from corpus.model import Article, Corpus, Paragraph
from retrieval.chitchat import chitchat_kind
from retrieval.config import AnswerConfig
from retrieval.documents import indexed_text
from retrieval.highlight import candidate_spans, choose_highlight
from retrieval.index import BM25Index, BM25Params
from retrieval.question import asked_words, detect_language, english_words, question_type
from retrieval.tokenize import BIGRAM_MARK, Tokenizer, normalise
from retrieval.typing_variants import Vocabulary, abbreviation_words, known_parts, name_pieces, shared_character_words

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alternative:
    quote: str
    title: str
    article_id: str
    score: float
    paragraph_id: int  # position of the paragraph in the corpus' paragraph order
    sentence_index: int  # position of the quote among its paragraph's sentences
    source: str | None  # the article's source, as Answer.source


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
    sentence_index: int | None = None  # position of the quote among its paragraph's sentences
    score: float = 0.0
    alternatives: tuple[Alternative, ...] = ()
    # why not answered: "empty", "too_long", "no_match", "chitchat" (no question: see ``chitchat``) or
    # "not_stated" (the articles speak of it but do not say: see ``related``)
    reason: str | None = None
    chitchat: str | None = None  # the kind of small talk: "greeting", "thanks", "help", "exit" ...
    related: Alternative | None = None  # for "not_stated": the closest sentence, only related


@dataclass(frozen=True)
class QueryTerm:
    """One question word and the index terms that stand for it: itself, or the translations of an
    English word, each with a weight in (0, 1]."""

    word: str
    alternatives: tuple[tuple[tuple[str, ...], float], ...]
    translated: bool = False  # dictionary readings: found only as written, never less a character


@dataclass(frozen=True)
class _ParagraphWords:
    """A paragraph's content words, tokenized once and cached: per sentence, for its article title and
    heading (the subject), and for all of it. Each part is (word set, normalised text)."""

    sentences: tuple[tuple[frozenset[str], str], ...]
    subject: tuple[frozenset[str], str]
    whole: tuple[frozenset[str], str]


@dataclass(frozen=True)
class _Sentence:
    paragraph_id: int
    index: int
    text: str
    score: float


def clean_question(text: str) -> str:
    """The question without control and format characters, white space collapsed.

    >>> clean_question("  浙江\\x00关停了\\u200b多少家？\\n")
    '浙江关停了多少家？'
    """
    kept = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C" or ch.isspace())
    return " ".join(kept.split())


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


def _first_place(term: QueryTerm, text: str) -> int | None:
    """Where the first of the term's readings that ``text`` holds as written starts."""
    for alternative, _ in term.alternatives:
        place = text.find("".join(alternative))
        if place >= 0:
            return place
    return None


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
        if index is None:
            index = BM25Index.build(self.document_tokens(), BM25Params(config.k1, config.b, config.epsilon))
        self.index = index
        self._unseen_idf = math.log((index.doc_count + 0.5) / 0.5)
        self._paragraph_words = lru_cache(maxsize=4096)(self._read_paragraph)
        self._dictionary = None
        self._vocabulary: Vocabulary | None = None
        self._sounds = None  # the corpus words by their pinyin, built for the first typo
        self._asking: frozenset[str] = frozenset()  # 几名, 多少家 ...: typos of these are corrected too

    def document_tokens(self) -> Iterable[list[str]]:
        """The token list indexed for each paragraph, in corpus order (what a persisted index must hold)."""
        return (self.tokenizer.tokens(indexed_text(a, p, self.config)) for a, p in self._entries)

    def ask(self, question: str, after: "str | Answer | None" = None) -> Answer:
        """The best sentence for ``question``, or a refusal with a reason; never raises on any str.

        ``after`` is the previous question (or its Answer): a question that only makes sense after it
        (那陕西呢？, 他是谁) borrows the subject or predicate it lacks."""
        text = clean_question(question if isinstance(question, str) else "")
        language = detect_language(text)
        if not text:
            return Answer(question, False, language, reason="empty")
        if len(text) > self.config.max_question_chars:
            return Answer(question, False, language, reason="too_long")
        if self.config.chitchat and (small_talk := chitchat_kind(text)):
            return Answer(question, False, language, reason="chitchat", chitchat=small_talk)
        if after is not None and self.config.followups:
            from retrieval.followup import with_context

            previous = after.question if isinstance(after, Answer) else after
            text = with_context(text, clean_question(previous if isinstance(previous, str) else ""))
            language = detect_language(text) if language != "en" else language
        found = self._search(text, language)
        if found is None and language != "en" and self.config.typo_correction:
            # Only a question that finds nothing as typed is read as a typo: a question whose words the
            # corpus holds is never changed.
            corrected = self._corrected(text)
            if corrected != text:
                text, found = corrected, self._search(corrected, language)
        if found is None:
            return Answer(question, False, language, reason="no_match")
        terms, kind, ranked = found
        if self.config.near_miss:
            checked = self._holding_the_answer(text, kind, ranked)
            if checked is None:
                return Answer(question, False, language, reason="not_stated", related=self._alternative(ranked[0]))
            ranked = checked
        best = ranked[0]
        article, paragraph = self._entries[best.paragraph_id]
        weights = [("".join(alt), self._term_idf(alt)) for term in terms for alt, _ in term.alternatives]
        highlight = choose_highlight(best.text, kind, text, weights)
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
            score=round(best.score, 6),
            alternatives=self._alternatives(ranked),
        )

    def _search(self, text: str, language: str) -> tuple[list[QueryTerm], str, list[_Sentence]] | None:
        """The question's terms, its kind and the competing sentences, best first; None when no
        paragraph holds enough of the question (``min_coverage``)."""
        terms = self.query_terms(text, language)
        if not terms:
            return None
        ids, scores = self.closest_paragraphs(text, language, terms, self.config.top_paragraphs)
        if not ids:
            return None
        kind = question_type(text)
        weight = self.config.paragraph_weight_english if language == "en" else self.config.paragraph_weight
        ranked = self._rank_sentences(text, terms, kind, ids, scores, weight)
        floor = self.config.min_coverage_english if language == "en" else self.config.min_coverage
        if self.coverage(terms, ranked[0].paragraph_id) < floor:
            return None
        return terms, kind, ranked

    def _holding_the_answer(self, text: str, kind: str, ranked: list[_Sentence]) -> list[_Sentence] | None:
        """``ranked`` with a sentence nearly as good as the best first when it holds the kind of answer
        asked for and the best does not; None for a near miss, whose best sentence is only related."""
        from retrieval.near_miss import KIND_MARGIN, PREFERRED_KINDS, missing_answer

        known = self.index.term_ids.__contains__
        best = ranked[0]
        close = [s for s in ranked[1:] if s.score >= best.score - KIND_MARGIN]
        for candidate in [best, *close]:
            article_text = self._article_text(candidate.paragraph_id)
            if not missing_answer(text, kind, candidate.text, article_text, known, PREFERRED_KINDS):
                return [candidate, *(s for s in ranked if s is not candidate)]
        if missing_answer(text, kind, best.text, self._article_text(best.paragraph_id), known):
            return None
        return ranked

    def query_terms(self, text: str, language: str) -> list[QueryTerm]:
        """The question's words sentences are matched by: its content words, or for English their
        CC-CEDICT translations."""
        if language == "en":
            return self._english_terms(text)
        cut, stopwords = self.tokenizer.words(text), self.tokenizer.stopwords
        words = asked_words(cut, stopwords) if self.config.colloquial else [w for w in cut if w not in stopwords]
        if self.config.shared_characters:
            words = [part for word in words for part in known_parts(word, self.vocabulary)]
        # jieba leaves a name it does not know in single characters (史/继/偕): guessing words for
        # each of them would only add noise.
        pieces = name_pieces(cut, stopwords)
        return [self._chinese_term(word) if word not in pieces else QueryTerm(word, (((word,), 1.0),)) for word in words]

    def _chinese_term(self, word: str) -> QueryTerm:
        """A Chinese question's word: itself, and where the corpus does not hold it, the corpus words
        it may stand for (shared characters, abbreviations) or, for an English word, its translations."""
        itself = QueryTerm(word, (((word,), 1.0),))
        if not (self.config.shared_characters or self.config.abbreviations or self.config.mixed_english):
            return itself
        vocabulary = self.vocabulary
        if vocabulary.holds(word):
            return itself
        if self.config.mixed_english and english_words(word) == [word]:
            translated = self._english_terms(word)
            if translated and translated[0].alternatives:
                return translated[0]
            return itself
        expansions = []
        if self.config.abbreviations:
            expansions += abbreviation_words(word, vocabulary)
        if self.config.shared_characters:
            expansions += shared_character_words(word, vocabulary)
        alternatives = [((word,), 1.0)] + [(e.words, e.weight) for e in expansions]
        return QueryTerm(word, tuple(dict(alternatives).items()))

    @property
    def vocabulary(self) -> Vocabulary:
        """The corpus' words, for matching question words it does not hold; built on first use."""
        if self._vocabulary is None:
            indptr, ids = self.index.indptr, self.index.term_ids
            self._vocabulary = Vocabulary(ids, lambda term: int(indptr[ids[term] + 1] - indptr[ids[term]]))
        return self._vocabulary

    def _corrected(self, text: str) -> str:
        """``text`` with pinyin-input typos replaced by the corpus words that sound the same."""
        from retrieval.spelling import SoundTable, correct_homophones
        from retrieval.question import load_cues

        vocabulary = self.vocabulary
        if self._sounds is None:
            # Question words with a measure (几名 for a typed 几命) are corrected too.
            asking = [f"{q}{m}" for q in ("几", "多少") for m in load_cues().measures if len(q + m) <= 4]
            self._sounds = SoundTable(vocabulary, asking, self.cache_dir)
            self._asking = frozenset(asking)
        known = lambda word: vocabulary.holds(word) or word in self._asking  # noqa: E731
        return correct_homophones(text, known, self._sounds.sounding_like)

    def closest_paragraphs(
        self, text: str, language: str, terms: Sequence[QueryTerm], k: int
    ) -> tuple[list[int], list[float]]:
        """The k best paragraphs with positive score. A Chinese question is ranked exactly by BM25Okapi
        over its index tokens; for an English one each word adds its best-scoring translation only."""
        if language == "en":
            ids, scores = self._translated_closest(terms, k)
        elif any(len(term.alternatives) > 1 or term.translated for term in terms):
            # Words the corpus lacks add the scores of their best alternative to the question's own; the
            # loosest guesses (one character of two changed) only help pick the sentence.
            expanded = [
                QueryTerm(term.word, tuple((a, w) for a, w in term.alternatives if w >= 0.5), term.translated)
                for term in terms
                if len(term.alternatives) > 1 or term.translated
            ]
            ids, scores = self._translated_closest(expanded, k, self.index.scores(self.tokenizer.tokens(text)))
        else:
            ids, scores = self.index.closest_docs(self.tokenizer.tokens(text), k)
        kept = [(i, s) for i, s in zip(ids, scores) if s > 0]
        return [i for i, _ in kept], [s for _, s in kept]

    def coverage(self, terms: Sequence[QueryTerm], paragraph_id: int) -> float:
        """Share of the question's idf weight found in the paragraph (with its title and heading). A
        Chinese word found only through a guessed alternative (抓获 for 抓) counts at that guess' weight."""
        whole = self._paragraph_words(paragraph_id).whole
        total = found = 0.0
        for term in self._distinct(terms):
            weight = self._term_weight(term)
            total += weight
            held = [w for alt, w in term.alternatives if self._holds(alt, *whole, term.translated)]
            if held:
                found += weight if term.translated else weight * max(held)
        return found / total if total else 0.0

    def _rank_sentences(
        self,
        question: str,
        terms: Sequence[QueryTerm],
        kind: str,
        ids: Sequence[int],
        scores: Sequence[float],
        paragraph_weight: float,
    ) -> list[_Sentence]:
        cue = self.config.cue_weights.get(kind, 0.0)
        distinct = self._distinct(terms)
        weights = [self._term_weight(t) for t in distinct]
        total = sum(weights) or 1.0
        words = [self._paragraph_words(paragraph_id) for paragraph_id in ids]
        # matched[p][t][s]: the weight term t earns in sentence s of paragraph p (0 when absent).
        matched = [
            [[self._matched_weight(term, tokens, text) for tokens, text in part.sentences] for term in distinct]
            for part in words
        ]
        # A word counts by how few of all competing sentences hold it: the article's subject is in
        # many of them and tells none apart.
        competing = sum(len(part.sentences) for part in words)
        specificity = [
            sentence_idf(sum(1 for rows in matched for weight in rows[t] if weight), competing)
            for t in range(len(distinct))
        ]
        ranked = []
        for paragraph_id, paragraph_score, part, rows in zip(ids, scores, words, matched):
            _, paragraph = self._entries[paragraph_id]
            in_subject = [self._holds_any(term, part.subject) for term in distinct]
            factors = [f * (1 - self.config.subject_discount) if s else f for f, s in zip(specificity, in_subject)]
            # Every sentence of the article speaks of its subject, named or not: the subject's words are
            # credited to all of them, so a paragraph whose title holds them is not at a disadvantage.
            subject_credit = self.config.subject_credit * sum(w for w, s in zip(weights, in_subject) if s)
            # Characters catch paraphrases (现任 for 现在); the subject's own characters tell nothing.
            # A Chinese word's guessed alternatives (抓获 for 抓) bring no characters of the question's own.
            chars = {
                c
                for term, s in zip(distinct, in_subject)
                if not s
                for alt, _ in (term.alternatives if term.translated else term.alternatives[:1])
                for c in "".join(alt)
            }
            relative = paragraph_weight * paragraph_score / scores[0]
            for index, sentence in enumerate(paragraph.sentences):
                text = part.sentences[index][1]
                earned = [row[index] * factor for row, factor in zip(rows, factors)]
                places = [
                    (place, row[index])
                    for term, row, s in zip(distinct, rows, in_subject)
                    if row[index] and not s and (place := _first_place(term, text)) is not None
                ]
                near = densest_window(places, self.config.proximity_window)
                match = (sum(earned) + subject_credit + self.config.proximity_weight * near) / total
                char_match = sum(1 for c in chars if c in text) / len(chars) if chars else 0.0
                score = relative + match + self.config.char_weight * char_match
                if cue and candidate_spans(sentence, kind, question):
                    score += cue
                ranked.append(_Sentence(paragraph_id, index, sentence, score))
        ranked.sort(key=lambda s: -s.score)
        return ranked

    def _alternative(self, sentence: _Sentence) -> Alternative:
        article = self._entries[sentence.paragraph_id][0]
        return Alternative(
            sentence.text, article.title, article.id, round(sentence.score, 6), sentence.paragraph_id, sentence.index, article.source
        )

    def _article_text(self, paragraph_id: int) -> str:
        """The normalised text of the paragraph's article: title, headings and all its paragraphs."""
        article = self._entries[paragraph_id][0]
        parts = [article.title] + [part for p in article.paragraphs for part in (p.heading, p.text) if part]
        return normalise("\n".join(parts))

    def _alternatives(self, ranked: Sequence[_Sentence]) -> tuple[Alternative, ...]:
        """The best sentence of each other paragraph: first the best of each other article (the next
        candidates a reader wants are other articles' answers), then more of the answer's own article,
        then the other articles' further paragraphs."""
        answer_article = self._entries[ranked[0].paragraph_id][0].id
        seen_paragraphs, seen_articles = {ranked[0].paragraph_id}, {answer_article}
        firsts, own, further = [], [], []
        for sentence in ranked:
            if sentence.paragraph_id in seen_paragraphs:
                continue
            seen_paragraphs.add(sentence.paragraph_id)
            article = self._entries[sentence.paragraph_id][0]
            alternative = self._alternative(sentence)
            if article.id == answer_article:
                own.append(alternative)
            elif article.id in seen_articles:
                further.append(alternative)
            else:
                seen_articles.add(article.id)
                firsts.append(alternative)
        return tuple((firsts + own + further)[: self.config.max_alternatives])

    def _holds_any(self, term: QueryTerm, where: tuple[frozenset[str], str]) -> bool:
        return any(self._holds(alt, *where, term.translated) for alt, _ in term.alternatives)

    def _read_paragraph(self, paragraph_id: int) -> _ParagraphWords:
        article, paragraph = self._entries[paragraph_id]
        sentences = tuple((frozenset(self.tokenizer.content_words(s)), normalise(s)) for s in paragraph.sentences)
        subject_text = normalise(" ".join(part for part in (article.title, paragraph.heading) if part))
        subject = (frozenset(self.tokenizer.content_words(subject_text)), subject_text)
        whole_words = subject[0].union(*(words for words, _ in sentences))
        whole = (whole_words, "\n".join([subject_text, *(text for _, text in sentences)]))
        return _ParagraphWords(sentences, subject, whole)

    def _term_weight(self, term: QueryTerm) -> float:
        """A question word's weight: the idf of its likeliest reading (the highest for a word no
        dictionary reading of which is known)."""
        if not term.alternatives:
            return self._unseen_idf
        return max(self._term_idf(alternative) for alternative, _ in term.alternatives)

    def _matched_weight(self, term: QueryTerm, tokens: frozenset[str], text: str) -> float:
        return max(
            (weight * self._term_idf(alt) for alt, weight in term.alternatives if self._holds(alt, tokens, text, term.translated)),
            default=0.0,
        )

    @staticmethod
    def _holds(alternative: tuple[str, ...], tokens: frozenset[str], text: str, translated: bool = False) -> bool:
        """A term is found as a token, or, when it is two characters or more, inside a longer word
        (浙江 in 浙江省)."""
        if all(t in tokens for t in alternative):
            return True
        joined = "".join(alternative)
        if len(joined) >= 3 and not translated:
            # jieba's HMM may glue a name to the next character (黄华麒是): the word less its last or
            # first character still names the same thing. A dictionary reading has no such glue, and
            # less a character it is another word (生活费 "cost of living" is not 生活).
            return joined in text or joined[:-1] in text or joined[1:] in text
        return len(joined) >= 2 and joined in text

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
                values.append(self._unseen_idf)
        return sum(values) / len(values) if values else 0.0

    @staticmethod
    def _distinct(terms: Sequence[QueryTerm]) -> list[QueryTerm]:
        seen, distinct = set(), []
        for term in terms:
            if term.word not in seen:
                seen.add(term.word)
                distinct.append(term)
        return distinct

    def _english_terms(self, text: str) -> list[QueryTerm]:
        if self._dictionary is None:
            from retrieval.english import load_dictionary

            self._dictionary = load_dictionary(self.cache_dir)
        terms = []
        for word, translations in self._dictionary.translate(
            text, self.config.english_translations, self._known, self.config.english_word_forms
        ):
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

    def _translated_closest(self, terms: Sequence[QueryTerm], k: int, total=None) -> tuple[list[int], list[float]]:
        """Paragraph scores summed over the question's words (added to ``total`` if given), each word
        scoring by its best weighted reading (wrong readings of a word then cost little)."""
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
