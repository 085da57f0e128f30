"""Measuring the answer pipeline: a question file of our own, and the CMRC 2018 reading-comprehension
set beside a naive baseline.

A question file is YAML, a list of entries::

    - q: 浙江关停了多少家违规网吧？
      must: [120家]          # strings the quote must hold
      article: hebei-...      # optional: the article id (or a part of its title) the quote must come from
    - q: 下周上海会下雨吗？
      answered: false        # the corpus cannot answer it: the right reply is a refusal

Entries are grouped by the question's language (zh, zh-Hant, en), and the unanswerable ones form the
group "no-answer".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml

from corpus.model import Article, Corpus, Paragraph
from corpus.sentences import split_sentences
from retrieval.answer import Answer, Answerer
from retrieval.question import detect_language

GROUPS = ("zh", "zh-Hant", "en", "no-answer")


class QuestionFileError(ValueError):
    """A question file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Question:
    q: str
    must: tuple[str, ...] = ()
    article: str | None = None
    answerable: bool = True

    @property
    def group(self) -> str:
        return detect_language(self.q) if self.answerable else "no-answer"


@dataclass(frozen=True)
class Outcome:
    question: Question
    answer: Answer
    correct: bool


@dataclass(frozen=True)
class GroupScore:
    group: str
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def load_questions(path: str | Path) -> list[Question]:
    """Read a question file; raises QuestionFileError naming the file and the bad entry."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = " ".join(str(exc).split())  # one line, even for YAML's multi-line messages
        raise QuestionFileError(f"{path}: cannot read questions: {reason}") from None
    if not isinstance(data, list) or not data:
        raise QuestionFileError(f"{path}: expected a non-empty list of questions")
    questions = []
    unfilled = []  # entries with nothing to judge an answer by yet (as `qabot unanswered` writes them)
    for number, entry in enumerate(data, 1):
        if not isinstance(entry, dict) or not isinstance(entry.get("q"), str):
            raise QuestionFileError(f"{path}: entry {number}: needs a 'q' string")
        must = entry.get("must") or []
        if isinstance(must, str):
            must = [must]
        answerable = entry.get("answered", True) is not False
        if answerable and not must and not entry.get("article"):
            unfilled.append(number)
            continue
        article = entry.get("article")
        questions.append(Question(entry["q"], tuple(str(m) for m in must), str(article) if article else None, answerable))
    if unfilled:
        shown = ", ".join(map(str, unfilled[:10])) + (", ..." if len(unfilled) > 10 else "")
        raise QuestionFileError(
            f"{path}: {len(unfilled)} of {len(data)} entries not filled in yet (entry {shown}): give each 'must' "
            "(strings the answer's sentence must hold) or 'article' (a part of its title), or 'answered: false' "
            "if the articles should not answer it; or delete the entry"
        )
    return questions


def judge(question: Question, answer: Answer) -> bool:
    """Right when an unanswerable question is refused, or when the quote holds every ``must`` string
    and comes from the named article (matched by id or by a part of its title)."""
    if not question.answerable:
        return not answer.answered
    if not answer.answered or answer.quote is None:
        return False
    if question.article and question.article != answer.article_id and question.article not in (answer.title or ""):
        return False
    return all(m in answer.quote for m in question.must)


def run_questions(answerer: Answerer, questions: Sequence[Question]) -> list[Outcome]:
    outcomes = []
    for question in questions:
        answer = answerer.ask(question.q)
        outcomes.append(Outcome(question, answer, judge(question, answer)))
    return outcomes


def group_scores(outcomes: Sequence[Outcome]) -> list[GroupScore]:
    """Accuracy per group, in GROUPS order, for the groups present."""
    scores = []
    for group in GROUPS:
        members = [o for o in outcomes if o.question.group == group]
        if members:
            scores.append(GroupScore(group, sum(o.correct for o in members), len(members)))
    return scores


def answerable_refused(outcomes: Sequence[Outcome]) -> int:
    return sum(1 for o in outcomes if o.question.answerable and not o.answer.answered)


# --- CMRC 2018 -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CmrcQuestion:
    question: str
    answers: tuple[str, ...]
    paragraph_id: int  # the gold context's paragraph id


@dataclass(frozen=True)
class CmrcScore:
    name: str
    questions: int
    p_at_1: float  # the quote's paragraph is the gold context
    p_at_5: float  # the gold context is among the five best paragraphs
    s_at_1: float  # the quote holds a gold answer
    refused: int = 0


def load_cmrc(path: str | Path) -> tuple[Corpus, list[CmrcQuestion]]:
    """A SQuAD-format CMRC file as a corpus (every context one single-paragraph article, titled with
    its CMRC title, split into sentences by the corpus' own rule) and its questions."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    articles, questions = [], []
    for entry in data["data"]:
        for context in entry["paragraphs"]:
            text = context["context"].strip()
            paragraph = Paragraph(context["id"], 0, None, text, split_sentences(text))
            articles.append(Article(context["id"], entry.get("title") or context["id"], (paragraph,)))
            for qa in context["qas"]:
                answers = tuple(a["text"].strip() for a in qa["answers"] if a["text"].strip())
                questions.append(CmrcQuestion(qa["question"], answers, len(articles) - 1))
    return Corpus(tuple(articles), (str(path),)), questions


def score_cmrc(answerer: Answerer, questions: Sequence[CmrcQuestion], name: str = "ours") -> CmrcScore:
    p1 = p5 = s1 = refused = 0
    for q in questions:
        answer = answerer.ask(q.question)
        language = detect_language(q.question)
        top5, _ = answerer.closest_paragraphs(q.question, language, answerer.query_terms(q.question, language), 5)
        p5 += q.paragraph_id in top5
        if not answer.answered:
            refused += 1
            continue
        p1 += answer.paragraph_id == q.paragraph_id
        s1 += any(a in answer.quote for a in q.answers)
    n = len(questions) or 1
    return CmrcScore(name, len(questions), p1 / n, p5 / n, s1 / n, refused)


def naive_baseline(corpus: Corpus, questions: Sequence[CmrcQuestion]) -> CmrcScore:
    """rank-bm25 over ``jieba.lcut`` of each paragraph, and the top paragraph's sentence sharing the most
    tokens with the question: the floor the pipeline must clear."""
    import jieba
    from rank_bm25 import BM25Okapi

    paragraphs = [p for _, p in corpus.paragraphs()]
    bm25 = BM25Okapi([jieba.lcut(p.text) for p in paragraphs])
    p1 = p5 = s1 = 0
    for q in questions:
        tokens = jieba.lcut(q.question)
        scores = bm25.get_scores(tokens)
        ranked = sorted(range(len(paragraphs)), key=lambda i: -scores[i])
        p1 += ranked[0] == q.paragraph_id
        p5 += q.paragraph_id in ranked[:5]
        wanted = set(tokens)
        quote = max(paragraphs[ranked[0]].sentences, key=lambda s: len(wanted & set(jieba.lcut(s))))
        s1 += any(a in quote for a in q.answers)
    n = len(questions) or 1
    return CmrcScore("naive baseline", len(questions), p1 / n, p5 / n, s1 / n)
