"""Keeping within Telegram's flood limits, and riding out 429s and transient network failures.

``AIORateLimiter`` retries a 429 after its ``retry_after`` and pauses every request meanwhile, but its
leaky buckets let a burst through: 30 at once and then 30 a second means up to 60 in one second, and
a group's 20-a-minute bucket lets 39 through in the first minute. It does not limit private chats at
all. So the limits themselves are kept here with sliding windows, which never admit more than N
messages in any period, measured from when each message's request *finished* (so the times the
server records can only be further apart). AIORateLimiter is kept for what it does well: the 429s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from typing import Any, AsyncIterator, Callable, Coroutine

from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter

from bot.settings import TelegramSettings
from bot.telegram.metrics import Metrics

log = logging.getLogger(__name__)

# Endpoints that are not messages to a chat and so are not counted against the flood limits (the
# typing indicator, answering a button press or an inline query).
_NOT_MESSAGES = frozenset({"sendChatAction", "answerCallbackQuery", "answerInlineQuery"})
# Calls whose callers retry them on their own terms, watching for a stop (connecting at start-up):
# resending them here would keep a bot that cannot reach the API from noticing SIGINT or SIGTERM.
_CALLER_RETRIES = frozenset({"getMe", "deleteWebhook", "setWebhook", "getUpdates", "close", "logOut"})
_IDLE_WINDOWS_KEPT = 1024  # per-chat windows kept before idle ones are forgotten
_FIRST_BACKOFF = 0.5  # seconds before the first resend after a network failure; doubles each time
_MAX_BACKOFF = 8.0


def counts_as_message(endpoint: str) -> bool:
    """Whether a call puts a message into a chat, which is what Telegram's flood limits count.

    >>> counts_as_message("sendMessage"), counts_as_message("editMessageText"), counts_as_message("sendChatAction")
    (True, True, False)
    """
    return endpoint not in _NOT_MESSAGES and endpoint.startswith(("send", "edit", "copy", "forward"))


class SlidingWindow:
    """At most ``limit`` calls in any ``period`` seconds; waiters are admitted in arrival order."""

    def __init__(self, limit: int, period: float):
        self.limit = limit
        self.period = period
        self._finished: deque[float] = deque()  # end times of calls that may still count
        self._running = 0
        self._admit = asyncio.Lock()  # one waiter at a time, first come first served
        self._released = asyncio.Event()

    @classmethod
    def per(cls, rate: float, seconds: float) -> "SlidingWindow":
        """A window admitting ``rate`` calls per ``seconds``; a fractional rate stretches the period.

        >>> w = SlidingWindow.per(0.5, 1); (w.limit, w.period)
        (1, 2.0)
        >>> w = SlidingWindow.per(20, 60); (w.limit, w.period)
        (20, 60)
        """
        if rate >= 1:
            return cls(int(rate), seconds)
        return cls(1, seconds / rate)

    def idle(self, now: float) -> bool:
        """Nothing running and nothing that still counts: the window may be forgotten."""
        expired = not self._finished or self._finished[-1] <= now - self.period
        return expired and not self._running and not self._admit.locked()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the window's places for the duration of a call."""
        loop = asyncio.get_running_loop()
        async with self._admit:
            while True:
                now = loop.time()
                while self._finished and self._finished[0] <= now - self.period:
                    self._finished.popleft()
                if self._running + len(self._finished) < self.limit:
                    break
                if self._finished:
                    await asyncio.sleep(self._finished[0] + self.period - now)
                else:
                    self._released.clear()
                    await self._released.wait()
            self._running += 1
        try:
            yield
        finally:
            self._running -= 1
            self._finished.append(loop.time())
            self._released.set()


class FloodLimiter(AIORateLimiter):
    """Telegram's limits per chat, per group and overall as sliding windows; 429s waited out and
    retried; a send lost to a network error or a 5xx sent again after a back-off."""

    def __init__(self, settings: TelegramSettings, metrics: Metrics | None = None):
        # AIORateLimiter's own buckets are switched off (rates 0): only its 429 handling is used.
        super().__init__(overall_max_rate=0, group_max_rate=0, max_retries=settings.send_retries)
        self._settings = settings
        self._metrics = metrics
        self._overall = SlidingWindow.per(settings.overall_messages_per_second, 1)
        self._chats: dict[int | str, SlidingWindow] = {}
        self._groups: dict[int | str, SlidingWindow] = {}

    def _window(
        self, windows: dict[int | str, SlidingWindow], chat_id: int | str, rate: float, seconds: float
    ) -> SlidingWindow:
        """The chat's window in ``windows``, made on first use; idle ones are forgotten now and then."""
        window = windows.get(chat_id)
        if window is None:
            if len(windows) >= _IDLE_WINDOWS_KEPT:
                now = asyncio.get_running_loop().time()
                for key in [key for key, old in windows.items() if old.idle(now)]:
                    del windows[key]
            window = windows[chat_id] = SlidingWindow.per(rate, seconds)
        return window

    def _windows_for(self, endpoint: str, chat_id: Any) -> list[SlidingWindow]:
        """The windows a call must pass, narrowest first so a busy chat does not hold an overall place."""
        if chat_id is None or not counts_as_message(endpoint):
            return []
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)
        settings = self._settings
        windows = [self._window(self._chats, chat_id, settings.chat_messages_per_second, 1)]
        if isinstance(chat_id, str) or chat_id < 0:  # groups, supergroups and channels
            windows.append(self._window(self._groups, chat_id, settings.group_messages_per_minute, 60))
        windows.append(self._overall)
        return windows

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        windows = self._windows_for(endpoint, data.get("chat_id"))
        retries = 0 if endpoint in _CALLER_RETRIES else self._settings.send_retries
        metrics = self._metrics

        async def attempt(*call_args: Any, **call_kwargs: Any) -> Any:
            # Each attempt, retries included, takes its own place in the windows: the server counts it.
            for failures in range(retries + 1):
                try:
                    async with contextlib.AsyncExitStack() as places:
                        for window in windows:
                            await places.enter_async_context(window.slot())
                        result = await callback(*call_args, **call_kwargs)
                    if metrics is not None and counts_as_message(endpoint):
                        metrics.sends.labels(endpoint).inc()
                    return result
                except BadRequest:
                    raise  # the request itself is wrong; sending it again cannot help
                except RetryAfter:
                    if metrics is not None:
                        metrics.rate_limited.inc()
                    raise  # AIORateLimiter waits it out and calls again
                except NetworkError as exc:
                    if failures == retries:
                        raise
                    delay = min(_FIRST_BACKOFF * 2**failures, _MAX_BACKOFF) * random.uniform(0.8, 1.2)
                    log.warning("%s failed (%s); sending again in %.1f s", endpoint, exc, delay)
                    await asyncio.sleep(delay)

        try:
            return await super().process_request(attempt, args, kwargs, endpoint, data, rate_limit_args)
        except TelegramError:
            if metrics is not None and counts_as_message(endpoint):
                metrics.error("send")
            raise
