"""The answer pipeline's options, in one immutable object.

The values live in the project's settings file (``settings.yaml``, section ``answer``), each with a note
on how it was chosen; this class only names and types them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerConfig:
    k1: float
    b: float
    epsilon: float
    top_paragraphs: int  # paragraphs whose sentences compete for the quote
    max_alternatives: int  # answers from other paragraphs offered beside the best one
    max_question_chars: int  # longer questions are refused politely, not searched
