"""Loading what every front end needs, once: the settings' corpus and an Answerer over its index.

The index is the persisted one when it is up to date with the corpus, else it is rebuilt first (the
reason is logged), so a restart costs a memory-map, not a re-tokenization.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from bot.settings import Settings
from corpus.model import Corpus
from retrieval.answer import Answerer
from retrieval.store import IndexStore, Opened
from retrieval.tokenizing import use_persistent_jieba_cache

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    corpus: Corpus
    answerer: Answerer
    seconds: float


def index_store(settings: Settings, quiet: bool = False) -> IndexStore:
    """The index store the settings describe (cache folder, workers, BM25 parameters)."""
    use_persistent_jieba_cache(settings.index.cache_dir)
    return IndexStore(settings.index.cache_dir, settings.answer, workers=settings.index.workers, quiet=quiet)


def open_index(settings: Settings, corpus: Corpus, quiet: bool = False, force: bool = False) -> tuple[IndexStore, Opened]:
    """The index of ``corpus`` (read from the settings' corpus path), persisted or rebuilt, and the store
    it came from (whose tokenizer built it)."""
    store = index_store(settings, quiet)
    try:
        return store, store.open(corpus, settings.corpus.path, force=force)
    finally:
        store.close()


def load_answerer(settings: Settings, quiet: bool = False) -> Loaded:
    """Read the settings' corpus and open its index; raises corpus.errors.CorpusError on a bad corpus."""
    from corpus.loader import load_corpus

    started = time.perf_counter()
    corpus = load_corpus(settings.corpus.path, settings.corpus.max_file_bytes)
    store, opened = open_index(settings, corpus, quiet)
    answerer = Answerer(
        corpus, settings.answer, tokenizer=store.tokenizer, index=opened.index, cache_dir=settings.index.cache_dir
    )
    seconds = time.perf_counter() - started
    log.debug("loaded %d paragraphs and their index in %.2f s", corpus.paragraph_count, seconds)
    return Loaded(corpus, answerer, seconds)
