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
                tokens = worker_tokens(text)
                # Counted before it is handed over: a consumer that stops after the last one (zip
                # does) would otherwise leave the bar one short of 100%.
                progress.update()
                yield tokens
            return
        with tokenizing_pool(tokenizer, workers) as pool:
            for tokens in pool.imap(worker_tokens, texts, chunksize=64):
                progress.update()
                yield tokens


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
    import jieba

    if jieba.dt.tmp_dir is None:
        cache_dir.mkdir(parents=True, exist_ok=True)
        jieba.dt.tmp_dir = str(cache_dir)
