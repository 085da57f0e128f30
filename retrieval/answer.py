"""The answer interface shared by the CLI and the bot: ``Answerer.ask(question) -> Answer``.

(Interface pinned by the skeleton; the pipeline itself is built in issue 3.)
"""

from __future__ import annotations

from dataclasses import dataclass


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
