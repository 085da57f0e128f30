"""The bot's small HTTP server (aiohttp, on the bot's own event loop): ``/healthz``, ``/metrics`` and,
in webhook mode, the webhook path.

``/healthz`` answers 200 with what is served while a corpus is loaded (503 otherwise), and says
whether the bot is connected and handling updates; ``/metrics`` is Prometheus' text format.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web
from telegram.ext import Application

from bot.telegram.webhook import WebhookReceiver

log = logging.getLogger(__name__)


class ListenError(ValueError):
    """A listen address that cannot be used; the message says which and why."""


def listen_address(text: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``, or ``:port`` for every interface) as (host, port).

    >>> listen_address("127.0.0.1:8080"), listen_address("[::1]:9090"), listen_address(":80")
    (('127.0.0.1', 8080), ('::1', 9090), ('0.0.0.0', 80))
    """
    match = re.fullmatch(r"(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})", text.strip())
    if not match or not 0 <= int(match.group(3)) <= 65535:
        raise ListenError(f"not a listen address (host:port): {text!r}")
    return match.group(1) or match.group(2) or "0.0.0.0", int(match.group(3))


class WebServer:
    """Serves /healthz and /metrics, and ``webhook`` on ``webhook_path`` when given."""

    def __init__(self, application: Application, listen: str, mode: str,
                 webhook: WebhookReceiver | None = None, webhook_path: str | None = None):
        self.application = application
        self.host, self.port = listen_address(listen)
        self.mode = mode
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        if webhook is not None:
            app.router.add_post(webhook_path or "/", webhook.handle)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.25)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            raise ListenError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        log.info("serving /healthz and /metrics%s on %s:%d", " and the webhook" if self.mode == "webhook" else "",
                 self.host, self.port)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        data = self.application.bot_data
        library = getattr(data, "library", None)
        body = {
            "corpus_loaded": library is not None,
            "articles": library.article_count if library is not None else 0,
            "paragraphs": library.paragraph_count if library is not None else 0,
            "serving": bool(getattr(data, "serving", False)),
            "mode": self.mode,
        }
        return web.json_response(body, status=200 if library is not None else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        metrics = self.application.bot_data.metrics
        return web.Response(body=metrics.exposition(), headers={"Content-Type": metrics.content_type})
