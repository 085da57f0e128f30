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
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Iterable, Sequence

from corpus.model import Corpus
from corpus.stored import CorpusView, as_view
from retrieval.chitchat import chitchat_kind
from retrieval.config import AnswerConfig
from retrieval.documents import DocumentTable, indexed_documents
from retrieval.features import Candidate, CommonWords, Matcher, sentence_candidates
from retrieval.highlight import HighlightChoice, highlight_choice
from retrieval.index import BM25Index, BM25Params
from retrieval.question import (
    QueryTerm,
    asked_words,
    chinese_reading,
    detect_language,
    english_names,
    english_office,
    english_phrases_joined,
    english_words,
    load_cues,
    question_type,
    question_words_in_chinese,
)
from retrieval.ranker import cached_ranker
from retrieval.tokenize import (
    BIGRAM_MARK,
    Tokenizer,
    dictionary_frequency,
    dictionary_tag,
    dictionary_total,
    normalise,
    to_simplified,
)
from retrieval.typing_variants import (
    Vocabulary,
    abbreviation_words,
    known_parts,
    name_pieces,
    place_forms,
    separable_words_joined,
    shared_character_words,
)

log = logging.getLogger(__name__)

OFFICE_READING_WEIGHT = 0.5  # an English office word (director) read as one of the corpus' titles (厅长): a guess
_CLAUSES = re.compile(r"[，,；;。！？!?：:]")
NAME_READING_WEIGHT = 0.5  # an English name's readings that say where the question is about (邯郸市, not 中 for China)


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
    score: float = 0.0
    alternatives: tuple[Alternative, ...] = ()
    # why not answered: "empty", "too_long", "no_match", "chitchat" (no question: see ``chitchat``) or
    # "not_stated" (the articles speak of it but do not say: see ``related``)
    reason: str | None = None
    chitchat: str | None = None  # the kind of small talk: "greeting", "thanks", "help", "exit" ...
    related: Alternative | None = None  # for "not_stated": the closest sentence, only related
    competing: tuple[int, ...] = ()  # ids of the paragraphs whose sentences competed, best first
    sentence_index: int | None = None  # the quote's (first) sentence's position in its paragraph
    sentence_count: int = 1  # sentences the quote runs over: 1, or up to 3 when the evidence spans them


