"""The parsed corpus, stored beside its index and read back one paragraph at a time.

Parsing every article file at start-up costs seconds and hundreds of MB at a million paragraphs, so
the index build (``retrieval.store``) writes what the files were read into once, and every later start
opens it as files, as Lucene keeps its stored fields:

- ``corpus-paragraphs.bin``: the paragraphs, in corpus order, in deflate-compressed blocks of about
  2 KB of text; a block is one JSON line a paragraph, ``[text, heading, [sentence lengths], cuts]``,
  ``cuts`` being what the indexer passed for the paragraph (jieba's cut of its sentences, so that
  answering need not cut them: ``retrieval.sentence_cuts``), left out when none. Answering reads
  about one paragraph of each block it inflates, so only that paragraph's line is parsed. A block
  never holds paragraphs of two files, so a file that did not change is copied into the next build
  byte for byte;
- ``corpus-dictionary.bin``: zlib's preset dictionary for every block, the first 32 KB of the corpus'
  blocks (their JSON); a block then starts out knowing the corpus' common words and its JSON, which
  makes small blocks about 16% smaller and reads no slower. A rebuild keeps the previous dictionary,
  so that unchanged blocks can be copied. Answering reads a few paragraphs a question from blocks
  nobody read before, so a read costs a block's inflate: with the dictionary, blocks of 4 KB take 2%
  more room than blocks of 16 KB and a third of the time to read, and blocks of 2 KB (one JSON line a
  paragraph) 1.8% more than 4 KB and about half the time again (a 100,000-paragraph bench corpus:
  42.07 -> 42.84 MB, 37 -> 20 µs a read of one paragraph). They are raw deflate streams, not zlib's:
  zlib's format checks the preset dictionary's Adler-32 at every block (13 µs a read, a fifth of it
  at 4 KB);
- ``corpus-blocks.bin`` / ``corpus-block-first.bin``: each block's byte offset and first paragraph
  (int64 arrays);
- ``corpus-articles.bin``: one JSON line of metadata per article, with ``corpus-article-offsets.bin``
  and ``corpus-article-first.bin`` (its first paragraph);
- ``corpus-files.json``: the format (``STORED_FORMAT``), and the files read, each with its size, mtime,
  sha256 and the articles, paragraphs and blocks it gave, and the warnings they raised.

Opening maps the files and reads ``corpus-files.json``; it creates no object per paragraph.
``CorpusView`` is what answering reads a corpus through: ``StoredCorpus`` over these files, or
``MemoryCorpus`` over a ``Corpus`` parsed in memory (tests, ``qabot eval``). No numpy here.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import threading
import zlib
from array import array
from bisect import bisect_right
from collections import OrderedDict
from pathlib import Path
from typing import Iterator, Sequence

from corpus.model import Article, ArticleInfo, Corpus, Paragraph

# Bump when what the files hold changes meaning: an older stored corpus is then refused, not misread.
# 3: blocks of 4 KB (not 16), raw deflate (not zlib's format). 4: blocks of 2 KB, a JSON line a paragraph.
STORED_FORMAT = 4
BLOCK_CHARACTERS = 2_000 // 3  # about 2 KB of UTF-8 Chinese text per block
FILES = "corpus-files.json"
_PARAGRAPHS, _BLOCKS, _BLOCK_FIRST = "corpus-paragraphs.bin", "corpus-blocks.bin", "corpus-block-first.bin"
_ARTICLES, _ARTICLE_OFFSETS, _ARTICLE_FIRST = "corpus-articles.bin", "corpus-article-offsets.bin", "corpus-article-first.bin"
_DICTIONARY = "corpus-dictionary.bin"
DICTIONARY_BYTES = 32 * 1024  # zlib's window: a preset dictionary longer than this is not used
_CACHED_BLOCKS = 2048  # 4 MB of text, inflated
_CACHED_ARTICLES = 1024
_ID_FIRST = '{"id":'
_DECODER = json.JSONDecoder()
_ARTICLE_FIELDS = ("id", "title", "subtitle", "source", "date", "kicker", "byline", "dateline", "captions", "paragraphs", "sentences")


class CorpusView(Sequence[tuple[ArticleInfo, Paragraph]]):
    """A corpus read on demand. ``view[paragraph_id]`` is (its article's metadata, the paragraph);
    paragraph ids run 0 .. len(view) - 1 in corpus order."""

    stamp: str  # a short fingerprint of the content, the same for the same corpus
    files: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def paragraph_count(self) -> int:
        return len(self)

    @property
    def article_count(self) -> int:
        raise NotImplementedError

    def article(self, number: int) -> ArticleInfo:
        """The ``number``-th article's metadata (0-based, corpus order)."""
        raise NotImplementedError

    def article_paragraphs(self, number: int) -> list[Paragraph]:
        """Every paragraph of the ``number``-th article, in order."""
        info = self.article(number)
        return [self[info.first_paragraph + i][1] for i in range(info.paragraph_count)]

    def articles(self) -> "ArticleList":
        """The articles' metadata in corpus order, read as they are asked for."""
        return ArticleList(self)

    def file_entries(self) -> list[dict]:
        """The files read, each with its path, size, mtime, sha256 and the ranges of articles,
        paragraphs and blocks it gave (a stored corpus only)."""
        return []

    def find_article(self, article_id: str) -> ArticleInfo | None:
        """The article with this id (a scan: for rare look-ups, such as checking an upload)."""
        return next((a for a in self.articles() if a.id == article_id), None)


class ArticleList(Sequence[ArticleInfo]):
    def __init__(self, view: CorpusView) -> None:
        self._view = view

    def __len__(self) -> int:
        return self._view.article_count

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._view.article(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._view.article(i)


class MemoryCorpus(CorpusView):
    """A view of a corpus parsed in memory."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.files = corpus.files
        self.warnings = corpus.warnings
        self._infos: list[ArticleInfo] = []
        self._entries: list[tuple[ArticleInfo, Paragraph]] = []
        for number, article in enumerate(corpus.articles):
            info = ArticleInfo.of(article, number, len(self._entries))
            self._infos.append(info)
            self._entries.extend((info, paragraph) for paragraph in article.paragraphs)
        self.stamp = content_stamp((p.article_id, p.text) for _, p in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, paragraph_id):  # type: ignore[override]
        return self._entries[paragraph_id]

    @property
    def article_count(self) -> int:
        return len(self._infos)

    def article(self, number: int) -> ArticleInfo:
        return self._infos[number]

    def article_paragraphs(self, number: int) -> list[Paragraph]:
        return list(self.corpus.articles[number].paragraphs)


def content_stamp(paragraphs) -> str:
    """A short fingerprint of (article id, paragraph text) pairs, so that something made for one
    corpus (a Telegram button) is recognised as stale in another."""
    digest = hashlib.blake2b(digest_size=3)
    for article_id, text in paragraphs:
        digest.update(f"{article_id}\0{text}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def as_view(corpus: "Corpus | CorpusView") -> CorpusView:
    return corpus if isinstance(corpus, CorpusView) else MemoryCorpus(corpus)


# --- writing ---------------------------------------------------------------------------------------


class StoredCorpusWriter:
    """Writes a stored corpus file by file: ``add`` a file's parsed articles, or ``copy`` a file that
    did not change from the previous build; ``close`` finishes it. Returns paragraph ranges so the
    caller can number what it derives (documents) the same way."""

    def __init__(self, folder: Path, dictionary: bytes | None = None) -> None:
        """``dictionary``: the previous build's (``StoredCorpus.dictionary``), so its blocks can be
        copied; by default the start of this corpus."""
        self.folder = folder
        self.dictionary = dictionary
        self._unwritten: list[bytes] = []  # blocks' JSON waiting for the dictionary to be chosen
        self._paragraphs = open(folder / _PARAGRAPHS, "wb")
        self._articles = open(folder / _ARTICLES, "wb")
        self._block_offsets = array("q", [0])
        self._block_first = array("q")
        self._article_offsets = array("q", [0])
        self._article_first = array("q")
        self._files: list[dict] = []
        # Digests of what is written, so the same content gives the same stamp however it was written.
        self._article_digest = hashlib.blake2b(digest_size=8)
        self._block_digest = hashlib.blake2b(digest_size=8)
        self.paragraph_count = 0

    def add(self, record: dict, articles: Sequence[Article], warnings: Sequence[str] = (),
            cuts: Sequence[str | None] | None = None) -> tuple[int, int]:
        """Store the articles of one file (``record``: path, size, mtime_ns, sha256), with ``cuts``, one
        (or None) for each of their paragraphs in order, read back as ``Paragraph.cuts``; returns the
        (first paragraph id, paragraph count) they got."""
        first_paragraph, first_article, first_block = self.paragraph_count, len(self._article_first), len(self._block_first)
        pending: list[list] = []
        characters = 0
        numbered = 0
        for article in articles:
            line = json.dumps(_article_record(article), ensure_ascii=False, separators=(",", ":")) + "\n"
            self._append_article(line.encode("utf-8", "surrogatepass"), self.paragraph_count + len(pending))
            for paragraph in article.paragraphs:
                pending.append(_paragraph_record(paragraph, cuts[numbered] if cuts is not None else None))
                numbered += 1
                characters += len(paragraph.text)
                if characters >= BLOCK_CHARACTERS:
                    self._write_block(pending)
                    pending, characters = [], 0
        if pending:
            self._write_block(pending)
        return self._file_done(record, warnings, first_paragraph, first_article, first_block)

    def copy(self, record: dict, old: "StoredCorpus", number: int) -> tuple[int, int]:
        """Copy file ``number`` of the previous build ``old``, whose content is unchanged."""
        entry = old.file_entry(number)
        first_paragraph, first_article, first_block = self.paragraph_count, len(self._article_first), len(self._block_first)
        a0, a_count = entry["articles"]
        shift = self.paragraph_count - entry["paragraphs"][0]
        for a in range(a0, a0 + a_count):
            self._append_article(old.article_line(a), old.article_first(a) + shift)
        b0, b_count = entry["blocks"]
        if self.dictionary is None and not self._unwritten:
            self.dictionary = old.dictionary
        for b in range(b0, b0 + b_count):
            data, paragraphs = old.raw_block(b)
            self._block_first.append(old.block_first(b) + shift)
            self.paragraph_count += paragraphs
            if self.dictionary == old.dictionary and not self._unwritten:
                self._append_block(data)
            else:  # compressed with another dictionary: compressed again
                self._store_block(old.decompress(data))
        return self._file_done(record, entry.get("warnings", []), first_paragraph, first_article, first_block)

    def _append_article(self, line: bytes, first_paragraph: int) -> None:
        self._articles.write(line)
        self._article_offsets.append(self._article_offsets[-1] + len(line))
        self._article_first.append(first_paragraph)
        self._article_digest.update(line)

    def _write_block(self, records: list[list]) -> None:
        self._block_first.append(self.paragraph_count)
        self.paragraph_count += len(records)
        # JSON escapes a newline inside a string, and no byte of another UTF-8 character is one.
        lines = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) for record in records)
        self._store_block("\n".join(lines).encode("utf-8", "surrogatepass"))

    def _store_block(self, raw: bytes) -> None:
        """Compress and append a block's JSON, once the dictionary is chosen: the first
        DICTIONARY_BYTES of the corpus' blocks wait for it."""
        if self.dictionary is None:
            self._unwritten.append(raw)
            if sum(map(len, self._unwritten)) < DICTIONARY_BYTES:
                return
            self._choose_dictionary()
            return
        self._append_block(compress_block(raw, self.dictionary))

    def _choose_dictionary(self) -> None:
        waiting, self._unwritten = self._unwritten, []
        self.dictionary = b"".join(waiting)[:DICTIONARY_BYTES]
        for raw in waiting:
            self._append_block(compress_block(raw, self.dictionary))

    def _append_block(self, data: bytes) -> None:
        self._paragraphs.write(data)
        self._block_offsets.append(self._block_offsets[-1] + len(data))
        self._block_digest.update(data)

    def _file_done(self, record: dict, warnings, first_paragraph: int, first_article: int, first_block: int) -> tuple[int, int]:
        count = self.paragraph_count - first_paragraph
        self._files.append({
            **record,
            "articles": [first_article, len(self._article_first) - first_article],
            "paragraphs": [first_paragraph, count],
            "blocks": [first_block, len(self._block_first) - first_block],
            "warnings": list(warnings),
        })
        return first_paragraph, count

    def close(self) -> None:
        if self.dictionary is None:
            self._choose_dictionary()
        self._paragraphs.close()
        (self.folder / _DICTIONARY).write_bytes(self.dictionary)
        self._articles.close()
        self._block_first.append(self.paragraph_count)
        self._article_first.append(self.paragraph_count)
        for name, values in ((_BLOCKS, self._block_offsets), (_BLOCK_FIRST, self._block_first),
                             (_ARTICLE_OFFSETS, self._article_offsets), (_ARTICLE_FIRST, self._article_first)):
            with open(self.folder / name, "wb") as out:
                values.tofile(out)
        stamp = hashlib.blake2b(self._article_digest.digest() + self._block_digest.digest(), digest_size=3).hexdigest()
        (self.folder / FILES).write_text(json.dumps({"format": STORED_FORMAT, "stamp": stamp, "files": self._files}, ensure_ascii=False, indent=0), encoding="utf-8")


_RAW_DEFLATE = -15  # zlib's wbits for a raw deflate stream with a 32 KB window


def compress_block(raw: bytes, dictionary: bytes) -> bytes:
    """A block's JSON as a raw deflate stream, with the corpus' preset dictionary (none when it is empty).

    >>> decompress_block(compress_block(b'["text"]', b'"text"'), b'"text"')
    b'["text"]'
    """
    packer = zlib.compressobj(6, zlib.DEFLATED, _RAW_DEFLATE, **({"zdict": dictionary} if dictionary else {}))
    return packer.compress(raw) + packer.flush()


def decompress_block(data: bytes, dictionary: bytes) -> bytes:
    unpacker = zlib.decompressobj(_RAW_DEFLATE, **({"zdict": dictionary} if dictionary else {}))
    raw = unpacker.decompress(data) + unpacker.flush()
    if not unpacker.eof:
        # Raw deflate has no checksum; a stream that ends early is at least caught here.
        raise ValueError("a stored corpus block is truncated")
    return raw


def _article_record(article: Article) -> dict:
    values = {
        "id": article.id, "title": article.title, "subtitle": article.subtitle, "source": article.source,
        "date": article.date, "kicker": article.kicker, "byline": article.byline, "dateline": article.dateline,
        "captions": list(article.captions), "paragraphs": len(article.paragraphs), "sentences": article.sentence_count,
    }
    return {key: value for key, value in values.items() if value not in (None, [])}


def _paragraph_record(paragraph: Paragraph, cuts: str | None) -> list:
    record = [paragraph.text, paragraph.heading, [len(s) for s in paragraph.sentences]]
    whole = "".join(paragraph.sentences) == paragraph.text
    if cuts is not None or not whole:
        record.append(cuts)
    if not whole:
        # The model promises text == the sentences joined; keep them whole should a reader ever differ.
        record.append(list(paragraph.sentences))
    return record


# --- reading ---------------------------------------------------------------------------------------


def _mapped(path: Path) -> memoryview:
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return memoryview(b"")
        return memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))


