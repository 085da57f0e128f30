"""The question log: every question asked through Telegram, kept for the operator in SQLite.

One row per question (``questions``): when, the chat type, the question, its language, whether it was
answered (and if not, why), the article and score, the time taken to find the answer and to send the
reply, and a random reference (``ref``) that the answer's feedback buttons carry. Feedback is a row of
its own (``feedback``, keyed by that reference: the last press counts), so a press recorded before
its question's row, or by another process, still finds it. User and chat ids are never stored: only
salted hashes of them (BLAKE2b keyed with a salt made once and kept beside the log, readable by its
owner only), enough to count distinct users without knowing who they are.

Writing never slows or fails an answer: ``QuestionLog.add`` puts the row on a queue and returns; one
background thread writes queued rows in batches. A failure to write is logged once (and counted), and
the bot answers on. Rows older than the retention period are deleted when the log opens and every
hour after. Several processes may write one log (WAL mode, with a busy timeout).

Reading (``read_stats``, ``read_unanswered``) is for ``/stats``, ``qabot stats`` and ``qabot unanswered``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import secrets
import sqlite3
import threading
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterable, Sequence

log = logging.getLogger(__name__)

LOG_FILE = "questions.sqlite"
SALT_FILE = "question-log.salt"
REF_CHARS = 8  # of the reference a feedback button carries
# Reasons a question went unanswered that a new article could fix; small talk and the like are no gap.
GAPS = ("no_match", "not_stated")
_NOT_QUESTIONS = ("chitchat", "empty")
_QUEUE_LIMIT = 10_000  # rows waiting to be written; beyond it rows are dropped (and that is logged)
_BATCH = 500
_PRUNE_EVERY = 3600.0  # seconds

_SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    ref TEXT UNIQUE,
    asked_at REAL NOT NULL,          -- Unix time
    chat_type TEXT NOT NULL,         -- private, group, supergroup, channel
    chat TEXT NOT NULL,              -- salted hash of the chat id
    user TEXT,                       -- salted hash of the user id
    question TEXT NOT NULL,
    language TEXT,
    answered INTEGER NOT NULL,       -- 1 when a sentence was quoted as the answer
    reason TEXT,                     -- why not: no_match, not_stated, too_long, chitchat ...
    article_id TEXT,
    title TEXT,
    score REAL,
    answer_seconds REAL,             -- finding the answer
    reply_seconds REAL               -- from the question's arrival until the reply was sent (NULL: not sent)
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions(asked_at);
CREATE TABLE IF NOT EXISTS feedback (
    ref TEXT PRIMARY KEY,            -- the question's ref
    value INTEGER NOT NULL,          -- +1 or -1
    at REAL NOT NULL
);
CREATE VIEW IF NOT EXISTS question_log AS
    SELECT q.*, f.value AS feedback FROM questions q LEFT JOIN feedback f ON f.ref = q.ref;
"""


@dataclass(frozen=True)
class Asked:
    """One question as the bot answered it, for the log."""

    at: float
    chat_type: str
    chat_id: int
    user_id: int | None
    question: str
    language: str
    answered: bool
    reason: str | None
    article_id: str | None
    title: str | None
    score: float | None
    answer_seconds: float
    reply_seconds: float | None
    ref: str


def new_ref() -> str:
    """A random reference for a logged question: it tells nothing about who asked.

    >>> len(new_ref()), new_ref() != new_ref()
    (8, True)
    """
    return secrets.token_urlsafe(6)[:REF_CHARS]


def log_path(state_dir: Path) -> Path:
    return state_dir / LOG_FILE


def load_salt(state_dir: Path) -> bytes:
    """The salt of the id hashes: made once (32 random bytes), then read by every later start and by
    every process sharing the folder. Created whole or not at all, readable by its owner only."""
    path = state_dir / SALT_FILE
    try:
        salt = path.read_bytes()
        if len(salt) >= 16:
            return salt
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True)
    temporary = state_dir / f".{SALT_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(secrets.token_bytes(32))
    try:
        os.link(temporary, path)  # fails if another process made it first: theirs is kept
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return path.read_bytes()