class _RecentEntries(Sequence):
    """A corpus view's (article, paragraph) entries, the most recently read kept decoded."""

    def __init__(self, corpus: CorpusView, kept: int = 1024) -> None:
        self._corpus = corpus
        self._read = lru_cache(maxsize=kept)(corpus.__getitem__)

    def __len__(self) -> int:
        return len(self._corpus)

    def __getitem__(self, paragraph_id):  # type: ignore[override]
        if isinstance(paragraph_id, int) and 0 <= paragraph_id:
            return self._read(paragraph_id)
        return self._corpus[paragraph_id]


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
        corpus: Corpus | CorpusView,
        config: AnswerConfig,
        tokenizer: Tokenizer | None = None,
        index: BM25Index | None = None,
        cache_dir: Path | None = None,
        documents: DocumentTable | None = None,
    ) -> None:
        """``corpus`` is a parsed Corpus (held in memory) or a view of a stored one, read on demand
        with the index's ``documents``. ``cache_dir`` (the index cache folder) keeps the English
        dictionary's reverse index between runs; without it the dictionary is built in memory on the
        first English question."""
        self.corpus = as_view(corpus)
        self.cache_dir = cache_dir
        self.config = config
        self.tokenizer = tokenizer or Tokenizer()
        # A question's jieba words: its terms and its index tokens are both read from them. Only the
        # last few questions are kept (a question is cut once, not remembered).
        self._question_words = lru_cache(maxsize=4)(self.tokenizer.words)
        # (article, paragraph) by paragraph id. A question reads the same few dozen paragraphs many
        # times over (features, near-miss checks, alternatives): a stored corpus decodes each read.
        self._entries = _RecentEntries(self.corpus)
        self.documents = documents if documents is not None else DocumentTable.of(self.corpus, config)
        if index is None:
            index = BM25Index.build(self.document_tokens(), BM25Params(config.k1, config.b, config.epsilon))
        if index.doc_count != len(self.documents):
            raise ValueError(f"the index holds {index.doc_count} documents, the corpus {len(self.documents)}")
        self.index = index
        self.matcher = Matcher(self._entries, self.tokenizer, index)
        self._normalised_article = lru_cache(maxsize=256)(self._read_article_text)
        self.ranker = cached_ranker(config.sentence_ranker, tuple(config.ranker_off))
        self._dictionary = None
        self._vocabulary: Vocabulary | None = None
        self._sounds = None  # the corpus words by their pinyin, built for the first typo
        self._asking: frozenset[str] = frozenset()  # 几名, 多少家 ...: typos of these are corrected too

    def document_tokens(self) -> Iterable[list[str]]:
        """The token list indexed for each document (paragraphs, then passages), in index order: what a
        persisted index must hold."""
        return (self.tokenizer.tokens(document.text) for document in indexed_documents(self.corpus, self.config))

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
        if self.config.colloquial and language != "en":
            text = separable_words_joined(text, self._question_words(text), self.vocabulary, dictionary_tag)
        found = self._search(text, language)
        if (found is None or not found[3]) and language != "en" and self.config.typo_correction:
            # Only a question that finds nothing as typed is read as a typo: a question whose words the
            # corpus holds is never changed.
            corrected = self._corrected(text)
            if corrected != text:
                text, found = corrected, self._search(corrected, language) or found
        if found is None or not found[3]:
            # The paragraphs that competed are still named: retrieval found them, the answer step refused.
            competing = tuple(dict.fromkeys(c.paragraph_id for c in found[2])) if found else ()
            return Answer(question, False, language, reason="no_match", competing=competing)
        terms, kind, ranked, _ = found
        competing = tuple(dict.fromkeys(c.paragraph_id for c in ranked))
        if self.config.counted_noun and kind == "how_many":
            ranked = self._counting_first(to_simplified(self._mixed_reading(text, language, terms, ranked[0].text)), ranked)
        if self.config.near_miss:
            # A mixed question's English words are read as the best sentence writes them (director as
            # 厅长 where it names one, else as their likeliest reading): the checks read Chinese offices.
            reading = self._mixed_reading(text, language, terms, ranked[0].text)
            checked = self._holding_the_answer(reading, kind, terms, ranked)
            if checked is None:
                related = next((c for c in ranked if c.count == 1), ranked[0])
                return Answer(
                    question, False, language, reason="not_stated", related=self._alternative(related), competing=competing
                )
            ranked = checked
        best = ranked[0]
        article, paragraph = self._entries[best.paragraph_id]
        choice, gate = self.highlight(ranked, kind, text, terms)
        highlight = choice.text if choice.text and self._shows(language, choice, gate) else None
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

    def _search(self, text: str, language: str) -> tuple[list[QueryTerm], str, list[Candidate], bool] | None:
        """The question's terms, its kind, the competing candidates, best first, and whether the best
        paragraph holds enough of the question (``min_coverage``) to answer from; None when nothing is
        found."""
        terms = self.query_terms(text, language)
        if not terms:
            return None
        kind = self._question_kind(text, language, terms)
        ranked = self.rank_sentences(text, language, terms, kind)
        if not ranked:
            return None
        if language == "en":
            if self.config.english_names_first:
                ranked = self._naming_paragraphs_first(terms, ranked)
            # A name translates exactly (Hebei is 河北 wherever it is written), and a word no article holds
            # any reading of (hotline) names what the articles never mention; another word's readings
            # are guesses a paraphrase misses ("rolled out" for 部署): the first two say more when missing.
            held = self.matcher.coverage(terms, ranked[0].paragraph_id, name_weight=self.config.english_name_weight)
            return terms, kind, ranked, held >= self.config.min_coverage_english
        # The floor reads a common word (可以, 已经) the paragraph lacks as saying little: the question's
        # framing, not the fact it asks for.
        held = self.matcher.coverage(terms, ranked[0].paragraph_id, self.common_words, weighed_readings=self.config.mixed_english)
        return terms, kind, ranked, held >= self.config.min_coverage

    def _naming_paragraphs_first(self, terms: Sequence[QueryTerm], ranked: list[Candidate]) -> list[Candidate]:
        """``ranked`` with the sentences that name what an English question names (Handan: 邯郸) in a
        clause about the rest of the question first, when the best sentence's paragraph does not
        write the names. A name's reading is exact, so a paragraph without it is about something else;
        a sentence listing many cities is about the one whose clause holds at least half of the
        question's other words (邯郸市及时公开曝光查处的非法社会组织名单 for "How did Handan deal
        with the illegal groups"), not about one named beside other facts. Only a name's likely
        readings count (China's loose 中 is written almost anywhere)."""
        names = [[a for a, w in term.alternatives if w >= NAME_READING_WEIGHT] for term in terms if term.name]
        names = [readings for readings in names if readings]
        others = [term for term in terms if not term.name and term.alternatives]
        if not names or not others:
            return ranked
        holds = self.matcher.holds
        if all(any(holds(a, *self.matcher.paragraph_words(ranked[0].paragraph_id).whole, True) for a in readings) for readings in names):
            return ranked

        def about_the_names(clause: str) -> bool:
            if not all(any(holds(a, frozenset(), clause, True) for a in readings) for readings in names):
                return False
            held = sum(any(holds(a, frozenset(), clause, True) for a, _ in term.alternatives) for term in others)
            return 2 * held >= len(others)

        naming = [c for c in ranked if any(about_the_names(clause) for clause in _CLAUSES.split(normalise(c.text)))]
        return [*naming, *(c for c in ranked if all(c is not n for n in naming))] if naming else ranked

    @cached_property
    def common_words(self) -> "CommonWords | None":
        """How common each word is in Chinese at large (jieba's dictionary), for the coverage floor;
        None when the setting is off."""
        if not self.config.common_words:
            return None
        low, high, least = self.config.common_word_idf
        return CommonWords(dictionary_frequency, float(dictionary_total()), low, high, least)

    def _holding_the_answer(
        self, text: str, kind: str, terms: Sequence[QueryTerm], ranked: list[Candidate]
    ) -> list[Candidate] | None:
        """``ranked`` with a sentence nearly as good as the best first when it holds the kind of answer
        asked for and the best does not; None for a near miss, whose best sentence is only related."""
        from retrieval.near_miss import KIND_MARGIN, PREFERRED_KINDS, missing_answer, names_place_or_office

        if self._names_a_missing_thing(terms, ranked[0].paragraph_id):
            return None
        known = self.index.term_ids.__contains__
        # The checks' word lists (时期, 时候, 哪几 ...) are Simplified: they read the question and the
        # sentence in Simplified characters, or a Traditional 時期 would hold no time. (Only the script
        # is changed: the checks read punctuation as written, 后， with a full-width comma.)
        asked = to_simplified(text)
        # The checks read an article's text (a whole article decoded and normalised) only for the places
        # and offices a question names: for any other question they find the same without it.
        article_text = self._article_text if names_place_or_office(asked, known) else (lambda paragraph_id: "")
        best = ranked[0]
        close = [s for s in ranked[1:] if s.score >= best.score - KIND_MARGIN]
        for candidate in [best, *close]:
            if not missing_answer(asked, kind, to_simplified(candidate.text), article_text(candidate.paragraph_id), known, PREFERRED_KINDS):
                return [candidate, *(s for s in ranked if s is not candidate)]
        why = missing_answer(asked, kind, to_simplified(best.text), article_text(best.paragraph_id), known)
        if (
            self.config.place_articles
            and kind in PREFERRED_KINDS
            and missing_answer(asked, kind, "", article_text(best.paragraph_id), known, ()) == "place"
        ):
            # The best sentence's article is about another place than the one asked about: a further
            # sentence from an article whose title names it (the article is about that place), holding
            # the kind of answer asked for, beats it. Only a typed question (how many, when, who) can
            # show that a sentence holds its answer: for any other, the other article may only be
            # about the place, and the near-miss check decides.
            for candidate in ranked[1:]:
                title = normalise(self._entries[candidate.paragraph_id][0].title)
                if missing_answer(asked, kind, "", title, known, ()) == "place":
                    continue
                if not missing_answer(asked, kind, to_simplified(candidate.text), article_text(candidate.paragraph_id), known, PREFERRED_KINDS):
                    return [candidate, *(s for s in ranked if s is not candidate)]
        if why is None and kind == "who" and self._asks_an_unwritten_office(asked, best):
            why = "office"
        if why is not None and self._near_miss_likely(why, asked, terms, ranked):
            return None
        return ranked

    @staticmethod
    def _counting_first(asked: str, ranked: list[Candidate]) -> list[Candidate]:
        """``ranked`` with the first sentence of the best one's paragraph that counts the noun a
        how-many question counts (多少个目标: 24项个性目标) first, when the best sentence does not: a
        paragraph's sentence on the question's topic may hold a count of something else (一个时期)."""
        from retrieval.near_miss import counted_noun, counts_the_noun

        noun = counted_noun(asked)
        best = ranked[0]
        if noun is None or counts_the_noun(best.text, noun):
            return ranked
        counting = next((c for c in ranked if c.paragraph_id == best.paragraph_id and counts_the_noun(c.text, noun)), None)
        return ranked if counting is None else [counting, *(c for c in ranked if c is not counting)]

    def _names_a_missing_thing(self, terms: Sequence[QueryTerm], paragraph_id: int) -> bool:
        """Whether an English question names something (a capitalised word: Guangdong, Hebei) whose
        readings the paragraph's article never writes. A name translates exactly, so the article is
        about something else; a name the dictionary cannot read (a transliteration it lacks) says
        nothing either way."""
        names = [term for term in terms if term.name and term.alternatives]
        if not names:
            return False
        article = self._article_text(paragraph_id)
        return any(not any("".join(alternative) in article for alternative, _ in term.alternatives) for term in names)

    def _near_miss_likely(self, why: str, asked: str, terms: Sequence[QueryTerm], ranked: Sequence[Candidate]) -> bool:
        """Whether what the near-miss checks found missing (``why``: "kind", "place", "office") more
        likely means the articles do not say than that the checks read the sentence too narrowly.

        A question asking for a fact the article lacks names that fact in words the article lacks
        (结束, 举报电话), so its best paragraph holds little of it; one whose every word the paragraph
        holds is about what that paragraph says, and an answer of an unlisted form (战国, 元宵节, 七月初十)
        is likelier than a missing one: a missing kind of answer counts only below
        ``near_miss_max_coverage``. A place the answer's article lacks counts when another competing
        article is about it (its title names it: 陕西 asked, 海南's article found, 陕西's competing), not
        when the place is only context the question's writer added (全台湾, 欧洲), unless no article names
        that place at all (广东 asked of articles on other provinces) and the paragraph holds little else."""
        if not self.config.near_miss_confidence:
            return True
        if why == "kind":
            return self.coverage(terms, ranked[0].paragraph_id) < self.config.near_miss_max_coverage
        # "measure" (every number of the sentence counts something else: 多少元 against 2倍) needs no
        # such check: the sentence was read, and it holds no count of what was asked.
        if why == "place":
            from retrieval.near_miss import missing_answer, places_never_named

            known = self.index.term_ids.__contains__
            if self._mostly_missing_a_place(places_never_named(asked, known), terms, ranked[0].paragraph_id):
                return True
            own = self._entries[ranked[0].paragraph_id][0].id
            rivals = {article.id: article for article in (self._entries[c.paragraph_id][0] for c in ranked) if article.id != own}
            # The place check read against a rival's title alone: it passes when the title names them all.
            return any(missing_answer(asked, "what", "", normalise(a.title), known) != "place" for a in rivals.values())
        return True

    def _asks_an_unwritten_office(self, asked: str, best: Candidate) -> bool:
        """Whether a who-question names an office of administration (厅长, 主任, 书记) that the best
        sentence's article writes nowhere, in either rank, and the sentence names nobody: the article
        cannot say who holds it. (A who-question is otherwise never refused for lack of a name: its
        answers are often names jieba does not tag. Other titles are left out: a text names an emperor
        as 汉明帝 or 奥古斯都, never writing 皇帝.)"""
        from retrieval.near_miss import holds_kind, question_offices

        offices = [o for o in question_offices(normalise(asked)) if o.endswith(("长", "主任", "主席", "书记"))]
        if not offices or holds_kind(to_simplified(best.text), "who", asked):
            return False
        article = self._article_text(best.paragraph_id)
        return any(office.removeprefix("副") not in article for office in offices)

    def _mostly_missing_a_place(self, places: Sequence[str], terms: Sequence[QueryTerm], paragraph_id: int) -> bool:
        """Whether places no article names (``places``) are most of what the paragraph lacks of the
        question: the same question asked of another province. Where the paragraph also lacks other
        words as heavy, the question's writer may only have misnamed the place (桃山 for 桃城 among
        桃仔尾 and 桃之尾尖 the paragraph writes), and the near-miss check is not trusted."""
        if not places:
            return False
        coverage = self.coverage(terms, paragraph_id)
        if coverage >= 1.0 or coverage >= self.config.near_miss_max_coverage:
            return False
        lacked = 1.0 - coverage
        weights = {term.word: self.matcher.term_weight(term) for term in terms}
        total = sum(weights.values()) or 1.0
        share = sum(w for word, w in weights.items() if any(word == place or (len(word) >= 2 and place.startswith(word)) for place in places)) / total
        return share >= lacked / 2

    def query_terms(self, text: str, language: str) -> list[QueryTerm]:
        """The question's words sentences are matched by: its content words, or for English their
        CC-CEDICT translations."""
        if language == "en":
            return self._english_terms(text)
        cut, stopwords = self._question_words(text), self.tokenizer.stopwords
        if self.config.mixed_english:
            # English words typed together inside a Chinese question are one phrase ("room temperature"
            # is 室温, not a room and a temperature), read as an English question's phrases are.
            cut = english_phrases_joined(cut, self.vocabulary.holds)
        words = asked_words(cut, stopwords) if self.config.colloquial else [w for w in cut if w not in stopwords]
        if self.config.shared_characters:
            words = [part for word in words for part in known_parts(word, self.vocabulary)]
        # jieba leaves a name it does not know in single characters (史/继/偕): guessing words for
        # each of them would only add noise.
        pieces = name_pieces(cut, stopwords)
        terms: list[QueryTerm] = []
        for word in words:
            if self.config.mixed_english and english_words(word) == word.split() and not self.vocabulary.holds(word):
                terms.extend(self._mixed_english_terms(word))
            else:
                terms.append(self._chinese_term(word) if word not in pieces else QueryTerm(word, (((word,), 1.0),)))
        return terms

    def _mixed_english_terms(self, english: str) -> list[QueryTerm]:
        """The terms of an English word or phrase inside a Chinese question: its translations; none for
        an English question word (who, when: the question's kind is read from it) or other stopword;
        the word itself when the dictionary has no reading of it."""
        terms = []
        for term in self._english_terms(english):
            if not term.alternatives:
                terms.append(QueryTerm(term.word, (((term.word,), 1.0),)))
            elif offices := self._office_readings(term.word):
                # The dictionary reads an office loosely (director: 主任, 导演, 总监); the article names
                # it by its own title (厅长, 局长).
                terms.append(QueryTerm(term.word, tuple(dict([*term.alternatives, *offices]).items()), True, term.name))
            else:
                terms.append(term)
        return terms

    def _question_kind(self, text: str, language: str, terms: Sequence[QueryTerm]) -> str:
        """``question_type`` of the question, a mixed one's English question words read as Chinese ones."""
        return question_type(self._mixed_reading(text, language, terms))

    def _mixed_reading(self, text: str, language: str, terms: Sequence[QueryTerm], sentence: str = "") -> str:
        """A mixed question with its English words read in Chinese (``chinese_reading``), as ``sentence``
        writes them where it does, and its English question words as Chinese ones; any other question
        as it is."""
        if not self.config.mixed_english or language == "en" or not english_words(text):
            return text
        return question_words_in_chinese(chinese_reading(text, terms, normalise(sentence)))

    def _read_as(self, term: QueryTerm, language: str, sentence: str) -> tuple[tuple[tuple[str, ...], float], ...]:
        """The readings of a question word the highlight weighs the sentence's clauses by: all of them,
        but for a mixed question's English word only the one the sentence holds (else its likeliest),
        as its Chinese words would be: a dozen loose readings would make every clause weigh little."""
        if not (term.translated and term.alternatives and self.config.mixed_english and language != "en"):
            return term.alternatives
        written = normalise(sentence)
        return next(((a,) for a in term.alternatives if "".join(a[0]) in written), term.alternatives[:1])

    def _office_readings(self, english: str) -> list[tuple[tuple[str, ...], float]]:
        """For an English word naming an office's holder (director, minister), the corpus' titles that
        word can name (``english_offices`` in the cues: a director is a 厅长, 局长 or 主任; never a
        deputy's), at ``OFFICE_READING_WEIGHT``: the same titles the highlight takes its holder by."""
        office = english_office(english.split())
        if office is None or office[0]:
            return []
        heads = (t for t in load_cues().titles if not t.startswith("副") and t.endswith(office[1]))
        return [((title,), OFFICE_READING_WEIGHT) for title in heads if self._known(title)]

    def _chinese_term(self, word: str) -> QueryTerm:
        """A Chinese question's word: itself, and where the corpus does not hold it, the corpus words
        it may stand for (shared characters, abbreviations)."""
        itself = QueryTerm(word, (((word,), 1.0),))
        if not (self.config.shared_characters or self.config.abbreviations):
            return itself
        vocabulary = self.vocabulary
        if vocabulary.holds(word):
            if self.config.shared_characters and (forms := place_forms(word, vocabulary)):
                return QueryTerm(word, (((word,), 1.0), *((e.words, e.weight) for e in forms)))
            # A single character the corpus mostly writes inside words (会 in 会议) stands for them too.
            if not (self.config.shared_characters and len(word) == 1 and vocabulary.mostly_inside_words(word)):
                return itself
            alternatives = [((word,), 1.0)] + [(e.words, e.weight) for e in shared_character_words(word, vocabulary, dictionary_tag)]
            return QueryTerm(word, tuple(dict(alternatives).items()))
        expansions = []
        if self.config.abbreviations:
            expansions += abbreviation_words(word, vocabulary)
        if self.config.shared_characters:
            expansions += shared_character_words(word, vocabulary, dictionary_tag)
        alternatives = [((word,), 1.0)] + [(e.words, e.weight) for e in expansions]
        return QueryTerm(word, tuple(dict(alternatives).items()))

    @property
    def vocabulary(self) -> Vocabulary:
        """The corpus' words, for matching question words it does not hold; built on first use."""
        if self._vocabulary is None:
            self._vocabulary = Vocabulary(self.index.term_ids, self.index.document_frequency, self.index)
        return self._vocabulary

    def _corrected(self, text: str) -> str:
        """``text`` with pinyin-input typos replaced by the corpus words that sound the same."""
        from retrieval.spelling import SoundTable, correct_homophones

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
        kind = self._question_kind(text, language, terms)
        return self.sentence_candidates(text, language, terms, kind) if terms else []

    def sentence_candidates(self, text: str, language: str, terms: Sequence[QueryTerm], kind: str) -> list[Candidate]:
        """The sentences of the best paragraphs as feature vectors, unscored, in corpus order within
        paragraphs and paragraphs best first: what the ranker scores (and the fitting tool learns from)."""
        ids, scores, passages = self._closest(text, language, terms, self.config.top_paragraphs)
        if not ids:
            return []
        scale = self.config.english_paragraph_scale if language == "en" else 1.0
        # The features that read the question's text (its character pairs, the words a sentence adds)
        # read a mixed question's English words as their likeliest Chinese readings.
        text = self._mixed_reading(text, language, terms)
        return sentence_candidates(self.matcher, self.config, text, terms, kind, ids, scores, passages, scale)

    def rank_sentences(self, text: str, language: str, terms: Sequence[QueryTerm], kind: str) -> list[Candidate]:
        """``sentence_candidates`` scored by the ranker, best first (ties keep corpus order)."""
        score = self.ranker.score
        scored = [
            Candidate(c.paragraph_id, c.index, c.text, c.features, score(c.features), c.count)
            for c in self.sentence_candidates(text, language, terms, kind)
        ]
        scored.sort(key=lambda c: -c.score)
        return scored

    def highlight(
        self, ranked: Sequence[Candidate], kind: str, text: str, terms: Sequence[QueryTerm]
    ) -> tuple[HighlightChoice, tuple[float, ...]]:
        """The span of the best candidate's quote that answers the question (if one is certain), and
        the features the ranker's gate judges its confidence by (``GATE_FEATURES``; empty without a span)."""
        best = ranked[0]
        language = detect_language(text)
        weights = [("".join(alt), self.matcher.term_idf(alt)) for term in terms for alt, _ in self._read_as(term, language, best.text)]
        # The finders read the question's words around the answer: a mixed question's English words
        # are read as the sentence writes them.
        text = self._mixed_reading(text, language, terms, best.text)
        choice = highlight_choice(best.text, kind, text, weights)
        if choice.text is None:
            return choice, ()
        end = best.index + best.count
        others = (c.score for c in ranked[1:] if c.paragraph_id != best.paragraph_id or c.index >= end or c.index + c.count <= best.index)
        lead = best.score - next(others, best.score - 2.0)
        return choice, (min(max(lead, 0.0) / 5.0, 1.0), 1.0 if best.count > 1 else 0.0, *choice.features)

    def _shows(self, language: str, choice: HighlightChoice, gate: tuple[float, ...]) -> bool:
        """Whether a found highlight is shown: the gate judges a Chinese question's. An English question's
        (the gate does not judge them) must at least be tied to the question's words in the quote
        (``HighlightChoice.tied``): the gate shows none that is not on CMRC's or DRCD's highlights, and
        without the tie an English who-question bolds whatever jieba tags a name in a quote about
        something else (高水平, a "high level", tagged as a person)."""
        if self._gated(language):
            return self.ranker.shows(gate)
        return not self.config.highlight_gate or choice.tied

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
        kind = self._question_kind(text, language, terms)
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
            alternative = self._alternative(sentence)
            if article.id == answer_article:
                own.append(alternative)
            elif article.id in seen_articles:
                further.append(alternative)
            else:
                seen_articles.add(article.id)
                firsts.append(alternative)
        return tuple((firsts + own + further)[: self.config.max_alternatives])

    def _alternative(self, candidate: Candidate) -> Alternative:
        article = self._entries[candidate.paragraph_id][0]
        return Alternative(
            candidate.text, article.title, article.id, round(candidate.score, 6), candidate.paragraph_id, candidate.index, article.source
        )

    def _article_text(self, paragraph_id: int) -> str:
        """The normalised text of the paragraph's article: title, headings and all its paragraphs."""
        return self._normalised_article(self._entries[paragraph_id][0].number)

    def _read_article_text(self, number: int) -> str:
        article = self.corpus.article(number)
        paragraphs = self.corpus.article_paragraphs(article.number)
        parts = [article.title] + [part for p in paragraphs for part in (p.heading, p.text) if part]
        return normalise("\n".join(parts))

    def _closest(
        self, text: str, language: str, terms: Sequence[QueryTerm], k: int
    ) -> tuple[list[int], list[float], dict[tuple[int, int], float]]:
        """The k best paragraphs (ids, scores) and, for each of their sentences, the best score of a
        document holding it. A paragraph scores as its best document: itself or one of its passages."""
        # Passages of one paragraph may fill the first places: ask for more documents until k paragraphs
        # are found or the index has no more.
        wanted = k if len(self.documents) == len(self._entries) else k * 4
        query = None if language == "en" else self.tokenizer.index_terms(self._question_words(text))
        # Words the corpus lacks add the scores of their best alternative to the question's own; the
        # loosest guesses (one character of two changed) only help pick the sentence.
        expanded = [
            QueryTerm(term.word, tuple((a, w) for a, w in term.alternatives if w >= 0.5), term.translated)
            for term in terms
            if len(term.alternatives) > 1 or term.translated
        ]
        while True:
            if query is None:
                doc_ids, doc_scores = self._translated_closest(terms, wanted)
            elif expanded:
                doc_ids, doc_scores = self._translated_closest(expanded, wanted, query)
            else:
                doc_ids, doc_scores = self.index.closest_docs(query, wanted)
            paragraph_of = self.documents.paragraph_of
            paragraphs = {paragraph_of(d) for d, s in zip(doc_ids, doc_scores) if s > 0}
            # A last score of 0 means no further document holds a question word: asking for more finds none.
            if len(paragraphs) >= k or len(doc_ids) < wanted or wanted >= len(self.documents) or doc_scores[-1] <= 0:
                break
            wanted *= 4
        best: dict[int, float] = {}
        passages: dict[tuple[int, int], float] = {}
        for doc_id, score in zip(doc_ids, doc_scores):
            if score <= 0:
                continue
            paragraph_id = self.documents.paragraph_of(doc_id)
            if paragraph_id not in best:
                if len(best) == k:
                    continue
                best[paragraph_id] = score
            if doc_id == paragraph_id:  # the whole paragraph, read through the entries kept decoded
                first, last = 0, len(self._entries[paragraph_id][1].sentences) - 1
            else:
                document = self.documents[doc_id]
                first, last = document.first, document.last
            for sentence in range(first, last + 1):
                passages.setdefault((paragraph_id, sentence), score)
        return list(best), list(best.values()), passages

    def _english_terms(self, text: str) -> list[QueryTerm]:
        from retrieval.english import Phrasing, load_dictionary

        if self._dictionary is None:
            self._dictionary = load_dictionary(self.cache_dir)
        terms = []
        names = english_names(text)
        config = self.config
        phrasing = Phrasing(config.english_hyphenated, config.english_opening_phrases, config.english_how_words, config.english_shared_heads)
        for word, translations in self._dictionary.translate(text, config.english_translations, self._known, config.english_word_forms, phrasing):
            alternatives = tuple(
                (tuple(tokens), weight)
                for chinese, weight in translations
                if (tokens := self.tokenizer.content_words(chinese))
            )
            terms.append(QueryTerm(word, alternatives, translated=True, name=any(w in names for w in word.split())))
        return terms

    def _known(self, chinese: str) -> bool:
        """Whether the index holds each content word of ``chinese``, as a word or (two characters)
        inside longer words."""
        ids = self.index.term_ids
        words = self.tokenizer.content_words(chinese)
        return bool(words) and all(word in ids or (len(word) == 2 and BIGRAM_MARK + word in ids) for word in words)

    def _translated_closest(self, terms: Sequence[QueryTerm], k: int, base: Sequence[str] | None = None) -> tuple[list[int], list[float]]:
        """Document scores summed over the question's words (added to ``base``'s, the question's own
        tokens, if given), each word scoring by its best weighted reading (wrong readings of a word
        then cost little)."""
        groups = [[(self.tokenizer.tokens("".join(words)), weight) for words, weight in term.alternatives] for term in terms]
        return self.index.closest_combined(groups, k, base)
