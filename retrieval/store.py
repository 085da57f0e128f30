"""The persisted index of a corpus: built once, reopened memory-mapped, rebuilt only when something changed.

Layout under the cache directory (``settings.index.cache_dir``)::

    tokens-v2-<tokenizer hash>.sqlite3  token ids by paragraph content hash, shared by every corpus
    <corpus name>-<path hash>           symlink to the current build of that corpus' index
    <corpus name>-<path hash>.<id>/     one build: BM25 arrays (.npy), terms.txt, params.json

A build is written into a fresh directory and published by atomically replacing the symlink, so a
reader sees either the old index or the new one, never half of one, even if the builder crashes.

``params.json`` records what the index depends on: the format version, BM25 parameters, tokenizer
signature (with the stopword list's hash), the corpus files (path, size, mtime, content hash) and this
library's version. When any of them differs on open, the index is rebuilt and the difference logged.
Tokenizing dominates a build, so token lists are cached by the paragraph's content hash: re-indexing
after adding one article tokenizes only that article's paragraphs.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import multiprocessing
import multiprocessing.pool
import os
import shutil
import sqlite3
import time
import uuid
from array import array
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from corpus.model import Corpus
from retrieval.documents import indexed_documents
from retrieval.config import AnswerConfig
from retrieval.index import BM25Index, BM25Params, disk_size
from retrieval.tokenize import Tokenizer

log = logging.getLogger(__name__)

# Bump when the files written here change meaning; older builds are then rebuilt, not misread.
FORMAT_VERSION = 1
_PARAMS_FILE = "params.json"
# Part of the token cache's file name: a cache written in another layout is simply not opened.
TOKEN_CACHE_VERSION = 2
# Below this many paragraphs to tokenize, starting worker processes (each loading jieba's dictionary)
# costs more than it saves.
_PARALLEL_FROM = 2000
_SQL_BATCH = 500


def content_key(text: str) -> bytes:
    """The token cache's key: a hash of exactly the text that was tokenized.

    >>> content_key("abc") == content_key("abc") != content_key("abd")
    True
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def library_version() -> str:
    try:
        return metadata.version("qabot")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class BuildStats:
    """What one build did and cost."""

    paragraphs: int
    terms: int
    postings: int
    tokenized: int  # paragraphs tokenized now; the others came from the token cache
    tokenize_seconds: float
    index_seconds: float
    bytes_on_disk: int


@dataclass(frozen=True)
class Opened:
    """An index ready for queries, and how it was obtained."""

    index: BM25Index
    directory: Path
    rebuilt_because: tuple[str, ...]  # empty when the persisted index was up to date
    build: BuildStats | None  # None when the persisted index was opened as it was
    seconds: float