def salted_hash(value: int, salt: bytes) -> str:
    """A hash of an id that cannot be turned back into it without the salt.

    >>> salted_hash(42, b"s" * 32) == salted_hash(42, b"s" * 32) != salted_hash(42, b"t" * 32)
    True
    """
    return hashlib.blake2b(str(value).encode(), key=salt[:64], digest_size=12).hexdigest()


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection to the log at ``path``, its tables made if missing (unless ``readonly``)."""
    if readonly:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=10, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(_SCHEMA)
    connection.execute("PRAGMA busy_timeout=10000")
    return connection


def prune(connection: sqlite3.Connection, now: float, retention_days: float) -> int:
    """Delete questions (and their feedback) asked more than ``retention_days`` before ``now``."""
    cutoff = now - retention_days * 86400
    with connection:
        connection.execute("DELETE FROM feedback WHERE ref IN (SELECT ref FROM questions WHERE asked_at < ?)", (cutoff,))
        deleted = connection.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,)).rowcount
        # Feedback whose question never reached the log (a full queue) ages out too.
        connection.execute("DELETE FROM feedback WHERE at < ?", (cutoff,))
    return deleted


class QuestionLog:
    """Writes questions and feedback from a background thread; ``add`` and ``feedback`` never block.

    ``clock`` gives the time used for retention (time.time by default; tests pass their own).
    ``on_failure`` is called (from the writer thread) for each batch that could not be written.
    """

    def __init__(self, state_dir: Path, retention_days: float, clock: Callable[[], float] = time.time,
                 on_failure: Callable[[], None] | None = None):
        self.path = log_path(state_dir)
        self.retention_days = retention_days
        self.clock = clock
        self.on_failure = on_failure
        self.failures = 0
        self.dropped = 0
        self._salt = load_salt(state_dir)
        self._queue: queue.Queue = queue.Queue(_QUEUE_LIMIT)
        self._told: set[str] = set()
        self._idle = threading.Event()
        self._idle.set()
        self._connection = connect(self.path)
        self._last_prune = 0.0
        self._prune_if_due()
        self._thread = threading.Thread(target=self._write_forever, name="question-log", daemon=True)
        self._thread.start()

    # --- what the bot calls ------------------------------------------------------------------------

    def add(self, asked: Asked) -> None:
        """Queue a question to be written."""
        row = (
            asked.ref, asked.at, asked.chat_type, salted_hash(asked.chat_id, self._salt),
            None if asked.user_id is None else salted_hash(asked.user_id, self._salt),
            asked.question, asked.language, int(asked.answered), asked.reason, asked.article_id, asked.title,
            asked.score, asked.answer_seconds, asked.reply_seconds,
        )
        self._put(("question", row))

    def feedback(self, ref: str, value: int) -> None:
        """Queue a 👍 (+1) or 👎 (-1) for the question logged under ``ref``; a later press replaces it."""
        self._put(("feedback", (ref, 1 if value > 0 else -1, self.clock())))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        while not (self._queue.empty() and self._idle.is_set()):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 0.5) -> None:
        """Write what is queued (waiting at most ``timeout``) and stop the writer."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    # --- the writer thread -------------------------------------------------------------------------

    def _put(self, item: tuple) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            self._tell_once("full", "question log is behind (%d rows queued): dropping rows until it catches up", _QUEUE_LIMIT)

    def _write_forever(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=1.0)
            except queue.Empty:
                self._prune_if_due()
                continue
            self._idle.clear()
            batch = [first]
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            self._write([item for item in batch if item is not None])
            self._prune_if_due()
            self._idle.set()
            if stop:
                self._connection.close()
                return

    def _write(self, batch: list[tuple]) -> None:
        questions = [row for kind, row in batch if kind == "question"]
        feedback = [row for kind, row in batch if kind == "feedback"]
        try:
            with self._connection:
                self._connection.executemany(
                    "INSERT OR IGNORE INTO questions (ref, asked_at, chat_type, chat, user, question, language, "
                    "answered, reason, article_id, title, score, answer_seconds, reply_seconds) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    questions,
                )
                self._connection.executemany("INSERT OR REPLACE INTO feedback (ref, value, at) VALUES (?, ?, ?)", feedback)
        except sqlite3.Error as exc:
            self.failures += 1
            if self.on_failure is not None:
                self.on_failure()
            self._tell_once("write", "question log %s not written (%s); answers go on, further failures are not logged", self.path, exc)

    def _prune_if_due(self) -> None:
        now = self.clock()
        if now - self._last_prune < _PRUNE_EVERY:
            return
        self._last_prune = now
        try:
            deleted = prune(self._connection, now, self.retention_days)
        except sqlite3.Error as exc:
            self._tell_once("prune", "question log %s: old rows not deleted (%s)", self.path, exc)
            return
        if deleted:
            log.info("question log: deleted %d questions older than %g days", deleted, self.retention_days)

    def _tell_once(self, what: str, message: str, *args: object) -> None:
        if what not in self._told:
            self._told.add(what)
            log.warning(message, *args)


# --- reading -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """What the log says about one period."""

    since: datetime
    questions: int  # real questions (small talk left out)
    answered: int
    small_talk: int
    answer_p50: float | None  # seconds to find the answer
    answer_p95: float | None
    reply_p50: float | None  # seconds from the question's arrival to the reply sent
    reply_p95: float | None
    thumbs_up: int
    thumbs_down: int
    users: int  # distinct (hashed) users
    top_unanswered: tuple[tuple[str, int], ...]  # the most frequent, with how often they were asked

    @property
    def answered_share(self) -> float | None:
        return self.answered / self.questions if self.questions else None


@dataclass(frozen=True)
class Unanswered:
    question: str  # as last asked
    times: int
    last_asked: float
    language: str | None
    reason: str


def start_of_day(now: float, days_back: int = 0) -> datetime:
    """Local midnight ``days_back`` days before the day of ``now``."""
    day = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=days_back)


