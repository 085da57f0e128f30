"""Reading-comprehension sets in SQuAD format (v1.1 and v2.0; CMRC 2018 and DRCD as published), read
as a corpus plus questions, and the answer pipeline scored on them beside a naive baseline.

A SQuAD file is ``{"data": [{"title": ..., "paragraphs": [{"context": ..., "qas": [{"question": ...,
"answers": [{"text": ...}], "is_impossible": false}]}]}]}``; ``id`` fields are optional. By default every
context becomes an article of one paragraph (titled with its SQuAD article's title); ``whole_articles``
keeps each SQuAD article whole, one article with many paragraphs; ``joined`` goes further and makes
each article one long paragraph (how long documents such as policy texts arrive). A v2.0 question with
``is_impossible`` is a no-answer question: the right reply is a refusal.

Halves: ``half="even"`` keeps the questions of the even-numbered SQuAD articles (0, 2, 4, ... in file
order), ``"odd"`` the others; the corpus stays whole, so retrieval is as hard as on the whole set. Fit
or tune on one half, report the other.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from corpus.model import Article, Corpus, Paragraph
from corpus.sentences import split_sentences

HALVES = ("even", "odd")


class ReadingSetError(ValueError):
    """A file that is not a usable SQuAD-format set; the message names the file and the place."""


@dataclass(frozen=True)
class ReadingQuestion:
    question: str
    answers: tuple[str, ...]  # empty for a no-answer (v2.0 is_impossible) question
    paragraph_id: int  # the paragraph (in corpus order) its context became
    article_index: int  # position of its SQuAD article in the file: the halves split on it

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass(frozen=True)
class ReadingSet:
    name: str
    corpus: Corpus
    questions: tuple[ReadingQuestion, ...]
    articles: int  # SQuAD articles in the file
    contexts: int
    skipped: int = 0  # questions with no text, left out

    def first(self, limit: int | None) -> "ReadingSet":
        """Only the first ``limit`` questions (None: all): a quick sample for tests."""
        if limit is None:
            return self
        return ReadingSet(f"{self.name} (first {limit})", self.corpus, self.questions[:limit], self.articles, self.contexts, self.skipped)

    def half(self, half: str | None) -> "ReadingSet":
        """The questions of the even- or odd-numbered articles (None: all of them)."""
        if half is None:
            return self
        if half not in HALVES:
            raise ValueError(f"half must be one of {', '.join(HALVES)}, not {half!r}")
        parity = HALVES.index(half)
        kept = tuple(q for q in self.questions if q.article_index % 2 == parity)
        return ReadingSet(f"{self.name} ({half} half)", self.corpus, kept, self.articles, self.contexts, self.skipped)


def load_reading_set(path: str | Path, whole_articles: bool = False, joined: bool = False) -> ReadingSet:
    """Read a SQuAD-format file; raises ReadingSetError naming the file and the bad entry."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ReadingSetError(f"{path}: cannot read a SQuAD-format JSON file: {exc}") from None
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ReadingSetError(f"{path}: expected a JSON object with a non-empty 'data' list (SQuAD format)")
    articles: list[Article] = []
    questions: list[ReadingQuestion] = []
    paragraph_id = contexts = skipped = 0
    for a, entry in enumerate(entries):
        where = f"{path}: data[{a}]"
        contexts_of = entry.get("paragraphs") if isinstance(entry, dict) else None
        if not isinstance(contexts_of, list):
            raise ReadingSetError(f"{where}: needs a 'paragraphs' list")
        title = _title(entry.get("title"), a)
        texts, asked = [], []
        for c, context in enumerate(contexts_of):
            if not isinstance(context, dict) or not isinstance(context.get("context"), str):
                raise ReadingSetError(f"{where}.paragraphs[{c}]: needs a 'context' string")
            text = context["context"].strip()
            if not text:
                continue  # nothing to quote from, nothing a question could be about
            contexts += 1
            texts.append(text)
            asked.append([_question(qa, f"{where}.paragraphs[{c}].qas[{q}]") for q, qa in enumerate(_qas(context, where, c))])
        if not texts:
            continue
        if joined:
            texts, asked = ["".join(texts)], [[q for qs in asked for q in qs]]
        if whole_articles or joined:
            article_id = f"a{a}"
            paragraphs = tuple(Paragraph(article_id, i, None, t, split_sentences(t)) for i, t in enumerate(texts))
            articles.append(Article(article_id, title, paragraphs))
        else:
            for c, text in enumerate(texts):
                article_id = f"a{a}-c{c}"
                articles.append(Article(article_id, title, (Paragraph(article_id, 0, None, text, split_sentences(text)),)))
        for qs in asked:
            questions.extend(ReadingQuestion(q, answers, paragraph_id, a) for q, answers in qs if q)
            skipped += sum(1 for q, _ in qs if not q)
            paragraph_id += 1
    if not questions:
        raise ReadingSetError(f"{path}: holds no questions")
    return ReadingSet(path.name, Corpus(tuple(articles), (str(path),)), tuple(questions), len(entries), contexts, skipped)


