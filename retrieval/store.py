"""The persisted index of a corpus: built once, reopened memory-mapped, rebuilt only when something changed.

Layout under the cache directory (``settings.index.cache_dir``)::

    tokens-v2-<tokenizer hash>.sqlite3  token ids by document content hash, shared by every corpus
    <corpus name>-<path hash>           symlink to the current build of that corpus' index
    <corpus name>-<path hash>.<id>/     one build: the stored corpus (corpus/stored.py), the documents
                                        (passages.bin, document-keys.bin), the index (.npy arrays,
                                        terms.*) and params.json

A build is written into a fresh directory and published by atomically replacing the symlink, so a
reader sees either the old index or the new one, never half of one, even if the builder crashes.

``params.json`` records what the index depends on: the format version, BM25 parameters, what is indexed
(titles, passages), the tokenizer signature (with the stopword list's hash), the corpus files (path,
size, mtime, content hash) and this library's version (retrieval/fingerprint.py). Opening compares the
files' sizes and mtimes (a content hash only for a file whose size or mtime changed): when nothing
changed, no article file is read. Otherwise the index is rebuilt and the difference logged.

A rebuild reads only the files that changed: every other file's parsed paragraphs are copied from the
previous build, and its documents' postings taken from the previous index (retrieval/index_build.py),
as are those of a changed file's documents that begin or end it as before (an article appended to a
file adds its own documents only). The others are tokenized unless the token cache
(retrieval/token_cache.py) has them, on every core (retrieval/tokenizing.py). The stored corpus also
keeps jieba's cut of every sentence (retrieval/sentence_cuts.py), so answering never cuts a corpus
sentence: a file read is written once its paragraphs' cuts are known, from the token cache or cut
on every core in batches. Memory holds one batch of files waiting for their cuts, one batch of texts
to tokenize and one range of terms at a time.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from array import array
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Iterator, NamedTuple

from corpus.errors import CorpusError
from corpus import loader, sentences
from corpus.loader import DEFAULT_MAX_FILE_BYTES, read_articles
from corpus.stored import StoredCorpus, StoredCorpusWriter
from retrieval.config import AnswerConfig
from retrieval.documents import DocumentTable, indexed_text, passage_text, passage_windows, write_passages
from retrieval.fingerprint import describe_changes, file_fingerprint
from retrieval.index import BM25Index, BM25Params, disk_size
from retrieval.sentence_cuts import cut_texts, cuts_key, marked
from retrieval.token_cache import TOKEN_CACHE_VERSION, TokenCache, content_key
from retrieval.tokenize import Tokenizer
from retrieval.tokenizing import Tokenizing, progress_bar, worker_count

log = logging.getLogger(__name__)

# Bump when the files written here change meaning; older builds are then rebuilt, not misread.
# 4: the stored corpus holds each paragraph's sentence cuts (retrieval/sentence_cuts.py).
# 5: the stored corpus' blocks are smaller and raw deflate (corpus/stored.py, STORED_FORMAT 3).
# 6: the stored corpus' blocks are 2 KB, a JSON line a paragraph (STORED_FORMAT 4), and its cuts are
#    marked: the pieces that give no word are written apart (retrieval/sentence_cuts.py, ``marked``).
FORMAT_VERSION = 6
_PARAMS_FILE = "params.json"
_KEYS_FILE = "document-keys.bin"  # the token cache key of every document, 16 bytes each
_KEY_BYTES = 16
_TOKENIZE_BATCH = 20_000  # texts gathered before they are tokenized
_PUT_BATCH = 5000  # token lists stored in the token cache at a time (new terms are numbered a batch at a time)


def library_version() -> str:
    try:
        return metadata.version("qabot")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class BuildStats:
    """What one build did and cost."""

    paragraphs: int
    documents: int  # paragraphs and passages
    terms: int
    postings: int
    tokenized: int  # documents tokenized now; the others came from the token cache or the previous build
    cut: int  # paragraphs whose sentences were cut now; the others' cuts came from the token cache or were copied
    inverted: int  # documents indexed from their tokens; the others' postings came from the previous build
    files_read: int  # files parsed; the others were copied from the previous build
    files_reused: int
    tokenize_seconds: float  # reading files and tokenizing
    index_seconds: float
    bytes_on_disk: int


@dataclass(frozen=True)
class Opened:
    """An index ready for queries, the corpus it was built from, and how they were obtained."""

    index: BM25Index
    corpus: StoredCorpus
    documents: DocumentTable
    directory: Path
    rebuilt_because: tuple[str, ...]  # empty when the persisted index was up to date
    build: BuildStats | None  # None when the persisted index was opened as it was
    seconds: float


class IndexStore:
    """Persisted indexes under one cache directory, one per corpus path, sharing one token cache."""

    def __init__(
        self,
        cache_dir: Path,
        config: AnswerConfig,
        tokenizer: Tokenizer | None = None,
        workers: int = 0,
        quiet: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        # The answer pipeline's settings decide both the BM25 parameters and the indexed text.
        self.config = config
        self.params = BM25Params(config.k1, config.b, config.epsilon)
        self.tokenizer = tokenizer or Tokenizer()
        self.workers = worker_count(workers)
        self.quiet = quiet

    @cached_property
    def signature(self) -> dict:
        return self.tokenizer.signature

    @cached_property
    def token_cache(self) -> TokenCache:
        digest = hashlib.sha256(json.dumps(self.signature, sort_keys=True).encode()).hexdigest()[:16]
        return TokenCache(self.cache_dir / f"tokens-v{TOKEN_CACHE_VERSION}-{digest}.sqlite3")

    def link_for(self, corpus_path: str | os.PathLike) -> Path:
        """Where the index of the corpus at ``corpus_path`` is published."""
        resolved = Path(corpus_path).resolve()
        digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
        return self.cache_dir / f"{resolved.name or 'corpus'}-{digest}"

    def settings_record(self) -> dict:
        """Everything but the corpus that an index depends on: a change to any of it rebuilds."""
        return {
            "format_version": FORMAT_VERSION,
            "library_version": library_version(),
            "sentence_rule": sentences.RULE_VERSION,
            "k1": self.params.k1,
            "b": self.params.b,
            "epsilon": self.params.epsilon,
            "tokenizer": self.signature,
            "documents": {
                "index_titles": self.config.index_titles,
                "passage_sentences": self.config.passage_sentences,
                "passage_step": self.config.passage_step,
            },
        }

    def scan(self, corpus_path: str | os.PathLike, recorded: dict | None) -> list[dict]:
        """The corpus files now: path, size, mtime and sha256, the hash reused from ``recorded`` (the
        last build's params.json) for a file whose size and mtime did not change."""
        known = {entry["path"]: entry for entry in ((recorded or {}).get("corpus") or {}).get("files", [])}
        files = []
        for path in loader.article_files(Path(corpus_path)):
            resolved = path.resolve()
            try:
                files.append(file_fingerprint(resolved, known.get(str(resolved))))
            except FileNotFoundError:
                raise CorpusError(path, "the file disappeared while the corpus was being read (deleted meanwhile?)") from None
        return files

    def recorded(self, corpus_path: str | os.PathLike) -> dict | None:
        """The params.json of the published index of this corpus, or None."""
        try:
            return json.loads((self.link_for(corpus_path) / _PARAMS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def stale_because(self, corpus_path: str | os.PathLike, files: list[dict] | None = None) -> list[str]:
        """Why the persisted index of this corpus cannot be used as it is; empty when it can."""
        link = self.link_for(corpus_path)
        try:
            recorded = json.loads((link / _PARAMS_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return [f"no index yet at {link}"]
        except (OSError, ValueError) as exc:
            return [f"unreadable index at {link}: {exc}"]
        files = self.scan(corpus_path, recorded) if files is None else files
        expected = {**self.settings_record(), "corpus": {"files": files}}
        return describe_changes(recorded, expected)

    def open(
        self, corpus_path: str | os.PathLike, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, force: bool = False
    ) -> Opened:
        """The index of the corpus at ``corpus_path``: the persisted one if up to date, else a fresh
        build (logged). Raises CorpusError for a bad corpus; the previous build then stays published."""
        started = time.perf_counter()
        link = self.link_for(corpus_path)
        recorded = self.recorded(corpus_path)
        files = self.scan(corpus_path, recorded)
        reasons = ["rebuild requested"] if force else self.stale_because(corpus_path, files)
        previous = None
        if recorded is not None:
            try:
                previous = load(link)
            except (OSError, ValueError, KeyError) as exc:
                reasons = reasons or [f"unreadable index at {link}: {exc}"]
        if not reasons and previous is not None:
            return Opened(*previous, link.resolve(), (), None, time.perf_counter() - started)
        log.info("building the index of %s: %s", corpus_path, "; ".join(reasons))
        reusable = previous if previous is not None and not force and self._reusable(recorded) else None
        stats = self.build(corpus_path, max_file_bytes, files, reusable)
        return Opened(*load(link), link.resolve(), tuple(reasons), stats, time.perf_counter() - started)

    def _reusable(self, recorded: dict | None) -> bool:
        """Whether a previous build's parsed files and postings can be carried into the next: the same
        tokenizer, indexed text and format, and postings numbered by this very token cache."""
        if not recorded:
            return False
        mine = self.settings_record()
        same = all(recorded.get(key) == mine[key] for key in ("format_version", "library_version", "sentence_rule", "tokenizer", "documents"))
        return same and recorded.get("token_cache") == self.token_cache.instance

    def build(self, corpus_path: str | os.PathLike, max_file_bytes: int, files: list[dict],
              previous: tuple[BM25Index, StoredCorpus, DocumentTable] | None = None) -> BuildStats:
        """Build the index of the corpus at ``corpus_path`` (its ``files`` as ``scan`` found them) and
        publish it atomically; with ``previous``, unchanged files come from that build."""
        link = self.link_for(corpus_path)
        link.parent.mkdir(parents=True, exist_ok=True)
        with _locked(link.with_name(link.name + ".lock")):
            build_dir = link.with_name(f"{link.name}.{uuid.uuid4().hex[:12]}")
            build_dir.mkdir()
            try:
                stats, counts, meta = _Build(self, Path(corpus_path), max_file_bytes, files, previous, build_dir).run()
                record = {
                    **self.settings_record(),
                    "token_cache": self.token_cache.instance,
                    "corpus": {"files": files, **counts},
                    "index": meta,
                }
                _write_durably(build_dir / _PARAMS_FILE, json.dumps(record, ensure_ascii=False, indent=1))
                _publish(build_dir, link)
            except BaseException:
                shutil.rmtree(build_dir, ignore_errors=True)
                raise
            _remove_old_builds(link)
        return stats

    def close(self) -> None:
        if "token_cache" in self.__dict__:
            self.token_cache.close()


class _FileRead(NamedTuple):
    """A file parsed now, waiting for the stored corpus until its paragraphs' cuts are known."""

    first: int  # the paragraph id it was numbered from
    record: dict
    articles: list
    warnings: list[str]
    keys: list[bytes]  # each paragraph's cuts key in the token cache
    texts: list[tuple[str, ...]]  # each paragraph's texts to cut


class _FileCopied(NamedTuple):
    """An unchanged file, waiting its turn to be copied from the previous stored corpus."""

    first: int  # the paragraph id it was numbered from
    record: dict
    old_corpus: StoredCorpus
    number: int  # its number there


class _Build:
    """One build: the stored corpus, the documents and their keys, then the index."""

    def __init__(self, store: IndexStore, root: Path, max_file_bytes: int, files: list[dict],
                 previous: tuple[BM25Index, StoredCorpus, DocumentTable] | None, folder: Path) -> None:
        self.store = store
        self.config = store.config
        self.cache = store.token_cache
        self.root = root
        self.max_file_bytes = max_file_bytes
        self.files = files
        self.previous = previous
        self.folder = folder
        self.paragraph_keys = bytearray()
        self.passage_keys = bytearray()
        self.passages = array("i")  # (paragraph id, first, last) triplets
        self.new_paragraphs = array("q")  # paragraph ids whose tokens come from the token cache
        self.new_passages = array("q")  # passage numbers (0-based) likewise
        self.old_paragraph_ids = array("q")  # per kept old paragraph document: (old id, new id) pairs
        self.old_passage_ids = array("q")  # per kept old passage: (old passage number, new passage number)
        self.pending: dict[bytes, str] = {}  # texts the token cache lacks, by key
        self.tokenized = 0
        self.cut = 0
        self.defined_at: dict[str, str] = {}
        # Writes to the stored corpus waiting for the cuts of their paragraphs, in corpus order.
        self.writes: list[_FileRead | _FileCopied] = []
        self.waiting = 0  # paragraphs of files read waiting in ``writes``
        self.paragraph_count = 0  # paragraphs numbered so far, written or waiting

    def run(self) -> tuple[BuildStats, dict, dict]:
        started = time.perf_counter()
        # The previous build's blocks are copied as they are, so its compression dictionary is kept.
        writer = StoredCorpusWriter(self.folder, self.previous[1].dictionary if self.previous is not None else None)
        old_files = {}
        if self.previous is not None:
            old_files = {entry["path"]: (n, entry) for n, entry in enumerate(self.previous[1].file_entries())}
        read = reused = 0
        new_bytes = sum(f["size"] for f in self.files if (old_files.get(f["path"], (0, {}))[1].get("sha256") != f["sha256"]))
        with Tokenizing(self.store.tokenizer, self.store.workers) as self.tokenizing, \
                progress_bar(new_bytes, "indexing", "B", self.store.quiet, unit_scale=True) as progress:
            for record in self.files:
                old = old_files.get(record["path"])
                if old is not None and old[1].get("sha256") == record["sha256"]:
                    self._copy(record, *old)
                    reused += 1
                else:
                    self._read(record, old)
                    read += 1
                    progress.update(record["size"])
                if self.waiting >= _TOKENIZE_BATCH:
                    self._write(writer)
                if len(self.pending) >= _TOKENIZE_BATCH:
                    self._tokenize()
            self._write(writer)
            self._tokenize()
        writer.close()
        if writer.paragraph_count == 0:
            raise CorpusError(self.root, "the corpus is empty: its files hold no articles")
        write_passages(self.folder, self.passages)
        with open(self.folder / _KEYS_FILE, "wb") as out:
            out.write(self.paragraph_keys)
            out.write(self.passage_keys)
        tokenized_at = time.perf_counter()
        meta = self._index(writer.paragraph_count)
        finished = time.perf_counter()
        documents = writer.paragraph_count + len(self.passages) // 3
        counts = {"articles": len(self.defined_at), "paragraphs": writer.paragraph_count, "documents": documents}
        stats = BuildStats(
            paragraphs=writer.paragraph_count, documents=documents, terms=meta["term_count"],
            postings=meta["postings"], tokenized=self.tokenized, cut=self.cut,
            inverted=len(self.new_paragraphs) + len(self.new_passages), files_read=read, files_reused=reused,
            tokenize_seconds=tokenized_at - started, index_seconds=finished - tokenized_at,
            bytes_on_disk=disk_size(self.folder),
        )
        return stats, counts, meta

    def _define(self, article_id: str, where: str, file: Path, line: int | None) -> None:
        if article_id in self.defined_at:
            raise CorpusError(file, f"duplicate article id {article_id!r} (first in {self.defined_at[article_id]})", line)
        self.defined_at[article_id] = where

    def _read(self, record: dict, old: tuple[int, dict] | None = None) -> None:
        """Parse a new or changed file, queue it for the stored corpus, and key its documents. Of a changed file (``old``: its
        number and entry in the previous build), the documents that begin or end it as they began or
        ended it before are carried over like an unchanged file's; only the others are tokenized and
        inverted (an article added at the end of a file of 10,000 paragraphs costs its own documents)."""
        path = Path(record["path"])
        articles, warnings = read_articles(path, self.root, self.max_file_bytes)
        for warning in warnings:
            log.warning("%s", warning)
        for article, line in articles:
            self._define(article.id, f"{path}:{line}" if line else str(path), path, line)
        first = self._wait_for_cuts(record, [article for article, _ in articles], warnings)
        first_passage = len(self.passages) // 3
        paragraphs: list[tuple[bytes, str]] = []
        passages: list[tuple[bytes, str]] = []
        paragraph_id = first
        for article, _ in articles:
            for paragraph in article.paragraphs:
                text = indexed_text(article, paragraph, self.config)
                paragraphs.append((content_key(text), text))
                windows = passage_windows(len(paragraph.sentences), self.config.passage_sentences, self.config.passage_step)
                for first_sentence, last_sentence in windows:
                    self.passages.extend((paragraph_id, first_sentence, last_sentence))
                    text = passage_text(article, paragraph, first_sentence, last_sentence, self.config)
                    passages.append((content_key(text), text))
                paragraph_id += 1
        old_paragraphs, old_passages = self._old_documents(old[1]) if old is not None else ((0, 0), (0, 0))
        passage_keys_from = self.previous[2].paragraph_count if old is not None else 0  # passages' keys follow paragraphs'
        self._key_documents(paragraphs, first, old_paragraphs, 0, self.paragraph_keys, self.new_paragraphs, self.old_paragraph_ids)
        self._key_documents(passages, first_passage, old_passages, passage_keys_from, self.passage_keys, self.new_passages, self.old_passage_ids)

    def _key_documents(self, documents: list[tuple[bytes, str]], first: int, old: tuple[int, int], old_base: int,
                       keys: bytearray, new: array, moved: array) -> None:
        """Key a file's documents, numbered from ``first``: those its previous version held at its start
        or end (``old``: their first number and count, their keys after ``old_base`` documents) move
        over, the others wait for the token cache."""
        old_first, old_count = old
        stored = self.previous_keys[(old_base + old_first) * _KEY_BYTES : (old_base + old_first + old_count) * _KEY_BYTES] if old_count else b""
        old_key = lambda i: stored[i * _KEY_BYTES : (i + 1) * _KEY_BYTES]  # noqa: E731
        n = len(documents)
        head = 0
        while head < min(n, old_count) and documents[head][0] == old_key(head):
            head += 1
        tail = 0
        while tail < min(n, old_count) - head and documents[n - 1 - tail][0] == old_key(old_count - 1 - tail):
            tail += 1
        moved.extend(_pairs(old_first, first, head))
        moved.extend(_pairs(old_first + old_count - tail, first + n - tail, tail))
        for i, (key, text) in enumerate(documents):
            keys += key
            if head <= i < n - tail:
                new.append(first + i)
                self.pending[key] = text

    def _old_documents(self, entry: dict) -> tuple[tuple[int, int], tuple[int, int]]:
        """The first number and count of a file's paragraphs, and of its passages, in the previous build."""
        old_first, count = entry["paragraphs"]
        # The file's passages are the previous build's passages of its paragraphs, which are contiguous.
        start = bisect_left(_Column(self.previous_passages), old_first)
        stop = bisect_left(_Column(self.previous_passages), old_first + count)
        return (old_first, count), (start, stop - start)

    def _copy(self, record: dict, number: int, entry: dict) -> None:
        """Carry an unchanged file over from the previous build: its stored articles (queued), its documents,
        and (later) their postings."""
        _, old_corpus, old_documents = self.previous
        path = Path(record["path"])
        a0, a_count = entry["articles"]
        for a in range(a0, a0 + a_count):
            self._define(old_corpus.article_id(a), str(path), path, None)
        (old_first, count), (start, passage_count) = self._old_documents(entry)
        new_first = self.paragraph_count
        self.paragraph_count += count
        self.writes.append(_FileCopied(new_first, record, old_corpus, number))
        old_keys = self.previous_keys
        old_paragraphs = old_documents.paragraph_count
        # Slices, not a loop a document: a file of 10,000 paragraphs has some 25,000 passages.
        self.old_paragraph_ids.extend(_pairs(old_first, new_first, count))
        self.paragraph_keys += old_keys[old_first * _KEY_BYTES : (old_first + count) * _KEY_BYTES]
        stop = start + passage_count
        self.old_passage_ids.extend(_pairs(start, len(self.passages) // 3, passage_count))
        triplets = array("i", self.previous_passages[3 * start : 3 * stop])
        shift = new_first - old_first
        if shift:
            triplets[0::3] = array("i", (paragraph_id + shift for paragraph_id in triplets[0::3]))
        self.passages.extend(triplets)
        self.passage_keys += old_keys[(old_paragraphs + start) * _KEY_BYTES : (old_paragraphs + stop) * _KEY_BYTES]

    def _wait_for_cuts(self, record: dict, articles: list, warnings: list[str]) -> int:
        """Queue a file read for the stored corpus until its paragraphs' cuts are known; returns the
        first paragraph id it will get."""
        first = self.paragraph_count
        texts = [cut_texts(article.title, paragraph) for article in articles for paragraph in article.paragraphs]
        self.writes.append(_FileRead(first, record, articles, warnings, [cuts_key(t) for t in texts], texts))
        self.paragraph_count += len(texts)
        self.waiting += len(texts)
        return first

    def _write(self, writer: StoredCorpusWriter) -> None:
        """Write the waiting files in order: the cuts the token cache lacks are cut now, on every core."""
        read = [write for write in self.writes if isinstance(write, _FileRead)]
        wanted = {key: texts for write in read for key, texts in zip(write.keys, write.texts)}
        found = self.cache.cuts_of(wanted)
        missing = [key for key in wanted if key not in found]
        if missing:
            cut = list(self.tokenizing.cuts([wanted[key] for key in missing]))
            self.cache.put_cuts(zip(missing, cut))
            found.update(zip(missing, cut))
            self.cut += len(missing)
        # Most pieces are a few thousand words and marks, asked of again and again.
        word_of = lru_cache(maxsize=65536)(self.store.tokenizer.piece_word)
        for write in self.writes:
            if isinstance(write, _FileRead):
                cuts = [marked(texts, found[key], word_of) for key, texts in zip(write.keys, write.texts)]
                written, _ = writer.add(write.record, write.articles, write.warnings, cuts)
            else:
                written, _ = writer.copy(write.record, write.old_corpus, write.number)
            if written != write.first:  # a numbering slip would misplace every later paragraph's postings
                raise RuntimeError(f"{write.record['path']}: written from paragraph {written}, numbered from {write.first}")
        self.writes.clear()
        self.waiting = 0

    @cached_property
    def previous_keys(self) -> memoryview:
        return _mapped(self.previous[1].folder / _KEYS_FILE)

    @cached_property
    def previous_passages(self) -> memoryview:
        return _mapped(self.previous[1].folder / "passages.bin").cast("i")

    def _tokenize(self) -> None:
        """Tokenize the pending texts the token cache lacks, storing them as they come."""
        if not self.pending:
            return
        missing = self.cache.missing(self.pending)
        todo = [(key, text) for key, text in self.pending.items() if key in missing]
        self.pending.clear()
        batch: list[tuple[bytes, list[str]]] = []
        for (key, _), tokens in zip(todo, self.tokenizing.tokens([text for _, text in todo])):
            batch.append((key, tokens))
            if len(batch) >= _PUT_BATCH:
                self.cache.put(batch)
                batch.clear()
        self.cache.put(batch)
        self.tokenized += len(todo)

    def _index(self, paragraph_count: int) -> dict:
        from retrieval.index_build import build_index, previous_build

        doc_count = paragraph_count + len(self.passages) // 3
        keys = bytes(self.paragraph_keys) + bytes(self.passage_keys)
        new_docs = array("q", self.new_paragraphs)
        new_docs.extend(paragraph_count + n for n in self.new_passages)
        previous = None
        if self.previous is not None and (self.old_paragraph_ids or self.old_passage_ids):
            old_index, _, old_documents = self.previous
            previous = previous_build(
                old_index, old_documents.paragraph_count, paragraph_count, self.old_paragraph_ids, self.old_passage_ids,
                self.previous[1].folder,
            )

        def chunks() -> Iterator[tuple[array, list[bytes]]]:
            step = 20_000
            for start in range(0, len(new_docs), step):
                ids = new_docs[start : start + step]
                wanted = [keys[d * _KEY_BYTES : (d + 1) * _KEY_BYTES] for d in ids]
                yield ids, list(self.cache.id_arrays(wanted))

        def tokens_of(doc: int) -> bytes:
            return next(self.cache.id_arrays([keys[doc * _KEY_BYTES : (doc + 1) * _KEY_BYTES]]))

        meta = build_index(self.folder, chunks(), doc_count, self.cache.terms_of, self.store.params, previous, tokens_of)
        return meta


def _pairs(old_first: int, new_first: int, count: int) -> array:
    """(old id, new id) pairs, flat, of ``count`` consecutive documents moved from ``old_first`` to
    ``new_first``.

    >>> _pairs(5, 7, 2).tolist()
    [5, 7, 6, 8]
    """
    pairs = array("q", bytes(16 * count))
    pairs[0::2] = array("q", range(old_first, old_first + count))
    pairs[1::2] = array("q", range(new_first, new_first + count))
    return pairs


class _Column:
    """The paragraph ids of flat (paragraph, first, last) triplets, as a sequence for bisect."""

    def __init__(self, triplets) -> None:
        self.triplets = triplets

    def __len__(self) -> int:
        return len(self.triplets) // 3

    def __getitem__(self, i: int) -> int:
        return self.triplets[3 * i]


def _mapped(path: Path) -> memoryview:
    import mmap

    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return memoryview(b"")
        return memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))


def load(link: Path) -> tuple[BM25Index, StoredCorpus, DocumentTable]:
    """Open a published build: the index memory-mapped, the stored corpus and its documents."""
    directory = link.resolve()
    record = json.loads((directory / _PARAMS_FILE).read_text(encoding="utf-8"))
    index = BM25Index.load(directory, record["index"])
    corpus = StoredCorpus(directory)
    documents = DocumentTable.open(directory, corpus)
    if len(documents) != index.doc_count:
        raise ValueError(f"{directory}: the index holds {index.doc_count} documents, the corpus {len(documents)}")
    return index, corpus, documents


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _publish(build_dir: Path, link: Path) -> None:
    """Point ``link`` at ``build_dir`` in one atomic step (rename of a fresh symlink over the old)."""
    for entry in build_dir.iterdir():
        if entry.is_file():
            with open(entry, "rb") as handle:
                os.fsync(handle.fileno())
    staged = link.with_name(f"{link.name}.link-{uuid.uuid4().hex[:8]}")
    os.symlink(build_dir.name, staged)
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)
    os.replace(staged, link)


def _remove_old_builds(link: Path) -> None:
    """Delete builds the link no longer points at (a process still reading one keeps its open files)."""
    current = link.resolve().name
    for entry in link.parent.glob(f"{link.name}.*"):
        if entry.name == current or entry.suffix == ".lock":
            continue
        if entry.is_symlink() or entry.is_file():
            entry.unlink(missing_ok=True)
        else:
            shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder at a time per index, across processes."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