def read_stats(path: Path, now: float | None = None, top: int = 10) -> tuple[Period, Period]:
    """Today (since local midnight) and the last 7 days (since midnight six days ago)."""
    now = time.time() if now is None else now
    with _reading(path) as connection:
        return tuple(_period(connection, start_of_day(now, days), now, top) for days in (0, 6))  # type: ignore[return-value]


def read_unanswered(path: Path, since: float, now: float | None = None) -> list[Unanswered]:
    """The questions not answered since ``since`` that an article could answer, most asked first; the
    same question asked in other spellings (spaces, full-width marks, a final ？) counts as one."""
    now = time.time() if now is None else now
    with _reading(path) as connection:
        rows = connection.execute(
            f"SELECT question, asked_at, language, reason FROM questions WHERE asked_at >= ? AND asked_at <= ? "
            f"AND answered = 0 AND reason IN ({','.join('?' * len(GAPS))}) ORDER BY asked_at",
            (since, now, *GAPS),
        ).fetchall()
    grouped: dict[str, list[tuple]] = {}
    for row in rows:
        grouped.setdefault(same_question(row[0]), []).append(row)
    found = [
        Unanswered(question=rows[-1][0], times=len(rows), last_asked=rows[-1][1], language=rows[-1][2], reason=rows[-1][3])
        for rows in grouped.values()
    ]
    return sorted(found, key=lambda u: (-u.times, -u.last_asked))


def same_question(text: str) -> str:
    """The form two spellings of one question share.

    >>> same_question(" 河北 取缔了多少家？ ") == same_question("河北取缔了多少家?")
    True
    """
    squeezed = "".join(unicodedata.normalize("NFKC", text).split()).lower()
    return squeezed.rstrip("?!.。！？…~")


class _reading:
    """A read-only connection to the log; a missing log is an error the operator can understand."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise FileNotFoundError(self.path)
        self.connection = connect(self.path, readonly=True)
        return self.connection

    def __exit__(self, *exc: object) -> None:
        self.connection.close()


def _period(connection: sqlite3.Connection, since: datetime, now: float, top: int) -> Period:
    start = since.timestamp()
    rows = connection.execute(
        "SELECT q.answered, q.reason, q.answer_seconds, q.reply_seconds, q.user, q.question, f.value "
        "FROM questions q LEFT JOIN feedback f ON f.ref = q.ref WHERE q.asked_at >= ? AND q.asked_at <= ?",
        (start, now),
    ).fetchall()
    questions = [r for r in rows if r[1] not in _NOT_QUESTIONS]
    unanswered = Counter()
    spelled: dict[str, str] = {}
    for r in questions:
        if not r[0] and r[1] in GAPS:
            key = same_question(r[5])
            unanswered[key] += 1
            spelled[key] = r[5]
    return Period(
        since=since,
        questions=len(questions),
        answered=sum(1 for r in questions if r[0]),
        small_talk=len(rows) - len(questions),
        answer_p50=percentile([r[2] for r in questions if r[2] is not None], 50),
        answer_p95=percentile([r[2] for r in questions if r[2] is not None], 95),
        reply_p50=percentile([r[3] for r in questions if r[3] is not None], 50),
        reply_p95=percentile([r[3] for r in questions if r[3] is not None], 95),
        thumbs_up=sum(1 for r in rows if r[6] == 1),
        thumbs_down=sum(1 for r in rows if r[6] == -1),
        users=len({r[4] for r in rows if r[4]}),
        top_unanswered=tuple((spelled[key], count) for key, count in unanswered.most_common(top)),
    )


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (a value that occurred), None for no values.

    >>> percentile([3, 1, 2, 4], 50), percentile([3, 1, 2, 4], 95), percentile([], 50)
    (2, 4, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 100))  # ceil
    return ordered[int(rank) - 1]


def format_stats(periods: Iterable[Period], language: str = "en") -> str:
    """The operator's summary, plain text, one block per period."""
    from bot.texts import phrase

    blocks = []
    for period, key in zip(periods, ("stats_today", "stats_week")):
        lines = [phrase(language, key, since=period.since.strftime("%Y-%m-%d"))]
        share = period.answered_share
        lines.append(phrase(
            language, "stats_counts", questions=period.questions, answered=period.answered,
            share="-" if share is None else f"{share:.0%}", users=period.users, small_talk=period.small_talk,
        ))
        lines.append(phrase(
            language, "stats_times", reply_p50=_seconds(period.reply_p50), reply_p95=_seconds(period.reply_p95),
            answer_p50=_seconds(period.answer_p50), answer_p95=_seconds(period.answer_p95),
        ))
        lines.append(phrase(language, "stats_feedback", up=period.thumbs_up, down=period.thumbs_down))
        if period.top_unanswered:
            lines.append(phrase(language, "stats_unanswered"))
            lines += [f"  {n}. {question} ×{count}" for n, (question, count) in enumerate(period.top_unanswered, 1)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _seconds(value: float | None) -> str:
    """
    >>> _seconds(0.0123), _seconds(1.5), _seconds(None)
    ('12 ms', '1.50 s', '-')
    """
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
