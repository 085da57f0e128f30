"""Loading what every front end needs, once: the settings' corpus and an Answerer over its index.

The index and the parsed corpus are the persisted build when it is up to date with the corpus files
(their sizes and mtimes), else they are rebuilt first (the reason is logged), so a restart maps files
instead of parsing articles. The bot rebuilds in a child process (``build_in_child``), so answering
goes on at full speed, from the previous build, while it runs.
"""

from __future__ import annotations

import functools
import gc
import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass
from typing import Callable

from bot.settings import Settings
from corpus.errors import CorpusError
from corpus.stored import CorpusView
from retrieval.answer import Answerer
from retrieval.store import IndexStore, Opened
from retrieval.tokenizing import use_persistent_jieba_cache

log = logging.getLogger(__name__)
# The youngest generation's size at which ``settle`` has it collected (Python's default is 700): at
# 100k paragraphs, 9 collections in 500 questions (the longest 7-9 ms) instead of 140 (a full one of
# 100-140 ms).
YOUNG_GENERATION = 10_000


@dataclass(frozen=True)
class Loaded:
    corpus: CorpusView
    answerer: Answerer
    seconds: float
    opened: Opened


def index_store(settings: Settings, quiet: bool = False) -> IndexStore:
    """The index store the settings describe (cache folder, workers, BM25 parameters)."""
    use_persistent_jieba_cache(settings.index.cache_dir)
    return IndexStore(settings.index.cache_dir, settings.answer, workers=settings.index.workers, quiet=quiet)


def open_index(settings: Settings, quiet: bool = False, force: bool = False) -> tuple[IndexStore, Opened]:
    """The index of the settings' corpus, persisted or rebuilt, and the store it came from (whose
    tokenizer built it). Raises corpus.errors.CorpusError on a bad corpus."""
    store = index_store(settings, quiet)
    try:
        return store, store.open(settings.corpus.path, settings.corpus.max_file_bytes, force=force)
    finally:
        store.close()


def load_answerer(settings: Settings, quiet: bool = False, warm: bool = False, settled: bool = False) -> Loaded:
    """Open the settings' corpus and its index (building them if the files changed); raises
    corpus.errors.CorpusError on a bad corpus. ``warm`` loads the tokenizer's dictionaries in a
    background thread, for a front end that first waits for a question. ``settled`` applies the
    answering processes' garbage-collection policy (``settle``) once the answerer is loaded and warm
    (in the warming thread, with ``warm``), for a front end that has no other answerer to let go of."""
    started = time.perf_counter()
    store, opened = open_index(settings, quiet)
    if opened.build is None:
        for warning in opened.corpus.warnings:
            log.warning("%s", warning)
    answerer = Answerer(
        opened.corpus,
        settings.answer,
        tokenizer=store.tokenizer,
        index=opened.index,
        cache_dir=settings.index.cache_dir,
        documents=opened.documents,
    )
    then = functools.partial(settle, settings) if settled else None
    if warm:
        warm_up(answerer, then)
    elif then is not None:
        then()
    seconds = time.perf_counter() - started
    log.debug("opened %d paragraphs and their index in %.2f s", len(opened.corpus), seconds)
    return Loaded(opened.corpus, answerer, seconds, opened)


def warm_up(answerer: Answerer, then: Callable[[], None] | None = None) -> threading.Thread:
    """Load jieba's dictionary (and the converters) in a daemon thread, so the first question does
    not wait for it when it arrives later; a question asked sooner waits for the same one-time load.
    ``then`` runs in the thread after the load."""

    def warm() -> None:
        answerer.tokenizer.tokens("二十四")
        if then is not None:
            then()

    thread = threading.Thread(target=warm, name="warm-up", daemon=True)
    thread.start()
    return thread


def settle(settings: Settings) -> None:
    """The garbage-collection policy of the processes that answer, applied once the answerer is
    loaded and warm, and again after every swap of the bot's library: with ``index.freeze_loaded``,
    collect, move every object still alive out of the cyclic collector (``gc.freeze``), and let the
    youngest generation grow to ``YOUNG_GENERATION`` objects before it is collected.

    The tables and caches that live as long as the process are some 260,000 objects at 100k
    paragraphs (pypinyin's phrases, the paragraphs', blocks' and spans' caches); each full collection
    walked them all (100-140 ms, a p99 outlier) to free none. The caches keep replacing entries, so
    objects still reach the oldest generation: collected every 700 allocations, some 127 times in
    500 questions, enough of them did to bring a full collection (of 55,000 objects, 40-53 ms) even
    with the rest frozen. A frozen object is never collected again, so what an earlier call froze (a
    replaced answerer and its index, whose objects point at one another) is unfrozen first and
    collected with the rest: a reload frees the old library instead of keeping it for good."""
    gc.unfreeze()
    if settings.index.freeze_loaded:
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])


def build_in_child(settings: Settings) -> None:
    """Bring the index of the settings' corpus up to date in a child process, so this process (a bot
    answering questions) keeps its memory and its share of the CPU. Raises CorpusError for a bad
    corpus, RuntimeError if the build failed otherwise."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_build_child, args=(settings, send), name="qabot-index-build")
    child.start()
    send.close()
    try:
        outcome = receive.recv()
    except EOFError:
        outcome = ("error", "the index build stopped unexpectedly")
    finally:
        child.join()
        receive.close()
    if outcome is None:
        return
    kind, message = outcome
    if kind == "corpus":
        raise CorpusError(None, message)
    raise RuntimeError(f"{message} (exit status {child.exitcode})" if child.exitcode else message)


def _build_child(settings: Settings, send) -> None:
    """The child of ``build_in_child``: build, and report the outcome (exceptions do not cross)."""
    try:
        open_index(settings, quiet=True)
        outcome = None
    except CorpusError as exc:
        outcome = ("corpus", str(exc))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
        outcome = ("error", f"building the index failed: {type(exc).__name__}: {exc}")
    send.send(outcome)
    send.close()
