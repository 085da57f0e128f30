"""The question log on its own: rows written in the background, ids only as salted hashes, feedback
against a question, retention with a clock the test controls, and the figures read back."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from bot.question_log import Asked, QuestionLog, load_salt, log_path, new_ref, prune, read_stats, read_unanswered

DAY = 86400.0
NOW = 1_900_000_000.0  # a fixed "now", so the test never depends on the day it runs


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def asked(at: float, question: str = "河北取缔了多少家？", answered: bool = True, reason: str | None = None,
          chat_id: int = 7364519082, user_id: int = 8473625190, seconds: float = 0.01) -> Asked:
    return Asked(at=at, chat_type="private", chat_id=chat_id, user_id=user_id, question=question, language="zh",
                 answered=answered, reason=reason, article_id="a" if answered else None, title="T" if answered else None,
                 score=1.5, answer_seconds=seconds, reply_seconds=seconds * 10, ref=new_ref())


def rows(state_dir: Path) -> list[tuple]:
    with sqlite3.connect(log_path(state_dir)) as connection:
        return connection.execute("SELECT * FROM question_log ORDER BY asked_at").fetchall()


def test_rows_are_written_in_the_background_with_ids_only_as_salted_hashes(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path, retention_days=30, clock=Clock(NOW))
    entry = asked(NOW - 10)
    log.add(entry)
    log.feedback(entry.ref, -1)
    assert log.flush()
    log.close()
    (row,) = rows(tmp_path)
    text = repr(row) + log_path(tmp_path).read_bytes().decode("latin-1")
    assert "7364519082" not in text and "8473625190" not in text
    assert row[-1] == -1  # the feedback, joined in by the view
    # The salt is made once, kept private, and reused: the same id hashes the same way after a restart.
    salt_file = tmp_path / "question-log.salt"
    assert salt_file.stat().st_mode & 0o077 == 0 and load_salt(tmp_path) == salt_file.read_bytes()
    again = QuestionLog(tmp_path, retention_days=30, clock=Clock(NOW))
    again.add(asked(NOW - 5))
    again.flush()
    again.close()
    first, second = rows(tmp_path)
    assert first[4] == second[4] and first[5] == second[5]  # chat and user hashes


def test_retention_deletes_rows_older_than_the_setting_at_start_and_every_hour(tmp_path: Path) -> None:
    clock = Clock(NOW)
    log = QuestionLog(tmp_path, retention_days=30, clock=clock)
    old, recent = asked(NOW - 31 * DAY), asked(NOW - 29 * DAY)
    for entry in (old, recent):
        log.add(entry)
        log.feedback(entry.ref, 1)
    log.flush()
    assert len(rows(tmp_path)) == 2  # nothing pruned before an hour has passed
    clock.now += 3601  # the writer prunes once an hour
    deadline = time.monotonic() + 10
    while len(rows(tmp_path)) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    log.close()
    remaining = rows(tmp_path)
    assert [r[1] for r in remaining] == [recent.ref]
    with sqlite3.connect(log_path(tmp_path)) as connection:
        assert connection.execute("SELECT ref FROM feedback").fetchall() == [(recent.ref,)]
        # Two days later the other row is past 30 days too.
        assert prune(connection, NOW + 2 * DAY, 30) == 1
        assert connection.execute("SELECT COUNT(*) FROM questions").fetchone()[0] == 0
    # A log opened later prunes at once.
    log = QuestionLog(tmp_path, retention_days=1, clock=Clock(NOW))
    log.add(asked(NOW - 2 * DAY))
    log.flush()
    log.close()
    assert len(rows(tmp_path)) == 1
    QuestionLog(tmp_path, retention_days=1, clock=Clock(NOW)).close()
    assert rows(tmp_path) == []


def test_writing_never_fails_an_answer_and_says_so_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    failures = []
    log = QuestionLog(tmp_path, retention_days=30, clock=Clock(NOW), on_failure=lambda: failures.append(1))
    with sqlite3.connect(log_path(tmp_path)) as connection:
        connection.execute("DROP VIEW question_log")
        connection.execute("DROP TABLE questions")  # the next writes fail
    for _ in range(3):
        log.add(asked(NOW))  # returns at once, whatever happens to the write
        log.flush()
    log.close()
    assert len(failures) == 3
    assert caplog.text.count("not written") == 1


def test_stats_and_unanswered_read_back_what_was_logged(tmp_path: Path) -> None:
    log = QuestionLog(tmp_path, retention_days=30, clock=Clock(NOW))
    today = [asked(NOW - 60, seconds=s) for s in (0.01, 0.02, 0.03)]
    today += [asked(NOW - 50, "明天下雨吗？", False, "no_match"), asked(NOW - 40, "明天 下雨吗?", False, "no_match")]
    today += [asked(NOW - 30, "你好", False, "chitchat")]
    earlier = [asked(NOW - 3 * DAY, "谁是厅长？", False, "not_stated"), asked(NOW - 10 * DAY, "十天前？", False, "no_match")]
    for entry in today + earlier:
        log.add(entry)
    log.feedback(today[0].ref, 1)
    log.feedback(today[1].ref, -1)
    log.feedback(today[1].ref, 1)  # changed their mind: the last press counts
    log.flush()
    log.close()
    day, week = read_stats(log_path(tmp_path), now=NOW)
    assert (day.questions, day.answered, day.small_talk, day.thumbs_up, day.thumbs_down) == (5, 3, 1, 2, 0)
    assert (day.answer_p50, day.answer_p95) == (0.01, 0.03) and day.top_unanswered == (("明天 下雨吗?", 2),)
    assert (week.questions, week.answered) == (6, 3)  # ten days ago is outside the week
    found = read_unanswered(log_path(tmp_path), NOW - 7 * DAY, NOW)
    assert [(u.question, u.times) for u in found] == [("明天 下雨吗?", 2), ("谁是厅长？", 1)]