class StoredCorpus(CorpusView):
    """A stored corpus opened from its folder: files mapped, nothing parsed until asked for."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        meta = json.loads((self.folder / FILES).read_text(encoding="utf-8"))
        if meta.get("format", 1) != STORED_FORMAT:
            raise ValueError(f"{self.folder}: a stored corpus of format {meta.get('format', 1)}; this version reads "
                             f"format {STORED_FORMAT} (rebuild the index)")
        self._files: list[dict] = meta["files"]
        self.stamp = meta["stamp"]
        self.files = tuple(entry["path"] for entry in self._files)
        self.warnings = tuple(w for entry in self._files for w in entry.get("warnings", []))
        self._paragraphs = _mapped(self.folder / _PARAGRAPHS)
        self.dictionary = (self.folder / _DICTIONARY).read_bytes()
        self._articles = _mapped(self.folder / _ARTICLES)
        self._block_offsets = _mapped(self.folder / _BLOCKS).cast("q")
        self._block_first = _mapped(self.folder / _BLOCK_FIRST).cast("q")
        self._article_offsets = _mapped(self.folder / _ARTICLE_OFFSETS).cast("q")
        self._article_first = _mapped(self.folder / _ARTICLE_FIRST).cast("q")
        self._count = self._article_first[len(self._article_first) - 1]
        self._blocks: OrderedDict[int, list[bytes]] = OrderedDict()  # a block's lines, inflated
        self._infos: OrderedDict[int, ArticleInfo] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._count

    @property
    def article_count(self) -> int:
        return len(self._article_first) - 1

    def file_entries(self) -> list[dict]:
        return self._files

    def file_entry(self, number: int) -> dict:
        return self._files[number]

    def article_line(self, number: int) -> bytes:
        return bytes(self._articles[self._article_offsets[number] : self._article_offsets[number + 1]])

    def article_first(self, number: int) -> int:
        """The first paragraph of the ``number``-th article (its metadata left unread)."""
        return self._article_first[number]

    def article_id(self, number: int) -> str:
        """The ``number``-th article's id, read alone: an index update checks every copied article's
        id for duplicates, and parsing whole lines took a fifth of a second at 10,000 articles."""
        line = self.article_line(number).decode("utf-8", "surrogatepass")
        if line.startswith(_ID_FIRST):  # as _article_record writes it: the id first, compact
            return _DECODER.raw_decode(line, len(_ID_FIRST))[0]
        return json.loads(line)["id"]

    def raw_block(self, number: int) -> tuple[bytes, int]:
        """A block's compressed bytes and how many paragraphs it holds."""
        data = bytes(self._paragraphs[self._block_offsets[number] : self._block_offsets[number + 1]])
        return data, self._block_first[number + 1] - self._block_first[number]

    def decompress(self, data: bytes) -> bytes:
        """A block's JSON from its compressed bytes."""
        return decompress_block(data, self.dictionary)

    def block_first(self, number: int) -> int:
        return self._block_first[number]

    def article(self, number: int) -> ArticleInfo:
        if not 0 <= number < self.article_count:
            raise IndexError(number)
        with self._lock:
            info = self._infos.get(number)
            if info is not None:
                self._infos.move_to_end(number)
                return info
        data = json.loads(self.article_line(number))
        first = self._article_first[number]
        info = ArticleInfo(
            data["id"], data["title"], data.get("subtitle"), data.get("source"), data.get("date"), data.get("kicker"),
            data.get("byline"), data.get("dateline"), tuple(data.get("captions", ())), number, first,
            data["paragraphs"], data["sentences"],
        )
        with self._lock:
            self._infos[number] = info
            if len(self._infos) > _CACHED_ARTICLES:
                self._infos.popitem(last=False)
        return info

    def _block(self, number: int) -> list[bytes]:
        """A block's paragraphs, one unparsed JSON line each."""
        with self._lock:
            lines = self._blocks.get(number)
            if lines is not None:
                self._blocks.move_to_end(number)
                return lines
        data, _ = self.raw_block(number)
        lines = self.decompress(data).split(b"\n")
        with self._lock:
            self._blocks[number] = lines
            if len(self._blocks) > _CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        return lines

    def __getitem__(self, paragraph_id):  # type: ignore[override]
        if isinstance(paragraph_id, slice):
            return [self[i] for i in range(*paragraph_id.indices(len(self)))]
        if paragraph_id < 0:
            paragraph_id += self._count
        if not 0 <= paragraph_id < self._count:
            raise IndexError(paragraph_id)
        number = bisect_right(self._article_first, paragraph_id) - 1
        info = self.article(number)
        block = bisect_right(self._block_first, paragraph_id) - 1
        record = json.loads(self._block(block)[paragraph_id - self._block_first[block]])
        text, heading, lengths = record[0], record[1], record[2]
        cuts = record[3] if len(record) > 3 else None
        if len(record) > 4:
            sentences = tuple(record[4])
        else:
            sentences, at = [], 0
            for length in lengths:
                sentences.append(text[at : at + length])
                at += length
            sentences = tuple(sentences)
        return info, Paragraph(info.id, paragraph_id - info.first_paragraph, heading, text, sentences, cuts)

    def __iter__(self) -> Iterator[tuple[ArticleInfo, Paragraph]]:
        return (self[i] for i in range(self._count))