def _title(title: object, position: int) -> str:
    """SQuAD titles are Wikipedia page names (Super_Bowl_50): underscores are spaces."""
    return str(title).replace("_", " ").strip() if title else f"article {position + 1}"


def _qas(context: dict, where: str, position: int) -> list:
    qas = context.get("qas", [])
    if not isinstance(qas, list):
        raise ReadingSetError(f"{where}.paragraphs[{position}]: 'qas' must be a list")
    return qas


def _question(qa: object, where: str) -> tuple[str, tuple[str, ...]]:
    if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
        raise ReadingSetError(f"{where}: needs a 'question' string")
    answers = qa.get("answers") or []
    if not isinstance(answers, list) or not all(isinstance(x, dict) and isinstance(x.get("text"), str) for x in answers):
        raise ReadingSetError(f"{where}: 'answers' must be a list of objects with a 'text' string")
    if qa.get("is_impossible"):
        return qa["question"].strip(), ()
    texts = tuple(dict.fromkeys(t for x in answers if (t := x["text"].strip())))
    if not texts:
        raise ReadingSetError(f"{where}: an answerable question needs an answer text (or is_impossible: true)")
    return qa["question"].strip(), texts


# --- scoring --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What a system answered to one question, as the scores need it."""

    answered: bool
    quote: str | None = None
    paragraph_id: int | None = None
    highlight: str | None = None
    competing: tuple[int, ...] = ()  # paragraphs whose sentences competed, best first
    sentences: int = 1  # how many sentences the quote runs over


