"""What the index holds: every paragraph, and overlapping passages of the long ones.

A question about one fact of a long paragraph shares few words with the whole of it, and BM25's length
normalisation then ranks the paragraph low. So a paragraph of more than ``passage_sentences`` sentences
is also indexed as windows of that many adjacent sentences, starting every ``passage_step`` sentences
(the last window ends with the paragraph). Documents 0 .. P-1 are the paragraphs, in corpus order, so a
paragraph's document id is its paragraph id; the passages follow, and each maps back to its paragraph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

from corpus.model import Article, Corpus, Paragraph
from retrieval.config import AnswerConfig


@dataclass(frozen=True)
class Document:
    """One indexed text: a whole paragraph, or the sentences ``first`` .. ``last`` (inclusive) of one."""

    paragraph_id: int
    first: int
    last: int
    text: str  # what is indexed: the sentences, after the article's title and the heading


def indexed_text(article: Article, paragraph: Paragraph, config: AnswerConfig) -> str:
    """What the index holds for a paragraph: its text, after its article's title and its heading when
    ``config.index_titles`` (questions name the article's subject, which the paragraph itself may not)."""
    return _with_subject(article, paragraph, paragraph.text, config)


def passage_windows(sentences: int, size: int, step: int) -> list[tuple[int, int]]:
    """(first, last) sentence of each passage of a paragraph of ``sentences`` sentences; none when the
    paragraph is no longer than one passage, or when passages are off (``size`` 0).

    >>> passage_windows(7, 3, 2), passage_windows(3, 3, 2), passage_windows(8, 0, 2)
    ([(0, 2), (2, 4), (4, 6)], [], [])
    >>> passage_windows(6, 3, 2)
    [(0, 2), (2, 4), (3, 5)]
    """
    if size <= 0 or sentences <= size:
        return []
    step = max(1, step)
    starts = list(range(0, sentences - size + 1, step))
    if starts[-1] != sentences - size:
        starts.append(sentences - size)
    return [(start, start + size - 1) for start in starts]


def indexed_documents(corpus: Corpus, config: AnswerConfig) -> list[Document]:
    """Every paragraph (ids 0 .. P-1, corpus order), then the passages of the long ones."""
    entries = list(corpus.paragraphs())
    documents = [
        Document(paragraph_id, 0, len(paragraph.sentences) - 1, indexed_text(article, paragraph, config))
        for paragraph_id, (article, paragraph) in enumerate(entries)
    ]
    documents.extend(_passages(entries, config))
    return documents


def _passages(entries: Sequence[tuple[Article, Paragraph]], config: AnswerConfig) -> Iterator[Document]:
    for paragraph_id, (article, paragraph) in enumerate(entries):
        for first, last in passage_windows(len(paragraph.sentences), config.passage_sentences, config.passage_step):
            text = "".join(paragraph.sentences[first : last + 1])
            yield Document(paragraph_id, first, last, _with_subject(article, paragraph, text, config))


def _with_subject(article: Article, paragraph: Paragraph, text: str, config: AnswerConfig) -> str:
    if not config.index_titles:
        return text
    return "\n".join(part for part in (article.title, paragraph.heading, text) if part)
