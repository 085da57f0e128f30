"""What the index holds for each paragraph of the corpus.

The store (which persists the index) and the answerer (which builds one in memory) both index exactly
this text, so the two can never disagree about it.
"""

from __future__ import annotations

from corpus.model import Article, Paragraph
from retrieval.config import AnswerConfig


def indexed_text(article: Article, paragraph: Paragraph, config: AnswerConfig) -> str:
    """What the index holds for a paragraph: its text, after its article's title and its heading when
    ``config.index_titles`` (questions name the article's subject, which the paragraph itself may not)."""
    if not config.index_titles:
        return paragraph.text
    return "\n".join(part for part in (article.title, paragraph.heading, paragraph.text) if part)
