"""The persisted index of a corpus: built once, reopened memory-mapped, rebuilt only when something changed.

Layout under the cache directory (``settings.index.cache_dir``)::

    tokens-v2-<tokenizer hash>.sqlite3  token ids by paragraph content hash, shared by every corpus
    <corpus name>-<path hash>           symlink to the current build of that corpus' index
    <corpus name>-<path hash>.<id>/     one build: BM25 arrays (.npy), terms.txt, params.json

A build is written into a fresh directory and published by atomically replacing the symlink, so a
reader sees either the old index or the new one, never half of one, even if the builder crashes.

``params.json`` records what the index depends on: the format version, BM25 parameters, tokenizer
signature (with the stopword list's hash), the corpus files (path, size, mtime, content hash) and this
library's version (retrieval/fingerprint.py). When any of them differs on open, the index is rebuilt
and the difference logged. Tokenizing dominates a build, so token lists are cached by the paragraph's
content hash (retrieval/token_cache.py), and what the cache lacks is tokenized on every core
(retrieval/tokenizing.py).
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
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Iterator, Sequence

from corpus.model import Corpus
from retrieval.config import AnswerConfig
from retrieval.documents import indexed_documents
from retrieval.fingerprint import corpus_fingerprint, describe_changes
from retrieval.index import BM25Index, BM25Params, disk_size
from retrieval.token_cache import TOKEN_CACHE_VERSION, TokenCache, content_key
from retrieval.tokenize import Tokenizer
from retrieval.tokenizing import tokenize_texts, worker_count

log = logging.getLogger(__name__)

# Bump when the files written here change meaning; older builds are then rebuilt, not misread.
FORMAT_VERSION = 1
_PARAMS_FILE = "params.json"


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