@dataclass
class ReadingScore:
    """The figures of one system on one set; shares are of the answerable questions unless named."""

    name: str
    answerable: int = 0
    unanswerable: int = 0
    right: int = 0  # the quote holds a gold answer
    paragraph_right: int = 0
    paragraph_in_5: int = 0
    answered: int = 0
    refused: int = 0
    multi_sentence: int = 0  # answers quoting more than one sentence
    highlights: int = 0
    highlights_overlapping: int = 0
    highlights_exact: int = 0
    no_answer_refused: int = 0
    highlighting: bool = True  # the naive baseline never highlights nor refuses
    failures: list[tuple[ReadingQuestion, Reply]] = field(default_factory=list, repr=False)

    def add(self, question: ReadingQuestion, reply: Reply) -> None:
        if not question.answerable:
            self.unanswerable += 1
            self.no_answer_refused += not reply.answered
            if reply.answered:
                self.failures.append((question, reply))
            return
        self.answerable += 1
        self.paragraph_in_5 += question.paragraph_id in reply.competing[:5]
        if not reply.answered or reply.quote is None:
            self.refused += 1
            self.failures.append((question, reply))
            return
        self.answered += 1
        self.paragraph_right += reply.paragraph_id == question.paragraph_id
        right = any(a in reply.quote for a in question.answers)
        self.right += right
        self.multi_sentence += reply.sentences > 1
        if not right:
            self.failures.append((question, reply))
        if reply.highlight:
            self.highlights += 1
            self.highlights_overlapping += highlight_overlaps(reply.quote, reply.highlight, question.answers)
            self.highlights_exact += any(_bare(reply.highlight) == _bare(a) for a in question.answers)

    def figures(self) -> dict[str, float | int | None]:
        n = self.answerable
        figures: dict[str, float | int | None] = {
            "questions": n + self.unanswerable,
            "answerable": n,
            "S@1": _share(self.right, n),
            "P@1": _share(self.paragraph_right, n),
            "P@5": _share(self.paragraph_in_5, n),
            "multi-sentence quotes": _share(self.multi_sentence, self.answered),
            "highlight coverage": _share(self.highlights, self.answered) if self.highlighting else None,
            "highlight precision": _share(self.highlights_overlapping, self.highlights) if self.highlighting else None,
            "highlight exact": _share(self.highlights_exact, self.highlights) if self.highlighting else None,
            "refused answerable": _share(self.refused, n) if self.highlighting else None,
        }
        if self.unanswerable:
            figures["no-answer refused"] = _share(self.no_answer_refused, self.unanswerable) if self.highlighting else None
        return figures


def _share(part: int, whole: int) -> float | None:
    """``part / whole`` to six places: enough that the tables' three places round the true share, not
    an already rounded one (1570 of 1775 is 0.88451, which four places and then three made 0.884).

    >>> _share(1570, 1775), f"{_share(1570, 1775):.3f}", _share(1, 0)
    (0.884507, '0.885', None)
    """
    return round(part / whole, 6) if whole else None


_EDGE_PUNCTUATION = re.compile(r"^[\s\W_]+|[\s\W_]+$", re.UNICODE)


def _bare(text: str) -> str:
    """NFKC, no white space, no punctuation at either end: how a highlight is compared with an answer."""
    return _EDGE_PUNCTUATION.sub("", "".join(unicodedata.normalize("NFKC", text).split()))


def highlight_overlaps(quote: str, highlight: str, answers: Iterable[str]) -> bool:
    """Whether the highlight (its first place in the quote, where the bot marks it) overlaps a place
    where a gold answer stands in the quote.

    >>> highlight_overlaps("他于1958年创建于北京。", "1958年", ["1958年"]), highlight_overlaps("厅长曾锋和副厅长石清理", "石清理", ["曾锋"])
    (True, False)
    """
    start = quote.find(highlight)
    if start < 0:
        return False
    end = start + len(highlight)
    for answer in answers:
        at = quote.find(answer)
        while at >= 0:
            if at < end and start < at + len(answer):
                return True
            at = quote.find(answer, at + 1)
    return False


def single_sentence_ceiling(reading: ReadingSet) -> float | None:
    """Share of the answerable questions whose gold answer lies inside one sentence of its paragraph:
    the most S@1 a one-sentence quote can reach."""
    paragraphs = [p for _, p in reading.corpus.paragraphs()]
    answerable = [q for q in reading.questions if q.answerable]
    inside = sum(
        1 for q in answerable if any(a in s for a in q.answers for s in paragraphs[q.paragraph_id].sentences)
    )
    return _share(inside, len(answerable))


def score_answerer(answerer, reading: ReadingSet, name: str = "ours", keep_failures: bool = False) -> ReadingScore:
    """Ask every question of the set and score the replies."""
    score = ReadingScore(name)
    for question in reading.questions:
        answer = answerer.ask(question.question)
        reply = Reply(
            answered=answer.answered,
            quote=answer.quote,
            paragraph_id=answer.paragraph_id,
            highlight=answer.highlight,
            competing=answer.competing,
            sentences=answer.sentence_count,
        )
        score.add(question, reply)
    if not keep_failures:
        score.failures.clear()
    return score


