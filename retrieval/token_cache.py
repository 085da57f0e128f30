"""The token cache: each paragraph's token list, keyed by a hash of exactly the text tokenized.

Tokenizing dominates an index build, so token lists are kept between builds in one sqlite3 file per
tokenizer signature: re-indexing after adding one article tokenizes only that article's paragraphs.
Tokens are stored as int32 ids into the cache's own vocabulary table, so that building an index reads
arrays instead of looking up every token of the corpus again. It also keeps each paragraph's sentence
cuts (``retrieval.sentence_cuts``) by the hash of the texts cut, so a rebuild cuts only new paragraphs.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from array import array
from pathlib import Path
from typing import Iterable, Iterator, Sequence

# Part of the token cache's file name: a cache written in another layout is simply not opened.
TOKEN_CACHE_VERSION = 2
_SQL_BATCH = 500


def content_key(text: str) -> bytes:
    """The token cache's key: a hash of exactly the text that was tokenized.

    >>> content_key("abc") == content_key("abc") != content_key("abd")
    True
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class TokenCache:
    """Token lists by paragraph content hash, in one sqlite3 file per tokenizer signature."""

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
        # Added beside the tokens: a cache written before it simply starts without cuts.
        self._db.execute("CREATE TABLE IF NOT EXISTS cuts (key BLOB PRIMARY KEY, cuts TEXT) WITHOUT ROWID")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES ('instance', ?)", (uuid.uuid4().hex,))
        self.vocabulary: list[str] = []  # term of each id, read only by ``refresh`` (token_lists)

    def close(self) -> None:
        self._db.close()

    @property
    def instance(self) -> str:
        """This cache file's own random id: an index built from its term ids records it, and is
        updated from it only while the cache is the same file (a deleted cache numbers terms anew)."""
        return self._db.execute("SELECT value FROM meta WHERE name = 'instance'").fetchone()[0]

    def missing(self, keys: Iterable[bytes]) -> set[bytes]:
        """Those of ``keys`` with no cached token list."""
        wanted = set(keys)
        for batch in _batches(list(wanted), _SQL_BATCH):
            marks = ",".join("?" * len(batch))
            wanted.difference_update(row[0] for row in self._db.execute(f"SELECT key FROM tokens WHERE key IN ({marks})", batch))
        return wanted

    def put(self, items: Iterable[tuple[bytes, Sequence[str]]]) -> None:
        """Store (key, token list) pairs, giving new terms the next ids. Only the batch's own terms
        are looked up, so a cache of millions of terms is never read whole."""
        items = list(items)
        if not items:
            return
        # IMMEDIATE takes the write lock first, so two builders never hand out the same id.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            distinct = sorted({term for _, tokens in items for term in tokens})
            ids: dict[str, int] = {}
            for batch in _batches(distinct, _SQL_BATCH):
                marks = ",".join("?" * len(batch))
                ids.update(self._db.execute(f"SELECT term, id FROM terms WHERE term IN ({marks})", batch))
            next_id = self._db.execute("SELECT COALESCE(MAX(id), -1) + 1 FROM terms").fetchone()[0]
            new = [term for term in distinct if term not in ids]
            for term in new:
                ids[term] = next_id
                next_id += 1
            self._db.executemany("INSERT INTO terms (id, term) VALUES (?, ?)", ((ids[t], t) for t in new))
            rows = [(key, array("i", map(ids.__getitem__, tokens)).tobytes()) for key, tokens in items]
            self._db.executemany("INSERT OR REPLACE INTO tokens (key, ids) VALUES (?, ?)", rows)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def cuts_of(self, keys: Iterable[bytes]) -> dict[bytes, str | None]:
        """The cached cuts of those of ``keys`` that have them (a cut may be None: none could be stored)."""
        found: dict[bytes, str | None] = {}
        for batch in _batches(list(set(keys)), _SQL_BATCH):
            marks = ",".join("?" * len(batch))
            found.update(self._db.execute(f"SELECT key, cuts FROM cuts WHERE key IN ({marks})", batch))
        return found

    def put_cuts(self, items: Iterable[tuple[bytes, str | None]]) -> None:
        """Store (key, cuts) pairs."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany("INSERT OR REPLACE INTO cuts (key, cuts) VALUES (?, ?)", items)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def terms_of(self, ids: Sequence[int]) -> list[str]:
        """The terms of these ids, in the same order."""
        found: dict[int, str] = {}
        for batch in _batches(sorted(set(ids)), _SQL_BATCH):
            marks = ",".join("?" * len(batch))
            found.update(self._db.execute(f"SELECT id, term FROM terms WHERE id IN ({marks})", batch))
        return [found[i] for i in ids]

    def refresh(self) -> None:
        """Read the terms added since this cache last looked (``vocabulary`` grows to the whole table)."""
        for term_id, term in self._db.execute("SELECT id, term FROM terms WHERE id >= ? ORDER BY id", (len(self.vocabulary),)):
            if term_id != len(self.vocabulary):
                raise ValueError(f"{self.path}: term ids are not contiguous at {term_id}")
            self.vocabulary.append(term)

    def id_arrays(self, keys: Sequence[bytes]) -> Iterator[bytes]:
        """The cached token ids of each key (native int32 bytes), in order; every key must be cached."""
        for batch in _batches(keys, _SQL_BATCH):
            unique = sorted(set(batch))
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
