"""Tokenizing many paragraphs at once: on every core, jieba loaded once per worker process, with a
progress bar on a terminal. Also where jieba keeps its dictionary cache.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.pool
import os
from pathlib import Path
from typing import Iterator, Sequence

from retrieval.sentence_cuts import paragraph_cuts
from retrieval.tokenize import Tokenizer

# Below this many paragraphs to tokenize, starting worker processes (each loading jieba's dictionary)
# costs more than it saves.
_PARALLEL_FROM = 2000

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


class Tokenizing:
    """Tokenizes batch after batch of texts: in this process for a few, on a pool of ``workers``
    processes (started at the first batch large enough to pay for it, kept for the next) for many."""

    def __init__(self, tokenizer: Tokenizer, workers: int) -> None:
        self.tokenizer = tokenizer
        self.workers = workers
        self._pool_context = None
        self._pool = None
        self._serial_ready = False

    def __enter__(self) -> "Tokenizing":
        return self

    def __exit__(self, *exc) -> None:
        if self._pool_context is not None:
            self._pool_context.__exit__(*exc)
            self._pool_context = self._pool = None

    def tokens(self, texts: Sequence[str]) -> Iterator[list[str]]:
        """Each text's tokens, in order."""
        return self._map(worker_tokens, texts)

    def cuts(self, paragraphs: Sequence[Sequence[str]]) -> Iterator[str | None]:
        """Each paragraph's stored sentence cuts (``retrieval.sentence_cuts``), from its texts to cut."""
        return self._map(paragraph_cuts, paragraphs)

    def _map(self, function, items: Sequence) -> Iterator:
        if self._pool is None and (self.workers <= 1 or len(items) < _PARALLEL_FROM):
            if not self._serial_ready:
                _start_worker(self.tokenizer)
                self._serial_ready = True
            yield from map(function, items)
            return
        if self._pool is None:
            self._pool_context = tokenizing_pool(self.tokenizer, self.workers)
            self._pool = self._pool_context.__enter__()
        yield from self._pool.imap(function, items, chunksize=64)


def tokenize_texts(texts: Sequence[str], tokenizer: Tokenizer, workers: int, quiet: bool = False) -> Iterator[list[str]]:
    """Each text's tokens, in order, on ``workers`` processes, with a progress bar (rate and ETA)
    unless quiet or not on a terminal."""
    with progress_bar(len(texts), "tokenizing", "para", quiet) as progress, Tokenizing(tokenizer, workers) as tokenizing:
        for tokens in tokenizing.tokens(texts):
            # Counted before it is handed over: a consumer that stops after the last one (zip does)
            # would otherwise leave the bar one short of 100%.
            progress.update()
            yield tokens


def progress_bar(total: int | None, description: str, unit: str, quiet: bool, **options):
    """A tqdm progress bar shown only on a terminal, and never with -q or in CI."""
    from tqdm import tqdm

    return tqdm(
        total=total, unit=unit, desc=description, smoothing=0.1,
        disable=True if quiet or os.environ.get("CI") else None,  # None: only on a terminal
        **options,
    )


def worker_count(setting: int) -> int:
    """``index.workers``: 0 means every core this process may use.

    >>> worker_count(3)
    3
    """
    if setting > 0:
        return setting
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def use_persistent_jieba_cache(cache_dir: Path) -> None:
    """Keep jieba's prefix-dictionary cache in our cache directory instead of the system temp folder,
    so a cold start finds it even after the temp folder is cleaned."""
    from retrieval.jieba_dictionary import import_jieba

    jieba = import_jieba()

    if jieba.dt.tmp_dir is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        jieba.dt.tmp_dir = str(cache_dir)