class TokenCache:
    """Token lists by paragraph content hash, in one sqlite3 file per tokenizer signature.

    Tokens are stored as int32 ids into the cache's own vocabulary table, so that building an index
    reads arrays instead of looking up every token of the corpus again.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Autocommit mode: transactions are opened explicitly where ids are assigned.
        self._db = sqlite3.connect(path, timeout=60, isolation_level=None)
        # WAL lets a reader (a bot reloading) and a builder share the file; NORMAL sync keeps WAL safe.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE)")
        self._db.execute("CREATE TABLE IF NOT EXISTS tokens (key BLOB PRIMARY KEY, ids BLOB NOT NULL) WITHOUT ROWID")
        self.vocabulary: list[str] = []  # term of each id
        self._ids: dict[str, int] = {}

    def close(self) -> None:
        self._db.close()

    def missing(self, keys: Iterable[bytes]) -> set[bytes]:
        """Those of ``keys`` with no cached token list."""
        wanted = set(keys)
        for batch in _batches(list(wanted), _SQL_BATCH):
            marks = ",".join("?" * len(batch))
            wanted.difference_update(row[0] for row in self._db.execute(f"SELECT key FROM tokens WHERE key IN ({marks})", batch))
        return wanted

    def put(self, items: Iterable[tuple[bytes, Sequence[str]]]) -> None:
        """Store (key, token list) pairs, giving new terms the next ids."""
        # IMMEDIATE takes the write lock first, so two builders never hand out the same id.
        self._db.execute("BEGIN IMMEDIATE")
        first_new = None
        try:
            self.refresh()
            first_new = len(self.vocabulary)
            rows = []
            for key, tokens in items:
                for term in sorted(set(tokens).difference(self._ids)):
                    self._ids[term] = len(self.vocabulary)
                    self.vocabulary.append(term)
                rows.append((key, array("i", map(self._ids.__getitem__, tokens)).tobytes()))
            self._db.executemany(
                "INSERT INTO terms (id, term) VALUES (?, ?)",
                ((i, self.vocabulary[i]) for i in range(first_new, len(self.vocabulary))),
            )
            self._db.executemany("INSERT OR REPLACE INTO tokens (key, ids) VALUES (?, ?)", rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            if first_new is not None:
                self._forget_from(first_new)
            raise

    def refresh(self) -> None:
        """Read the terms other processes have added since this cache last looked."""
        for term_id, term in self._db.execute("SELECT id, term FROM terms WHERE id >= ? ORDER BY id", (len(self.vocabulary),)):
            if term_id != len(self.vocabulary):
                raise ValueError(f"{self.path}: term ids are not contiguous at {term_id}")
            self._ids[term] = term_id
            self.vocabulary.append(term)

    def _forget_from(self, first: int) -> None:
        for term in self.vocabulary[first:]:
            del self._ids[term]
        del self.vocabulary[first:]

    def id_arrays(self, keys: Sequence[bytes]) -> Iterator[bytes]:
        """The cached token ids of each key (native int32 bytes), in order; every key must be cached."""
        for batch in _batches(keys, _SQL_BATCH):
            unique = list(dict.fromkeys(batch))
            marks = ",".join("?" * len(unique))
            found = dict(self._db.execute(f"SELECT key, ids FROM tokens WHERE key IN ({marks})", unique))
            yield from map(found.__getitem__, batch)

    def token_lists(self, keys: Sequence[bytes]) -> Iterator[list[str]]:
        """The cached token list of each key, in order; every key must be cached."""
        self.refresh()
        term = self.vocabulary.__getitem__
        for ids in self.id_arrays(keys):
            yield list(map(term, memoryview(ids).cast("i")))


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- parallel tokenizing -------------------------------------------------------------------------

_WORKER_TOKENIZER: Tokenizer | None = None


def _start_worker(tokenizer: Tokenizer, ready=None) -> None:
    """Pool initializer: load jieba's dictionary (and the converters) once per worker, not per task."""
    global _WORKER_TOKENIZER
    _WORKER_TOKENIZER = tokenizer
    tokenizer.tokens("二十")
    if ready is not None:
        ready.put(os.getpid())


def worker_tokens(text: str) -> list[str]:
    """The tokens of ``text``, by this worker's tokenizer."""
    return _WORKER_TOKENIZER.tokens(text)


@contextlib.contextmanager
def tokenizing_pool(tokenizer: Tokenizer, workers: int) -> Iterator[multiprocessing.pool.Pool]:
    """A pool of ``workers`` processes, returned only once every worker has loaded jieba, so that
    timing it measures tokenizing, not start-up."""
    # fork shares the parent's loaded modules; each worker still builds its own jieba state once.
    context = multiprocessing.get_context("fork")
    ready = context.SimpleQueue()
    with context.Pool(workers, initializer=_start_worker, initargs=(tokenizer, ready)) as pool:
        for _ in range(workers):
            ready.get()
        yield pool


def tokenize_texts(texts: Sequence[str], tokenizer: Tokenizer, workers: int, quiet: bool = False) -> Iterator[list[str]]:
    """Each text's tokens, in order, on ``workers`` processes, with a progress bar (rate and ETA)
    unless quiet or not on a terminal."""
    from tqdm import tqdm

    progress = tqdm(
        total=len(texts),
        unit="para",
        desc="tokenizing",
        disable=True if quiet or os.environ.get("CI") else None,  # None: only on a terminal
        smoothing=0.1,
    )
    with progress:
        if workers <= 1 or len(texts) < _PARALLEL_FROM:
            _start_worker(tokenizer)
            for text in texts:
                yield worker_tokens(text)
                progress.update()
            return
        with tokenizing_pool(tokenizer, workers) as pool:
            for tokens in pool.imap(worker_tokens, texts, chunksize=64):
                yield tokens
                progress.update()


def worker_count(setting: int) -> int:
    """``index.workers``: 0 means every core this process may use.

    >>> worker_count(3)
    3
    """
    if setting > 0:
        return setting
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


# --- fingerprints --------------------------------------------------------------------------------


