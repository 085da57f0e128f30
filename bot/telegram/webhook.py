"""Webhook mode: Telegram POSTs each update to the bot, which acknowledges it only once it is handled.

A request must carry the secret registered with setWebhook in ``X-Telegram-Bot-Api-Secret-Token``;
any other gets 403 and is never handled. The response (200) is sent only after the update has been
handled and noted in the shared handled-updates journal, so an update whose handling a crash
interrupted is delivered again by Telegram, and an update Telegram delivers again after it was handled
(its 200 lost on the way, or the crash came between the two) is acknowledged without being answered a
second time. Updates of one chat are handled one at a time, in the order they arrived.

Several processes may serve one token behind a reverse proxy: each handles what it receives, and they
share the journal (SQLite in the state folder).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.telegram.journal import SharedJournal
from bot.telegram.metrics import Metrics
from bot.telegram.polling import ChatQueues

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookReceiver:
    """The webhook path's handler: checks the secret, handles the update, then acknowledges it."""

    def __init__(self, application: Application, secret: str, journal: SharedJournal | None, metrics: Metrics | None = None):
        self.application = application
        self._secret = secret.encode()
        self.journal = journal
        self.metrics = metrics
        self.accepting = False  # set once the application has started; a stop clears it
        self._queues = ChatQueues(application, self._finished)
        self._refused = 0

    async def handle(self, request: web.Request) -> web.Response:
        if not hmac.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), self._secret):
            self._refused += 1
            if self._refused == 1 or self._refused % 100 == 0:
                log.warning("webhook request from %s without the right secret token: refused (403; %d so far)",
                            request.remote, self._refused)
            return web.Response(status=403, text="forbidden")
        if not self.accepting:
            return web.Response(status=503, text="not serving")  # Telegram delivers it again later
        try:
            update = Update.de_json(json.loads(await request.read()), self.application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook request that is no update refused (400): %s", exc)
            return web.Response(status=400, text="not an update")
        if update is None:
            return web.Response(status=400, text="not an update")
        if self.metrics is not None:
            self.metrics.updates.labels("webhook").inc()
        task = self._queues.in_flight.get(update.update_id)
        if task is None:
            if self.journal is not None and self.journal.handled(update.update_id):
                return web.Response(text="handled before")  # redelivered: acknowledged, not answered again
            task = self._queues.dispatch(update)
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():  # abandoned by a stop: let Telegram deliver it again
                return web.Response(status=503, text="stopping")
            raise
        except Exception:  # the error handler has logged it; handling it again would fail again
            pass
        return web.Response(text="ok")

    def _finished(self, update_id: int, task: asyncio.Task) -> None:
        """Noted as handled before its request is answered (this runs before the awaiting handler
        resumes); an update a stop abandoned is not, so that Telegram's redelivery is answered."""
        if self.journal is not None and not task.cancelled():
            self.journal.mark(update_id)

    async def finish(self, grace: float) -> None:
        """Stop accepting, give updates under way ``grace`` seconds, and abandon the rest unacknowledged."""
        self.accepting = False
        pending = list(self._queues.in_flight.values())
        if not pending:
            return
        await asyncio.wait(pending, timeout=grace)
        abandoned = [task for task in pending if not task.done()]
        for task in abandoned:
            task.cancel()
        if abandoned:
            await asyncio.wait(abandoned)
            log.warning("stopped with %d update(s) unanswered; Telegram will deliver them again", len(abandoned))
