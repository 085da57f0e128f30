"""Loading what every front end needs, once: the settings' corpus and an Answerer over it."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings
from corpus.model import Corpus
from retrieval.answer import Answerer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    corpus: Corpus
    answerer: Answerer
    seconds: float


def corpus_path(settings: Settings, override: str | Path | None = None) -> Path:
    """The ``--corpus`` path if given, else the settings' ``corpus.path``."""
    return Path(override) if override else settings.corpus.path


def load_answerer(settings: Settings, corpus_override: str | Path | None = None, quiet: bool = False) -> Loaded:
    """Read the corpus and open its index; raises corpus.loader.CorpusError on a bad corpus."""
    from corpus.loader import load_corpus

    started = time.perf_counter()
    corpus = load_corpus(corpus_path(settings, corpus_override))
    answerer = Answerer(corpus, settings.answer)
    seconds = time.perf_counter() - started
    return Loaded(corpus, answerer, seconds)
