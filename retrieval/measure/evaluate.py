"""Measuring the answer pipeline on a question file about the corpus (reading-comprehension sets in
SQuAD format are ``retrieval.measure.reading``'s).

A question file is YAML, a list of entries::

    - q: 浙江关停了多少家违规网吧？
      must: [120家]          # strings the quote must hold
      article: hebei-...      # optional: the article id (or a part of its title) the quote must come from
      hl: 120家              # optional: the answer span that should be in bold
      lang: zh-colloquial    # optional: the question's style
    - q: 下周上海会下雨吗？
      answered: false        # the corpus cannot answer it: the right reply is a refusal
    - first: 江苏关停了多少家网吧？  # a follow-up pair: ``then`` is asked after ``first``
      then: 那浙江呢？
      must: [120家]

Entries are grouped by their ``lang`` style (zh, zh-colloquial, zh-typo, zh-Hant, en, mixed, no-answer,
chitchat, or any other name), or without one by the question's language (zh, zh-Hant, en), the
unanswerable ones forming "no-answer", follow-up pairs forming "follow-up". Where ``hl`` is given, the highlight is right when it is present
and it and ``hl`` (normalised) hold one another.
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
from retrieval.tokenize import normalise

GROUPS = ("zh", "zh-colloquial", "zh-typo", "zh-Hant", "en", "mixed", "no-answer", "chitchat", "follow-up")
FOLLOW_UP = "follow-up"  # the group of ``first`` / ``then`` pairs
HIGHLIGHTS = "highlights"  # the row of questions with an ``hl``: highlight present and precise


class QuestionFileError(ValueError):
    """A question file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Question:
    q: str
    must: tuple[str, ...] = ()
    article: str | None = None
    answerable: bool = True
    hl: str | None = None  # the span that should be highlighted
    style: str | None = None  # the entry's ``lang``
    after: str | None = None  # for a follow-up pair: the question asked first (``first``)

    @property
    def group(self) -> str:
        if self.style:
            return self.style
        if self.after is not None:
            return FOLLOW_UP
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
        if isinstance(entry, dict) and "q" not in entry and ("first" in entry or "then" in entry):
            # A follow-up pair: ``then`` is the question, asked after ``first``.
            if not isinstance(entry.get("first"), str) or not isinstance(entry.get("then"), str):
                raise QuestionFileError(f"{path}: entry {number}: a follow-up pair needs 'first' and 'then' strings")
            entry = {**entry, "q": entry["then"]}
        if not isinstance(entry, dict) or not isinstance(entry.get("q"), str):
            raise QuestionFileError(f"{path}: entry {number}: needs a 'q' string (or 'first' and 'then')")
        must = entry.get("must") or []
        if isinstance(must, str):
            must = [must]
        answerable = entry.get("answered", True) is not False
        if answerable and not must and not entry.get("article"):
            unfilled.append(number)
            continue
        article, hl, style = entry.get("article"), entry.get("hl"), entry.get("lang")
        if style is not None and not isinstance(style, str):
            raise QuestionFileError(f"{path}: entry {number}: 'lang' must be a string")
        questions.append(
            Question(
                entry["q"],
                tuple(str(m) for m in must),
                str(article) if article else None,
                answerable,
                str(hl) if hl not in (None, "") else None,
                style or None,
                entry.get("first"),
            )
        )
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


def highlight_right(question: Question, answer: Answer) -> bool:
    """For a question with ``hl``: the answer is right and its highlight and ``hl`` hold one another
    (after NFKC, Traditional -> Simplified and without white space)."""
    if question.hl is None or not judge(question, answer) or not answer.highlight:
        return False
    got, wanted = _compared(answer.highlight), _compared(question.hl)
    return bool(got) and (got in wanted or wanted in got)


def _compared(text: str) -> str:
    return "".join(normalise(text).split())


def run_questions(answerer: Answerer, questions: Sequence[Question]) -> list[Outcome]:
    outcomes = []
    for question in questions:
        answer = answerer.ask(question.q, after=question.after)
        outcomes.append(Outcome(question, answer, judge(question, answer)))
    return outcomes


def group_scores(outcomes: Sequence[Outcome]) -> list[GroupScore]:
    """Accuracy per group, in GROUPS order and then any other style in file order, for the groups
    present; then the highlights row when any question has an ``hl``."""
    present = list(dict.fromkeys(o.question.group for o in outcomes))
    ordered = [g for g in GROUPS if g in present] + [g for g in present if g not in GROUPS]
    scores = []
    for group in ordered:
        members = [o for o in outcomes if o.question.group == group]
        scores.append(GroupScore(group, sum(o.correct for o in members), len(members)))
    with_hl = [o for o in outcomes if o.question.hl is not None]
    if with_hl:
        scores.append(GroupScore(HIGHLIGHTS, sum(highlight_right(o.question, o.answer) for o in with_hl), len(with_hl)))
    return scores


def answerable_refused(outcomes: Sequence[Outcome]) -> int:
    return sum(1 for o in outcomes if o.question.answerable and not o.answer.answered)


# --- CMRC 2018, as the speed benchmark and the index tests read it ----------------------------------


@dataclass(frozen=True)
class CmrcQuestion:
    question: str
    answers: tuple[str, ...]
    paragraph_id: int  # the gold context's paragraph id


def load_cmrc(path: str | Path) -> tuple[Corpus, list[CmrcQuestion]]:
    """A SQuAD-format CMRC file as a corpus (every context one single-paragraph article, titled with
    its CMRC title, split into sentences by the corpus' own rule) and its questions, blank ones too.
    ``qabot eval`` reads any SQuAD-format set with ``retrieval.measure.reading``."""
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
