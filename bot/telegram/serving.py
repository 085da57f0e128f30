"""Serving the bot from start to stop: connect, take updates (long polling or a webhook), stop on a signal.

Every state watches for SIGINT and SIGTERM: connecting (bounded exponential backoff), polling or
waiting for webhook requests, answering, waiting out a 429. A stop gives answers under way a moment
(``PollingOptions.shutdown_grace``, a little over a second), leaves the rest unacknowledged for
Telegram to deliver again, and returns, so that the process ends within 2 s of the signal.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from telegram.ext import Application

from bot.telegram.connection import ConnectOptions, Connection, Stopped, connect, unless_stopped
from bot.telegram.journal import HandledJournal, SharedJournal
from bot.telegram.polling import ConfirmingPoller, PollingOptions
from bot.telegram.web import WebServer
from bot.telegram.webhook import WebhookReceiver

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServeOptions:
    polling: PollingOptions = PollingOptions()
    webhook_url: str | None = None  # webhook mode when set
    listen: str = "127.0.0.1:8080"  # the webhook server's address (webhook mode)
    metrics_listen: str | None = None  # polling mode: where /healthz and /metrics are served, if anywhere
    state_dir: Path | None = None  # where the handled-updates journal lives; None: memory only
    connect: ConnectOptions = ConnectOptions()

    @property
    def mode(self) -> str:
        return "webhook" if self.webhook_url else "polling"


async def serve(application: Application, connection: Connection, options: ServeOptions) -> None:
    """Run ``application`` until SIGINT or SIGTERM. Raises StartError (from connect) for a refused token
    or a webhook the server will not register."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    metrics = getattr(application.bot_data, "metrics", None)
    receiver = None
    server = None
    try:
        if options.webhook_url:
            receiver = WebhookReceiver(application, connection.webhook_secret, None, metrics)
        listen = options.listen if options.webhook_url else options.metrics_listen
        if listen:
            path = urlsplit(options.webhook_url).path or "/" if options.webhook_url else None
            server = WebServer(application, listen, options.mode, receiver, path)
            await server.start()
        try:
            await connect(application, connection, stop, lambda: _register(application, connection, options), options.connect)
        except Stopped:
            return
        try:
            await _serve_connected(application, options, stop, receiver, metrics)
        finally:
            _set_serving(application, False)
            if application.running:
                await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
            await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
    finally:
        if server is not None:
            await server.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _register(application: Application, connection: Connection, options: ServeOptions) -> None:
    """Tell Telegram how updates come: to the webhook (with its secret), or by getUpdates (no webhook)."""
    if options.webhook_url:
        await application.bot.set_webhook(
            options.webhook_url, secret_token=connection.webhook_secret, drop_pending_updates=False
        )
    else:
        await application.bot.delete_webhook(drop_pending_updates=False)


async def _serve_connected(application: Application, options: ServeOptions, stop: asyncio.Event,
                           receiver: WebhookReceiver | None, metrics) -> None:
    if application.post_init is not None:
        try:
            await unless_stopped(stop, application.post_init(application))
        except Stopped:
            return
        except Exception as exc:  # the command menu is a courtesy: serve without it
            log.warning("could not set up the command menu (%s); serving without it", exc)
    await application.start()
    _set_serving(application, True)
    bot_id = application.bot.id
    if receiver is not None:
        journal = SharedJournal(options.state_dir / f"handled-{bot_id}.sqlite") if options.state_dir else None
        receiver.journal = journal
        if journal is not None:
            _note_handled_in(application, journal.mark)
        receiver.accepting = True
        log.info("webhook registered: %s", _without_query(options.webhook_url))
        try:
            await stop.wait()
        finally:
            await receiver.finish(options.polling.shutdown_grace)
            if journal is not None:
                journal.close()
        return
    journal = HandledJournal(options.state_dir / f"handled-{bot_id}.log") if options.state_dir else None
    if journal is not None:
        _note_handled_in(application, journal.mark)
    await ConfirmingPoller(application, options.polling, journal, metrics).run(stop)


def _note_handled_in(application: Application, mark) -> None:
    if hasattr(application.bot_data, "note_handled"):
        application.bot_data.note_handled = mark


def _set_serving(application: Application, serving: bool) -> None:
    if hasattr(application.bot_data, "serving"):
        application.bot_data.serving = serving


def _without_query(url: str | None) -> str:
    """A webhook URL for the log, without a query string that might hold a secret.

    >>> _without_query("https://bot.example.org/hook?key=x")
    'https://bot.example.org/hook'
    """
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
