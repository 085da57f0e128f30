"""Long polling that confirms an update to Telegram only after the bot has handled it.

Telegram forgets every update below the ``offset`` of the next ``getUpdates``. python-telegram-bot's
own Updater asks for the next batch as soon as it has queued the last one, so a crash loses every
question that was queued but not yet answered (confirmed to Telegram, unknown to the restarted bot).
Here the offset only ever moves past updates whose handling has finished: the oldest unfinished update
is the offset. Newer updates are still fetched and handled while older ones wait (the unfinished ones
come back with every poll and are skipped by id), so one slow chat does not hold up the rest, and
updates of one chat are handled one at a time, in the order they arrived.

An update handled while an older one is still unfinished is not yet confirmed, so Telegram delivers it
again after a crash; the handled-updates journal (bot/telegram/journal.py) lets the restarted bot skip
it. What remains (README, "Reliability"): an answer sent in the instant before the crash, not yet
journaled, is sent again after the restart (at-least-once, never lost).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Hashable

from telegram import Update
from telegram.error import Conflict, Forbidden, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from bot.telegram.connection import Stopped, retry_seconds, sleep_or_stop, unless_stopped
from bot.telegram.journal import HandledJournal
from bot.telegram.metrics import Metrics

log = logging.getLogger(__name__)

# Most updates getUpdates may return at once (Telegram's own maximum).
_BATCH_LIMIT = 100


@dataclass(frozen=True)
class PollingOptions:
    poll_timeout: float = 10.0  # seconds one long poll may wait for news
    # Seconds a stop takes at most: answers under way get them to finish, less the last confirm_reserve,
    # in which the final confirmation of what was handled gets through (retried within them). The
    # whole process then stops within 2 s of the signal.
    shutdown_grace: float = 1.0
    confirm_reserve: float = 0.3
    confirm_timeout: float = 1.0  # seconds one attempt at that confirmation may take
    conflict_alarm_after: int = 3  # consecutive 409s before the operator is told another poller runs
    conflict_alarm_every: float = 60.0  # seconds between repeats of that message while it lasts
    retry_min: float = 0.5  # first back-off after a failed poll; doubles up to retry_max
    retry_max: float = 8.0
    busy_poll_interval: float = 0.1  # least pause between polls while answers are under way
    journal_dir: Path | None = None  # where the handled-updates journal lives; None: memory only


def other_poller_message(description: str) -> str:
    """The log line a persistent 409 Conflict produces: what it means and what to do.

    >>> "another instance" in other_poller_message("Conflict: terminated by other getUpdates request")
    True
    """
    return (
        f"Telegram keeps refusing getUpdates with 409 Conflict ({description}): another instance of "
        "this bot is polling with the same token (or a webhook is set). Stop the other instance; "
        "this one keeps retrying and resumes by itself once it is alone."
    )


def chat_key(update: Update) -> Hashable:
    """What orders updates: the chat they belong to, else their sender, else nothing (None)."""
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None


class ChatQueues:
    """Handles updates many chats at once, those of one chat one at a time in the order they came.

    ``in_flight`` holds the updates under way by id. ``finished(update_id, task)`` is called as each
    ends (before anything awaiting its task resumes), cancelled or not."""

    def __init__(self, application: Application, finished: Callable[[int, asyncio.Task], None]):
        self.application = application
        self.in_flight: dict[int, asyncio.Task] = {}
        self._finished = finished
        self._chat_tail: dict[Hashable, asyncio.Task] = {}

    def dispatch(self, update: Update) -> asyncio.Task:
        key = chat_key(update)
        previous = self._chat_tail.get(key) if key is not None else None
        task = asyncio.create_task(self._handle(update, previous), name=f"update-{update.update_id}")
        self.in_flight[update.update_id] = task
        if key is not None:
            self._chat_tail[key] = task

        def done(ended: asyncio.Task) -> None:
            self.in_flight.pop(update.update_id, None)
            if key is not None and self._chat_tail.get(key) is ended:
                del self._chat_tail[key]
            self._finished(update.update_id, ended)

        task.add_done_callback(done)
        return task

    async def _handle(self, update: Update, previous: asyncio.Task | None) -> None:
        if previous is not None:
            await asyncio.wait({previous})  # in order within the chat, whatever became of the last one
        app = self.application
        await app.update_processor.process_update(update, app.process_update(update))


class ConfirmingPoller:
    """Feeds ``application`` from getUpdates, moving the offset only past finished updates."""

    def __init__(self, application: Application, options: PollingOptions = PollingOptions(),
                 journal: HandledJournal | None = None, metrics: Metrics | None = None):
        self.application = application
        self.options = options
        self.journal = journal or HandledJournal(None)
        self.metrics = metrics
        self._queues = ChatQueues(application, self._finished)
        self._in_flight = self._queues.in_flight
        self._highest_seen: int | None = None
        self._confirmed = 0  # the offset of the last getUpdates that got through: every update below it is confirmed
        self._progress = asyncio.Event()

    @property
    def offset(self) -> int | None:
        """The offset to poll with: the oldest unfinished update, or one past the newest seen."""
        if self._in_flight:
            return min(self._in_flight)
        return None if self._highest_seen is None else self._highest_seen + 1

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set, then let answers under way finish (briefly) and confirm them.

        Raises InvalidToken/Forbidden: a wrong token cannot get better by retrying.
        """
        try:
            await self._poll_until(stop)
        finally:
            await self._finish()

    async def _poll_until(self, stop: asyncio.Event) -> None:
        delay = self.options.retry_min
        conflicts = 0
        last_alarm = -float("inf")
        news = True
        while not stop.is_set():
            if self._in_flight and not news:
                await self._wait_for_progress(stop)
                if stop.is_set():
                    return
            news = False
            offset = self.offset
            self._progress.clear()  # answers finishing from now on are news for the next poll
            try:
                updates = await self._get_updates(stop, offset)
            except (InvalidToken, Forbidden):
                raise
            except Conflict as exc:
                self._count_error()
                conflicts += 1
                now = time.monotonic()
                if conflicts >= self.options.conflict_alarm_after and now - last_alarm >= self.options.conflict_alarm_every:
                    log.error(other_poller_message(exc.message))
                    last_alarm = now
                await sleep_or_stop(stop, delay)
                delay = min(delay * 2, self.options.retry_max)
                continue
            except RetryAfter as exc:
                if self.metrics is not None:
                    self.metrics.rate_limited.inc()
                await sleep_or_stop(stop, retry_seconds(exc.retry_after))
                continue
            except TelegramError as exc:
                self._count_error()
                log.warning("getUpdates failed (%s: %s); retrying in %.1f s", type(exc).__name__, exc, delay)
                await sleep_or_stop(stop, delay)
                delay = min(delay * 2, self.options.retry_max)
                continue
            if updates is None:  # stopped while waiting
                return
            if conflicts >= self.options.conflict_alarm_after:
                log.info("getUpdates accepted again: this instance is the only poller now")
            conflicts = 0
            delay = self.options.retry_min
            if offset is not None:
                self._note_confirmed(offset)
            for update in updates:
                self.journal.check_sequence(update.update_id)
                if self._highest_seen is not None and update.update_id <= self._highest_seen:
                    continue  # under way here already
                if self.journal.handled(update.update_id):
                    self._highest_seen = update.update_id  # answered before a crash: not again
                    continue
                if self.metrics is not None:
                    self.metrics.updates.labels("polling").inc()
                self._dispatch(update)
                news = True

    def _count_error(self) -> None:
        if self.metrics is not None:
            self.metrics.error("poll")

    async def _get_updates(self, stop: asyncio.Event, offset: int | None) -> tuple[Update, ...] | None:
        """One getUpdates, abandoned (returning None) if ``stop`` is set while it waits."""
        busy = bool(self._in_flight)
        poll = self.application.bot.get_updates(
            offset=offset,
            limit=_BATCH_LIMIT,
            # Unfinished updates are still pending at Telegram, so it would answer at once anyway.
            timeout=0 if busy else self.options.poll_timeout,
        )
        try:
            return await unless_stopped(stop, poll)
        except Stopped:
            return None

    async def _wait_for_progress(self, stop: asyncio.Event) -> None:
        """While answers are under way, poll again when one finishes (at most every busy interval),
        or after a second anyway so new chats are not kept waiting behind a slow one."""
        progress = asyncio.ensure_future(self._progress.wait())
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({progress, stopped}, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        finally:
            progress.cancel()
            stopped.cancel()
        await sleep_or_stop(stop, self.options.busy_poll_interval)

    def _dispatch(self, update: Update) -> None:
        self._highest_seen = update.update_id
        self._queues.dispatch(update)

    def _finished(self, update_id: int, task: asyncio.Task) -> None:
        if not task.cancelled():
            if task.exception() is not None:
                log.error("update %s could not be handled", update_id, exc_info=task.exception())
            self.journal.mark(update_id)
        self._progress.set()

    def _note_confirmed(self, offset: int) -> None:
        self._confirmed = max(self._confirmed, offset)
        self.journal.confirmed(offset)

    async def _finish(self) -> None:
        """Give answers under way a moment, abandon the rest unconfirmed, and confirm what finished,
        all within the stop's grace period."""
        deadline = asyncio.get_running_loop().time() + self.options.shutdown_grace
        offset = self.offset
        if self._in_flight:
            answering = max(self.options.shutdown_grace - self.options.confirm_reserve, 0.1)
            await asyncio.wait(self._in_flight.values(), timeout=answering)
            abandoned = dict(self._in_flight)
            offset = min(abandoned) if abandoned else self.offset
            for task in abandoned.values():
                task.cancel()
            if abandoned:
                await asyncio.wait(abandoned.values())
                log.warning("stopped with %d update(s) unanswered; Telegram will deliver them again", len(abandoned))
        if offset is not None and offset > self._confirmed:
            await self._confirm_on_stop(offset, deadline)

    async def _confirm_on_stop(self, offset: int, deadline: float) -> None:
        """One getUpdates from ``offset``, so Telegram forgets the updates handled below it. A failed
        attempt is retried until ``deadline`` (at least one attempt is made, bounded: a stop must not
        wait out an unreachable server). Should none get through, the handled-updates journal still
        keeps the next start from answering those updates again."""
        loop = asyncio.get_running_loop()
        delay = self.options.retry_min
        attempt_timeout = max(min(self.options.confirm_timeout, deadline - loop.time()), 0.2)
        while True:
            try:
                await asyncio.wait_for(
                    self.application.bot.get_updates(offset=offset, limit=1, timeout=0), attempt_timeout
                )
            except (InvalidToken, Forbidden) as exc:
                failure = exc
                break  # retrying cannot help
            except RetryAfter as exc:
                failure, pause = exc, retry_seconds(exc.retry_after)
            except (TelegramError, asyncio.TimeoutError) as exc:
                failure, pause = exc, delay
                delay = min(delay * 2, self.options.retry_max)
            else:
                self._note_confirmed(offset)
                return
            remaining = deadline - loop.time()
            if pause >= remaining:
                break
            await asyncio.sleep(pause)
            attempt_timeout = min(self.options.confirm_timeout, deadline - loop.time())
        log.warning(
            "could not confirm the last handled updates (%s); %s",
            str(failure) or type(failure).__name__,
            "the handled-updates journal keeps them from being answered again"
            if self.journal.path is not None
            else "they may be answered again",
        )