def file_fingerprint(path: Path, known: dict | None = None) -> dict:
    """Path, size, mtime and sha256 of one corpus file.

    The content hash is reused from ``known`` when size and mtime are unchanged, as git and make trust
    them: hashing a large archive on every start would cost seconds.
    """
    stat = path.stat()
    entry = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if known and known.get("size") == stat.st_size and known.get("mtime_ns") == stat.st_mtime_ns:
        entry["sha256"] = known["sha256"]
    else:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        entry["sha256"] = digest.hexdigest()
    return entry


def corpus_fingerprint(corpus: Corpus, texts: Sequence[str], known: dict | None = None) -> dict:
    """The corpus as the index depends on it: its files, and counts of what is indexed (``texts``) that
    catch a change in how the files are read into paragraphs or which text of a paragraph is indexed."""
    known_files = {entry["path"]: entry for entry in (known or {}).get("files", [])}
    files = []
    for name in corpus.files:
        path = Path(name).resolve()
        files.append(file_fingerprint(path, known_files.get(str(path))))
    fingerprint = {
        "files": files,
        "articles": len(corpus.articles),
        "paragraphs": len(texts),
        "characters": sum(map(len, texts)),
    }
    if not files:
        # A corpus built in memory has no files to compare, so its content is hashed instead.
        digest = hashlib.sha256()
        for text in texts:
            digest.update(content_key(text))
        fingerprint["content_sha256"] = digest.hexdigest()
    return fingerprint


def describe_changes(old: dict, new: dict) -> list[str]:
    """Human-readable differences between two ``params.json`` records, for the rebuild log.

    >>> describe_changes({"k1": 1.2, "tokenizer": {"version": 2}}, {"k1": 1.5, "tokenizer": {"version": 3}})
    ['k1 changed from 1.2 to 1.5', 'tokenizer changed (version 2 -> 3)']
    """
    changes = []
    for key in sorted(set(old) | set(new)):
        if key == "corpus" or key == "index":
            continue
        before, after = old.get(key), new.get(key)
        if before != after and isinstance(before, dict) and isinstance(after, dict):
            parts = [f"{k} {before.get(k)} -> {after.get(k)}" for k in sorted(before.keys() | after.keys()) if before.get(k) != after.get(k)]
            changes.append(f"{key} changed ({', '.join(parts)})")
        elif before != after:
            changes.append(f"{key} changed from {before} to {after}")
    old_corpus, new_corpus = old.get("corpus", {}), new.get("corpus", {})
    old_files = {entry["path"]: entry for entry in old_corpus.get("files", [])}
    new_files = {entry["path"]: entry for entry in new_corpus.get("files", [])}
    for path in sorted(new_files.keys() - old_files.keys()):
        changes.append(f"new file {path}")
    for path in sorted(old_files.keys() - new_files.keys()):
        changes.append(f"file removed: {path}")
    for path in sorted(old_files.keys() & new_files.keys()):
        if old_files[path]["sha256"] != new_files[path]["sha256"]:
            changes.append(f"file changed: {path} ({old_files[path]['size']} -> {new_files[path]['size']} bytes)")
    for key in ("articles", "paragraphs", "characters", "content_sha256"):
        if old_corpus.get(key) != new_corpus.get(key):
            changes.append(f"corpus {key} changed from {old_corpus.get(key)} to {new_corpus.get(key)}")
    return changes


