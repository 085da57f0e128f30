"""The article model shared by every package: frozen, so it can be passed around freely."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of an article, already split into sentences.

    ``text`` is exactly the concatenation of ``sentences``, so a quoted sentence can always be found in
    its paragraph.
    """

    article_id: str
    position: int  # 0-based, in reading order within the article
    heading: str | None  # the subheading this paragraph stands under, if any
    text: str
    sentences: tuple[str, ...]
    # jieba's cut of the paragraph's sentences (and its subject), as the index build stored it with
    # the corpus (``retrieval.sentence_cuts``): opaque here; None when not stored (then cut when read).
    cuts: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    paragraphs: tuple[Paragraph, ...]
    subtitle: str | None = None
    source: str | None = None  # e.g. 河北省民政厅, from an attribution line （据河北省民政厅）
    date: str | None = None
    kicker: str | None = None  # the line printed above the headline (引题), e.g. 聚焦民生实事
    byline: str | None = None  # who wrote it, e.g. 本报记者 王某
    dateline: str | None = None  # where and when it was filed, e.g. 本报讯, 新华社北京6月1日电
    captions: tuple[str, ...] = ()  # photo captions printed with it

    @property
    def sentence_count(self) -> int:
        return sum(len(p.sentences) for p in self.paragraphs)


@dataclass(frozen=True)
class ArticleInfo:
    """An article without its paragraphs: what answering needs to name it, read one at a time from a
    stored corpus (``corpus.stored``) instead of holding every article in memory."""

    id: str
    title: str
    subtitle: str | None = None
    source: str | None = None
    date: str | None = None
    kicker: str | None = None
    byline: str | None = None
    dateline: str | None = None
    captions: tuple[str, ...] = ()
    number: int = 0  # its position among the corpus' articles
    first_paragraph: int = 0  # the corpus-wide id of its first paragraph
    paragraph_count: int = 0
    sentence_count: int = 0

    @classmethod
    def of(cls, article: Article, number: int = 0, first_paragraph: int = 0) -> "ArticleInfo":
        return cls(
            article.id, article.title, article.subtitle, article.source, article.date, article.kicker,
            article.byline, article.dateline, article.captions, number, first_paragraph,
            len(article.paragraphs), article.sentence_count,
        )


@dataclass(frozen=True)
class Corpus:
    """All articles read from one path, in a stable order, with unique ids."""

    articles: tuple[Article, ...]
    files: tuple[str, ...] = ()  # the files they were read from, for fingerprinting
    warnings: tuple[str, ...] = ()  # files that loaded but look wrong (a raw OCR page saved as .txt)

    def paragraphs(self) -> Iterator[tuple[Article, Paragraph]]:
        for article in self.articles:
            for paragraph in article.paragraphs:
                yield article, paragraph

    @property
    def paragraph_count(self) -> int:
        return sum(len(a.paragraphs) for a in self.articles)

    def article(self, article_id: str) -> Article:
        for article in self.articles:
            if article.id == article_id:
                return article
        raise KeyError(article_id)