def score_naive_baseline(reading: ReadingSet, params=None) -> ReadingScore:
    """BM25Okapi over ``jieba.lcut`` of each paragraph, and the top paragraph's sentence sharing the most
    tokens with the question: the floor the pipeline must clear. The ranking is rank-bm25's, computed by
    the project's exact index (``tests/test_index.py`` holds them equal) because rank-bm25 takes minutes
    on a few thousand questions."""
    import jieba

    from retrieval.index import BM25Index, BM25Params

    paragraphs = [p for _, p in reading.corpus.paragraphs()]
    index = BM25Index.build((jieba.lcut(p.text) for p in paragraphs), params or BM25Params())
    sentence_tokens: dict[int, list[set[str]]] = {}
    score = ReadingScore("naive baseline", highlighting=False)
    for question in reading.questions:
        tokens = jieba.lcut(question.question)
        ids, _ = index.closest_docs(tokens, 5)
        top = ids[0]
        if top not in sentence_tokens:
            sentence_tokens[top] = [set(jieba.lcut(s)) for s in paragraphs[top].sentences]
        wanted = set(tokens)
        overlaps = [len(wanted & words) for words in sentence_tokens[top]]
        quote = paragraphs[top].sentences[overlaps.index(max(overlaps))]
        score.add(question, Reply(True, quote, top, None, tuple(ids)))
    score.failures.clear()
    return score


@dataclass(frozen=True)
class ReadingReport:
    name: str
    articles: int
    contexts: int
    paragraphs: int  # in the corpus as built (fewer than contexts when joined)
    skipped: int  # questions with no text
    ceiling: float | None
    systems: tuple[ReadingScore, ...]
    seconds: float

    def as_json(self) -> dict:
        return {
            "file": self.name,
            "articles": self.articles,
            "contexts": self.contexts,
            "paragraphs": self.paragraphs,
            "skipped questions": self.skipped,
            "single-sentence ceiling": self.ceiling,
            "seconds": round(self.seconds, 1),
            "systems": {s.name: s.figures() for s in self.systems},
        }

    def as_text(self) -> str:
        ours = self.systems[0].figures()
        lines = [
            f"{self.name}: {self.articles} articles, {self.contexts} contexts, {self.paragraphs} paragraphs indexed, "
            f"{ours['questions']} questions ({ours['answerable']} answerable"
            + (f"; {self.skipped} without text left out)" if self.skipped else ")"),
            f"single-sentence ceiling {_cell(self.ceiling)}; {self.seconds:.1f} s for our index and answers",
            f"{'':<24}" + "".join(f"{s.name:>16}" for s in self.systems),
        ]
        for key in ours:
            if key in ("questions", "answerable"):
                continue
            lines.append(f"{key:<24}" + "".join(f"{_cell(s.figures().get(key)):>16}" for s in self.systems))
        return "\n".join(lines)


def _cell(value: float | int | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def failure_lines(score: ReadingScore, limit: int | None = None) -> list[str]:
    lines = []
    for question, reply in score.failures[:limit]:
        got = reply.quote if reply.answered else "(refused)"
        gold = " | ".join(question.answers) or "(no answer)"
        lines.append(f"WRONG {question.question} -> {got}  [gold: {gold}]")
    return lines



def evaluate_reading_set(reading: ReadingSet, config, baseline: bool = True, keep_failures: bool = False) -> ReadingReport:
    """Our answers on the set (an index built in memory from its corpus) and the naive baseline's."""
    import time

    from retrieval.answer import Answerer

    started = time.perf_counter()
    ours = score_answerer(Answerer(reading.corpus, config), reading, keep_failures=keep_failures)
    seconds = time.perf_counter() - started
    systems = (ours, score_naive_baseline(reading)) if baseline else (ours,)
    return ReadingReport(
        reading.name, reading.articles, reading.contexts, reading.corpus.paragraph_count, reading.skipped,
        single_sentence_ceiling(reading), systems, seconds,
    )
