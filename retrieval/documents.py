"""What the index holds: every paragraph, and overlapping passages of the long ones.

A question about one fact of a long paragraph shares few words with the whole of it, and BM25's length
normalisation then ranks the paragraph low. So a paragraph of more than ``passage_sentences`` sentences
is also indexed as windows of that many adjacent sentences, starting every ``passage_step`` sentences
(the last window ends with the paragraph). Documents 0 .. P-1 are the paragraphs, in corpus order, so a
paragraph's document id is its paragraph id; the passages follow, and each maps back to its paragraph.
"""

from __future__ import annotations

import mmap
import os
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from corpus.model import Article, ArticleInfo, Corpus, Paragraph
from corpus.stored import CorpusView
from retrieval.config import AnswerConfig

_PASSAGES = "passages.bin"  # per passage: paragraph id, first sentence, last sentence (int32 each)


@dataclass(frozen=True)
class Document:
    """One indexed text: a whole paragraph, or the sentences ``first`` .. ``last`` (inclusive) of one."""

    paragraph_id: int
    first: int
    last: int
    text: str  # what is indexed: the sentences, after the article's title and the heading


@dataclass(frozen=True)
class DocumentSpan:
    """Where an indexed document stands: its paragraph and the sentences ``first`` .. ``last`` of it."""

    paragraph_id: int
    first: int
    last: int


class DocumentTable(Sequence[DocumentSpan]):
    """The indexed documents, by document id: ids 0 .. P-1 are the paragraphs, then the passages
    (kept as int32 triplets, in memory or memory-mapped from the index folder)."""

    def __init__(self, paragraphs: int, sentence_counts, passages: Sequence[int]) -> None:
        self._paragraphs = paragraphs
        self._sentence_counts = sentence_counts  # a paragraph's sentence count, by paragraph id
        self._passages = passages  # flat triplets

    @classmethod
    def of(cls, corpus: CorpusView, config: AnswerConfig) -> "DocumentTable":
        """The documents of a corpus held in memory."""
        counts = [len(paragraph.sentences) for _, paragraph in corpus]
        flat = array("i")
        for paragraph_id, count in enumerate(counts):
            for first, last in passage_windows(count, config.passage_sentences, config.passage_step):
                flat.extend((paragraph_id, first, last))
        return cls(len(counts), counts.__getitem__, flat)

    @classmethod
    def open(cls, folder: Path, corpus: CorpusView) -> "DocumentTable":
        with open(folder / _PASSAGES, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            flat = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)).cast("i") if size else array("i")
        return cls(len(corpus), lambda paragraph_id: len(corpus[paragraph_id][1].sentences), flat)

    def __len__(self) -> int:
        return self._paragraphs + len(self._passages) // 3

    def __getitem__(self, doc_id):  # type: ignore[override]
        doc_id, at = self._located(doc_id)
        if at < 0:
            return DocumentSpan(doc_id, 0, self._sentence_counts(doc_id) - 1)
        return DocumentSpan(self._passages[at], self._passages[at + 1], self._passages[at + 2])

    def paragraph_of(self, doc_id: int) -> int:
        """The paragraph a document stands in, without reading the paragraph (``self[doc_id]`` reads
        it for its sentence count)."""
        doc_id, at = self._located(doc_id)
        return doc_id if at < 0 else self._passages[at]

    def _located(self, doc_id: int) -> tuple[int, int]:
        """The document id (a negative one counted from the end), and where its passage's triplet
        starts in the flat table: -1 for a paragraph's own document. IndexError outside the table."""
        if doc_id < 0:
            doc_id += len(self)
        if 0 <= doc_id < self._paragraphs:
            return doc_id, -1
        at = 3 * (doc_id - self._paragraphs)
        if doc_id < 0 or at + 3 > len(self._passages):
            raise IndexError(doc_id)
        return doc_id, at

    @property
    def paragraph_count(self) -> int:
        return self._paragraphs


def write_passages(folder: Path, triplets: array) -> None:
    with open(folder / _PASSAGES, "wb") as out:
        triplets.tofile(out)


def indexed_text(article: Article | ArticleInfo, paragraph: Paragraph, config: AnswerConfig) -> str:
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


def indexed_documents(corpus: Corpus | CorpusView, config: AnswerConfig) -> list[Document]:
    """Every paragraph (ids 0 .. P-1, corpus order), then the passages of the long ones."""
    entries = list(corpus) if isinstance(corpus, CorpusView) else list(corpus.paragraphs())
    documents = [
        Document(paragraph_id, 0, len(paragraph.sentences) - 1, indexed_text(article, paragraph, config))
        for paragraph_id, (article, paragraph) in enumerate(entries)
    ]
    documents.extend(_passages(entries, config))
    return documents


def _passages(entries: Sequence[tuple[Article | ArticleInfo, Paragraph]], config: AnswerConfig) -> Iterator[Document]:
    for paragraph_id, (article, paragraph) in enumerate(entries):
        for first, last in passage_windows(len(paragraph.sentences), config.passage_sentences, config.passage_step):
            yield Document(paragraph_id, first, last, passage_text(article, paragraph, first, last, config))


def passage_text(article: Article | ArticleInfo, paragraph: Paragraph, first: int, last: int, config: AnswerConfig) -> str:
    """What the index holds for the passage of sentences ``first`` .. ``last`` of a paragraph."""
    return _with_subject(article, paragraph, "".join(paragraph.sentences[first : last + 1]), config)


def _with_subject(article: Article | ArticleInfo, paragraph: Paragraph, text: str, config: AnswerConfig) -> str:
    if not config.index_titles:
        return text
    return "\n".join(part for part in (article.title, paragraph.heading, text) if part)
