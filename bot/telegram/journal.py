"""The updates the bot has handled but Telegram may deliver again, kept on disk across a crash.

The poller confirms an update to Telegram only when it and every older update are handled, so after a
crash Telegram delivers again some updates that were already answered. Each handled update's id is
appended here the moment its handling ends, and the offset Telegram has accepted is noted as it
advances; a restarted bot skips the ids found here instead of answering them a second time.

One line per event, appended (a crash loses at most the line being written):

    done 1234       update 1234 is handled
    offset 1230     Telegram has been asked for updates from 1230 on: everything below is confirmed

Update ids only grow, so an update below the noted offset means the sequence started over (Telegram
does that after a week without updates; a test server does it on every start): the journal then
describes another sequence and is forgotten.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

# Lines appended before the file is rewritten with only what still matters.
_COMPACT_AFTER = 10_000


class HandledJournal:
    """Ids of handled, possibly unconfirmed updates; ``path=None`` keeps them in memory only."""

    def __init__(self, path: Path | None):
        self.path = path
        self.offset = 0
        self._done: set[int] = set()
        self._lines = 0
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lines = path.read_text(encoding="ascii", errors="replace").splitlines()
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("handled-updates journal %s unreadable (%s): starting without it", path, exc.strerror)
            return
        for line in lines:
            kind, _, number = line.partition(" ")
            if not number.isdigit():
                continue  # a line cut short by a crash
            if kind == "done":
                self._done.add(int(number))
            elif kind == "offset":
                self.offset = max(self.offset, int(number))
        self._done = {i for i in self._done if i >= self.offset}
        self._lines = len(lines)
        if self._done:
            log.info("%d update(s) handled before the last stop will not be answered again", len(self._done))

    def handled(self, update_id: int) -> bool:
        return update_id in self._done

    def mark(self, update_id: int) -> None:
        if update_id in self._done:
            return  # noted already, the moment its answer was sent
        self._done.add(update_id)
        self._append(f"done {update_id}\n")

    def confirmed(self, offset: int) -> None:
        """Telegram accepted a poll from ``offset``: ids below it can never come back."""
        if offset <= self.offset:
            return
        self.offset = offset
        self._done = {i for i in self._done if i >= offset}
        if self._lines >= _COMPACT_AFTER:
            self._rewrite()
        else:
            self._append(f"offset {offset}\n")

    def check_sequence(self, update_id: int) -> None:
        """Forget everything if ``update_id`` shows the ids started over."""
        if update_id < self.offset:
            log.info("update ids started over (%d after offset %d): handled-updates journal cleared", update_id, self.offset)
            self.offset = 0
            self._done.clear()
            self._rewrite()

    def _append(self, line: str) -> None:
        if self.path is None:
            return
        self._lines += 1
        try:
            with open(self.path, "a", encoding="ascii") as out:
                out.write(line)
        except OSError as exc:
            log.warning("handled-updates journal %s not written (%s)", self.path, exc.strerror)

    def _rewrite(self) -> None:
        """Replace the file with the offset and the ids still above it, atomically."""
        if self.path is None:
            return
        lines = [f"offset {self.offset}\n", *(f"done {i}\n" for i in sorted(self._done))]
        temporary = self.path.with_name(f".{self.path.name}.part")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text("".join(lines), encoding="ascii")
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("handled-updates journal %s not written (%s)", self.path, exc.strerror)
            return
        self._lines = len(lines)


class SharedJournal:
    """The handled updates of webhook mode, in SQLite, shared by every process serving one token.

    Telegram redelivers an update whose webhook request failed, to whichever process the reverse proxy
    picks; so the processes note handled updates in one table (WAL mode, a busy timeout for the
    moment two write at once). Update ids are kept for two days: Telegram gives up on an update after
    a day. A call blocks for one small write (no fsync), well under a millisecond.
    """

    KEEP_SECONDS = 2 * 86400

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(path, timeout=10, check_same_thread=False)
        self._connection.execute("PRAGMA journal_mode=WAL")
        # A commit without fsync: as the polling journal is flushed, not synced (a power cut may lose the
        # last marks), so that noting an update is quick enough to follow its answer at once.
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("PRAGMA busy_timeout=10000")
        with self._connection:
            self._connection.execute("CREATE TABLE IF NOT EXISTS handled (update_id INTEGER PRIMARY KEY, at REAL NOT NULL)")
        self._marks = 0

    def handled(self, update_id: int) -> bool:
        with self._lock:
            return self._connection.execute("SELECT 1 FROM handled WHERE update_id = ?", (update_id,)).fetchone() is not None

    def mark(self, update_id: int) -> None:
        now = time.time()
        with self._lock, self._connection:
            self._connection.execute("INSERT OR IGNORE INTO handled (update_id, at) VALUES (?, ?)", (update_id, now))
            self._marks += 1
            if self._marks % 1000 == 1:
                self._connection.execute("DELETE FROM handled WHERE at < ?", (now - self.KEEP_SECONDS,))

    def close(self) -> None:
        with self._lock:
            self._connection.close()
