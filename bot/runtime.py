"""Loading what every front end needs, once: the settings' corpus and an Answerer over its index.

The index and the parsed corpus are the persisted build when it is up to date with the corpus files
(their sizes and mtimes), else they are rebuilt first (the reason is logged), so a restart maps files
instead of parsing articles. The bot rebuilds in a child process (``build_in_child``), so answering
goes on at full speed, from the previous build, while it runs.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass

from bot.settings import Settings
from corpus.errors import CorpusError
from corpus.stored import CorpusView
from retrieval.answer import Answerer
from retrieval.store import IndexStore, Opened
from retrieval.tokenizing import use_persistent_jieba_cache

log = logging.getLogger(__name__)


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


def load_answerer(settings: Settings, quiet: bool = False, warm: bool = False) -> Loaded:
    """Open the settings' corpus and its index (building them if the files changed); raises
    corpus.errors.CorpusError on a bad corpus. ``warm`` loads the tokenizer's dictionaries in a
    background thread, for a front end that first waits for a question."""
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
    if warm:
        warm_up(answerer)
    seconds = time.perf_counter() - started
    log.debug("opened %d paragraphs and their index in %.2f s", len(opened.corpus), seconds)
    return Loaded(opened.corpus, answerer, seconds, opened)


def warm_up(answerer: Answerer) -> threading.Thread:
    """Load jieba's dictionary (and the converters) in a daemon thread, so the first question does
    not wait for it when it arrives later; a question asked sooner waits for the same one-time load."""
    thread = threading.Thread(target=answerer.tokenizer.tokens, args=("二十四",), name="warm-up", daemon=True)
    thread.start()
    return thread


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