# --- the store -----------------------------------------------------------------------------------


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

    def texts(self, corpus: Corpus) -> list[str]:
        """The indexed text of every document: each paragraph in corpus order, then the passages of the
        long ones (``retrieval.documents``)."""
        return [document.text for document in indexed_documents(corpus, self.config)]

    def expected(self, corpus: Corpus, texts: Sequence[str], known: dict | None = None) -> dict:
        """The ``params.json`` record an up-to-date index of ``corpus`` has (without its index section)."""
        return {
            "format_version": FORMAT_VERSION,
            "library_version": library_version(),
            "k1": self.params.k1,
            "b": self.params.b,
            "epsilon": self.params.epsilon,
            "tokenizer": self.signature,
            "corpus": corpus_fingerprint(corpus, texts, known),
        }

    def stale_because(self, corpus: Corpus, corpus_path: str | os.PathLike) -> list[str]:
        """Why the persisted index of this corpus cannot be used as it is; empty when it can."""
        link = self.link_for(corpus_path)
        try:
            recorded = json.loads((link / _PARAMS_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return [f"no index yet at {link}"]
        except (OSError, ValueError) as exc:
            return [f"unreadable index at {link}: {exc}"]
        return describe_changes(recorded, self.expected(corpus, self.texts(corpus), recorded.get("corpus")))

    def open(self, corpus: Corpus, corpus_path: str | os.PathLike, force: bool = False) -> Opened:
        """The index of ``corpus``: the persisted one if up to date, else a fresh build (logged)."""
        started = time.perf_counter()
        reasons = ["rebuild requested"] if force else self.stale_because(corpus, corpus_path)
        link = self.link_for(corpus_path)
        if not reasons:
            try:
                index = load(link)
            except (OSError, ValueError, KeyError) as exc:
                reasons = [f"unreadable index at {link}: {exc}"]
            else:
                return Opened(index, link.resolve(), (), None, time.perf_counter() - started)
        log.info("building the index of %s: %s", corpus_path, "; ".join(reasons))
        stats = self.build(corpus, link)
        return Opened(load(link), link.resolve(), tuple(reasons), stats, time.perf_counter() - started)

    def build(self, corpus: Corpus, link: Path) -> BuildStats:
        """Tokenize what the cache lacks, index, and publish the result at ``link`` atomically."""
        texts = self.texts(corpus)
        if not texts:
            raise ValueError("the corpus has no paragraphs to index")
        keys = [content_key(text) for text in texts]

        started = time.perf_counter()
        tokenized = self.fill_token_cache(texts, keys)
        tokenized_at = time.perf_counter()
        self.token_cache.refresh()
        index = BM25Index.build_from_ids(self.token_cache.id_arrays(keys), self.token_cache.vocabulary, self.params)
        record = self.expected(corpus, texts)
        link.parent.mkdir(parents=True, exist_ok=True)
        with _locked(link.with_name(link.name + ".lock")):
            build_dir = link.with_name(f"{link.name}.{uuid.uuid4().hex[:12]}")
            build_dir.mkdir()
            try:
                record["index"] = index.save(build_dir)
                _write_durably(build_dir / _PARAMS_FILE, json.dumps(record, ensure_ascii=False, indent=1))
                _publish(build_dir, link)
            except BaseException:
                shutil.rmtree(build_dir, ignore_errors=True)
                raise
            _remove_old_builds(link)
        finished = time.perf_counter()
        return BuildStats(
            paragraphs=len(texts),
            terms=len(index.terms),
            postings=index.postings,
            tokenized=tokenized,
            tokenize_seconds=tokenized_at - started,
            index_seconds=finished - tokenized_at,
            bytes_on_disk=disk_size(build_dir),
        )

    def fill_token_cache(self, texts: Sequence[str], keys: Sequence[bytes]) -> int:
        """Tokenize the texts whose keys the cache lacks (each distinct text once); returns how many."""
        missing = self.token_cache.missing(keys)
        todo: dict[bytes, str] = {}
        for key, text in zip(keys, texts):
            if key in missing and key not in todo:
                todo[key] = text
        if not todo:
            return 0
        pending: list[tuple[bytes, list[str]]] = []
        todo_keys = list(todo)
        # Stored in batches as they arrive, so an interrupted build keeps what it has tokenized.
        for key, tokens in zip(todo_keys, tokenize_texts(list(todo.values()), self.tokenizer, self.workers, self.quiet)):
            pending.append((key, tokens))
            if len(pending) >= 5000:
                self.token_cache.put(pending)
                pending.clear()
        self.token_cache.put(pending)
        return len(todo)

    def close(self) -> None:
        if "token_cache" in self.__dict__:
            self.token_cache.close()


def load(link: Path) -> BM25Index:
    """Open a published index, memory-mapped."""
    directory = link.resolve()
    record = json.loads((directory / _PARAMS_FILE).read_text(encoding="utf-8"))
    return BM25Index.load(directory, record["index"])


def _write_durably(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _publish(build_dir: Path, link: Path) -> None:
    """Point ``link`` at ``build_dir`` in one atomic step (rename of a fresh symlink over the old)."""
    for entry in build_dir.iterdir():
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


def use_persistent_jieba_cache(cache_dir: Path) -> None:
    """Keep jieba's prefix-dictionary cache in our cache directory instead of the system temp folder,
    so a cold start finds it even after the temp folder is cleaned."""
    import jieba

    if jieba.dt.tmp_dir is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        jieba.dt.tmp_dir = str(cache_dir)


__all__ = [
    "BuildStats",
    "IndexStore",
    "Opened",
    "TokenCache",
    "content_key",
    "describe_changes",
    "worker_tokens",
    "tokenize_texts",
    "tokenizing_pool",
    "use_persistent_jieba_cache",
]
