"""A stand-in Telegram Bot API server on 127.0.0.1, for tests and manual runs.

It speaks the HTTP interface python-telegram-bot (PTB) uses: ``/bot<token>/<method>`` with the
parameters form-encoded (PTB sends every non-string value JSON-encoded inside the form), as JSON, or as
multipart, and ``/file/bot<token>/<file_path>`` for downloads. A bot under test is pointed at it with
``base_url=api.base_url`` and ``base_file_url=api.file_base_url``.

In a test::

    with FakeBotApi() as api:
        ... start the bot with api.base_url ...
        question = api.private_text(1001, "河北取缔了多少家非法社会组织？")
        api.wait_for(lambda: api.replies_to(question), timeout=10)

Standalone, for poking a bot by hand (``--port 0`` picks a free port)::

    python tests/system/fake_bot_api.py --port 8081 --token 123:abc
    curl -d '{"chat_id": 7, "text": "hello"}' http://127.0.0.1:8081/_control/private

Everything Telegram would decide (update ids, message ids, dates, entities of commands and mentions)
is decided here the way Telegram does, so the bot cannot lean on anything a real server would not give.

Webhooks work as on Telegram: after ``setWebhook`` the server POSTs each pending update to the URL as
JSON, with the registered ``secret_token`` in ``X-Telegram-Bot-Api-Secret-Token``, and forgets it only
on a 2xx answer; a failed delivery (another status, a refused or dropped connection, a timeout) is
retried after a back-off. One update per chat is in flight at a time, so a chat's updates arrive in
order. ``getUpdates`` is refused with 409 while a webhook is set. ``api.webhook_backends`` stands in
for a reverse proxy in front of several bot processes (deliveries go round-robin to those URLs), and
``faults.lost_ack_fraction`` treats a share of 2xx answers as lost, so the update is delivered again.
Faults (429, 500, dropped connections, hanging or conflicting getUpdates) are switched on at run time
through ``api.faults``; the random ones draw from a seeded generator so a run can be repeated.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import json
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from aiohttp import web

DEFAULT_TOKEN = "123456789:AAFakeTokenForQabotTests_dO-nOt-LeAk"
BOT_ID = 123456789
BOT_USERNAME = "qabot_test_bot"
BOT_FIRST_NAME = "QA Bot"

# Methods that deliver something to a chat: the ones Telegram rate-limits, and the default fault targets.
SEND_METHODS = frozenset({"sendMessage", "editMessageText"})

# Parameters that are plain strings even when they look like JSON (a text "123" stays "123").
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "query",
        "callback_query_id",
        "inline_query_id",
        "next_offset",
        "file_id",
        "action",
        "url",
        "switch_pm_text",
        "switch_pm_parameter",
        "secret_token",
        "language_code",
    }
)

# How Telegram itself finds commands and mentions in a message's text and reports them as entities.
_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w@])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?!\w)")


# ---------------------------------------------------------------------------------------------------
# Building Telegram objects (plain dicts, exactly as the Bot API serialises them)
# ---------------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets.

    >>> utf16_len("a😀b")
    4
    """
    return len(text.encode("utf-16-le")) // 2


def utf16_offset(text: str, index: int) -> int:
    """The UTF-16 offset of the Python string index ``index``.

    >>> utf16_offset("😀@bot", 1)
    2
    """
    return utf16_len(text[:index])


def entity(kind: str, text: str, start: int, end: int, **extra: Any) -> dict[str, Any]:
    """A MessageEntity covering ``text[start:end]`` (Python indices) with UTF-16 offset and length."""
    return {
        "type": kind,
        "offset": utf16_offset(text, start),
        "length": utf16_len(text[start:end]),
        **extra,
    }


def auto_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command and mention entities Telegram would attach to ``text``.

    >>> [(e["type"], e["offset"], e["length"]) for e in auto_entities("/ask@qabot_test_bot 你好 @someone_else")]
    [('bot_command', 0, 19), ('mention', 23, 13)]
    """
    found = [entity("bot_command", text, m.start(), m.end()) for m in _COMMAND_RE.finditer(text)]
    found += [entity("mention", text, m.start(), m.end()) for m in _MENTION_RE.finditer(text)]
    return sorted(found, key=lambda e: e["offset"])


def make_user(user_id: int, first_name: str | None = None, username: str | None = None,
              is_bot: bool = False, language_code: str | None = None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": is_bot, "first_name": first_name or f"User{user_id}"}
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def private_chat(user: dict[str, Any]) -> dict[str, Any]:
    chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    if "username" in user:
        chat["username"] = user["username"]
    return chat


def group_chat(chat_id: int, title: str | None = None, kind: str = "supergroup",
               is_forum: bool = False) -> dict[str, Any]:
    """A group (``kind="group"``) or supergroup chat; ids of groups are negative, as on Telegram."""
    if chat_id >= 0:
        raise ValueError("group chat ids are negative")
    chat: dict[str, Any] = {"id": chat_id, "type": kind, "title": title or f"Group {chat_id}"}
    if is_forum:
        chat["is_forum"] = True
    return chat


def bot_user(username: str = BOT_USERNAME, bot_id: int = BOT_ID) -> dict[str, Any]:
    return make_user(bot_id, BOT_FIRST_NAME, username, is_bot=True)


# ---------------------------------------------------------------------------------------------------
# Recorded calls and fault settings
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request the bot made. ``outcome`` is "ok", or the fault/error that answered it."""

    method: str
    params: dict[str, Any]
    monotonic: float
    wall: float
    outcome: str
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def took_effect(self) -> bool:
        """The call did what it asked (a message was delivered), even if the bot never heard back."""
        return self.outcome in ("ok", "dropped_after_effect")


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery attempt: the update, where it went, and what came of it ("ok", an HTTP
    status such as "403", "lost_ack", or the connection error's name)."""

    update_id: int
    url: str
    outcome: str
    monotonic: float


@dataclass
class Faults:
    """Faults injected at run time; change the fields while the server runs (``api.faults.x = y``).

    Random faults hit a fraction of calls to ``methods`` and draw from a generator seeded with ``seed``.
    A dropped connection closes the socket half-way through the response; with ``drop_after_effect``
    the call takes effect first (the message is delivered, the bot does not learn it), which is the
    case no client can tell apart from a lost request.
    """

    rate_limit_fraction: float = 0.0
    retry_after: int = 1
    server_error_fraction: float = 0.0
    drop_fraction: float = 0.0
    drop_after_effect: bool = False
    methods: frozenset[str] = SEND_METHODS
    # The next N getUpdates calls hang this many seconds past their own timeout, then return nothing.
    hang_get_updates: int = 0
    hang_seconds: float = 5.0
    # The next N getUpdates calls get 409 Conflict, as when another instance polls; -1 means forever.
    conflict_get_updates: int = 0
    # Webhook deliveries answered 2xx that are taken as failed all the same (the answer lost on the
    # way), so the update is delivered again.
    lost_ack_fraction: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def reseed(self, seed: int) -> None:
        self.seed = seed
        self.random = random.Random(seed)

    def clear(self) -> None:
        """Switch every fault off (keeps the generator's state)."""
        for f in dataclasses.fields(self):
            if f.name not in ("seed", "methods", "retry_after", "hang_seconds"):
                setattr(self, f.name, f.default)


class _Drop(Exception):
    """Answer this request by dropping the connection mid-response."""


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


# ---------------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------------


class FakeBotApi:
    """The stand-in server. Thread-safe: tests push updates and read calls from their own thread."""

    def __init__(self, token: str = DEFAULT_TOKEN, username: str = BOT_USERNAME, bot_id: int = BOT_ID,
                 port: int = 0, seed: int = 0, max_file_bytes: int = 20 * 1024 * 1024):
        self.token = token
        self.bot = bot_user(username, bot_id)
        self.port = port
        self.faults = Faults(seed=seed)
        self.max_file_bytes = max_file_bytes
        self._lock = threading.RLock()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._pending: list[dict[str, Any]] = []  # updates not yet confirmed, in update_id order
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}  # (chat_id, message_id) -> Message
        self._chats: dict[int, dict[str, Any]] = {}
        self._replies: dict[tuple[int, int], list[dict[str, Any]]] = {}  # (chat, replied id) -> bot messages
        self._update_ids_of: dict[tuple[int, int], int] = {}  # (chat, message id) -> update that brought it
        self._files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.calls: list[Call] = []
        self.offsets: list[int | None] = []  # the offset of every getUpdates, in arrival order
        self.confirmed_up_to = 0  # every update_id below this has been confirmed
        self.left_chats: list[int] = []
        self._handling = 0  # requests being handled right now
        self._last_request = 0.0  # time.monotonic() when the latest request arrived
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._new_update: asyncio.Event | None = None
        self._webhook_wake: asyncio.Event | None = None
        self._webhook_task: asyncio.Task | None = None
        self.webhook: dict[str, Any] | None = None  # url, secret_token, max_connections while one is set
        self.webhook_backends: list[str] | None = None  # a reverse proxy's backends: round-robin targets
        self.webhook_timeout = 30.0  # seconds a delivery may take before it counts as failed
        self.deliveries: list[Delivery] = []
        self._delivering: dict[int, Any] = {}  # update_id -> chat key, for deliveries in flight
        self._retry_at: dict[int, tuple[float, int]] = {}  # update_id -> (monotonic time, failures)
        self._backend_turn = itertools.count()
        self._started = threading.Event()
        self._startup_error: BaseException | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """What PTB calls ``base_url`` (and the bot reads from TELEGRAM_API_BASE_URL)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def file_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def start(self) -> "FakeBotApi":
        """Serve on 127.0.0.1 from a background thread; returns once the port is bound."""
        self._thread = threading.Thread(target=self._serve_forever, name="fake-bot-api", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._startup_error is not None:
            raise RuntimeError("fake Bot API failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        with contextlib.suppress(Exception):
            future.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> "FakeBotApi":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve_forever(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:  # reported to start()'s caller
            self._startup_error = exc
            self._started.set()
            return
        self._started.set()
        loop.run_forever()
        loop.close()

    async def _startup(self) -> None:
        self._new_update = asyncio.Event()
        self._webhook_wake = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_post("/_control/{action}", self._handle_control)
        app.router.add_get("/_control/calls", self._handle_control_calls)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the port the OS picked for port=0

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        # Long polls and hung getUpdates may still be sleeping; end them so the loop closes quietly.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    # --- feeding updates ---------------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update of type ``kind`` (e.g. "message", "callback_query"); returns it with its id."""
        with self._lock:
            update = {"update_id": next(self._update_ids), kind: payload}
            self._pending.append(update)
            for key in ("message", "edited_message"):
                if key in update:
                    self._remember(update[key])
                    self._update_ids_of[(update[key]["chat"]["id"], update[key]["message_id"])] = update["update_id"]
        if self._loop is not None and self._new_update is not None:
            self._loop.call_soon_threadsafe(self._new_update.set)
            self._loop.call_soon_threadsafe(self._webhook_wake.set)
        return update

    def new_message(self, chat: dict[str, Any], sender: dict[str, Any], text: str | None = None,
                    entities: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
        """A Message from ``sender`` in ``chat`` (not queued). Entities default to Telegram's own."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": sender,
            "chat": chat,
            "date": int(time.time()),
        }
        if text is not None:
            message["text"] = text
            found = auto_entities(text) if entities is None else entities
            if found:
                message["entities"] = found
        message.update(fields)
        return message

    def push_message(self, message: dict[str, Any]) -> dict[str, Any]:
        return self.push_update("message", message)["message"]

    def private_text(self, user_id: int, text: str, user: dict[str, Any] | None = None,
                     **fields: Any) -> dict[str, Any]:
        """A user writes ``text`` to the bot in their private chat; returns the queued Message."""
        sender = user or make_user(user_id)
        return self.push_message(self.new_message(private_chat(sender), sender, text, **fields))

    def group_text(self, chat_id: int, text: str, user_id: int = 5001, kind: str = "supergroup",
                   reply_to: dict[str, Any] | None = None, thread_id: int | None = None,
                   entities: list[dict[str, Any]] | None = None, user: dict[str, Any] | None = None,
                   **fields: Any) -> dict[str, Any]:
        """A message in a group or supergroup; ``thread_id`` puts it in that forum topic."""
        chat = group_chat(chat_id, kind=kind, is_forum=thread_id is not None)
        sender = user or make_user(user_id)
        if reply_to is not None:
            fields["reply_to_message"] = reply_to
        if thread_id is not None:
            fields.update(message_thread_id=thread_id, is_topic_message=True)
        return self.push_message(self.new_message(chat, sender, text, entities, **fields))

    def group_mention(self, chat_id: int, question: str, mention_first: bool = True,
                      **kwargs: Any) -> dict[str, Any]:
        """A group message addressing the bot by ``@username`` (a MENTION entity)."""
        handle = "@" + self.bot["username"]
        text = f"{handle} {question}" if mention_first else f"{question} {handle}"
        return self.group_text(chat_id, text, **kwargs)

    def group_text_mention(self, chat_id: int, question: str, **kwargs: Any) -> dict[str, Any]:
        """A group message naming the bot through a TEXT_MENTION entity (a name linked to the user)."""
        name = self.bot["first_name"]
        text = f"{name} {question}"
        mention = entity("text_mention", text, 0, len(name), user=self.bot)
        return self.group_text(chat_id, text, entities=[mention], **kwargs)

    def reply_to_bot(self, bot_message: dict[str, Any], text: str, user_id: int = 5001,
                     **kwargs: Any) -> dict[str, Any]:
        """A reply to one of the bot's messages, in the bot message's chat (and topic)."""
        chat = bot_message["chat"]
        if chat["type"] == "private":
            sender = make_user(chat["id"])
            return self.push_message(
                self.new_message(chat, sender, text, reply_to_message=bot_message, **kwargs)
            )
        if "message_thread_id" in bot_message:
            kwargs.setdefault("thread_id", bot_message["message_thread_id"])
        return self.group_text(chat["id"], text, user_id=user_id, kind=chat["type"],
                               reply_to=bot_message, **kwargs)

    def edit(self, message: dict[str, Any], new_text: str) -> dict[str, Any]:
        """The user edits ``message``: an ``edited_message`` update with the same message_id."""
        edited = dict(message, text=new_text, edit_date=int(time.time()))
        found = auto_entities(new_text)
        if found:
            edited["entities"] = found
        else:
            edited.pop("entities", None)
        return self.push_update("edited_message", edited)["edited_message"]

    def forwarded(self, chat: dict[str, Any], forwarder: dict[str, Any], original_sender: dict[str, Any],
                  text: str, **fields: Any) -> dict[str, Any]:
        """``forwarder`` forwards a message ``original_sender`` wrote (forward_origin of type user)."""
        origin = {"type": "user", "date": int(time.time()) - 60, "sender_user": original_sender}
        return self.push_message(self.new_message(chat, forwarder, text, forward_origin=origin, **fields))

    def sticker(self, chat: dict[str, Any], sender: dict[str, Any]) -> dict[str, Any]:
        sticker = {
            "file_id": f"sticker{next(self._file_ids)}", "file_unique_id": "stk", "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False, "emoji": "😀",
        }
        return self.push_message(self.new_message(chat, sender, sticker=sticker))

    def photo(self, chat: dict[str, Any], sender: dict[str, Any], caption: str | None = None,
              content: bytes | None = None) -> dict[str, Any]:
        """A photo message, in the sizes Telegram makes of it (a thumbnail and the largest). With
        ``content`` the largest size is that image, downloadable through getFile."""
        sizes = [
            {"file_id": f"photo{next(self._file_ids)}", "file_unique_id": f"ph{side}", "width": side,
             "height": side, "file_size": side * 10}
            for side in (90, 320)
        ]
        if content is not None:
            largest = sizes[-1]
            largest.update(file_id=self.add_file(content, "photo.jpg"), file_size=len(content), width=1280, height=1810)
            largest["file_unique_id"] = f"u{largest['file_id']}"
        fields: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(self.new_message(chat, sender, **fields))

    def add_file(self, content: bytes, file_name: str = "file.txt") -> str:
        """Store ``content`` for getFile and download; returns its file_id."""
        number = next(self._file_ids)
        file_id = f"doc{number}"
        suffix = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        with self._lock:
            self._files[file_id] = (f"documents/file_{number}.{suffix}", content)
        return file_id

    def document(self, chat: dict[str, Any], sender: dict[str, Any], file_name: str, content: bytes,
                 mime_type: str = "text/plain", caption: str | None = None,
                 reported_size: int | None = None, **fields: Any) -> dict[str, Any]:
        """A document message; ``file_name`` is sent as given (it may be hostile: ``../x.txt``), and
        ``reported_size`` may claim a size other than the content's."""
        file_id = self.add_file(content, file_name)
        document = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": file_name,
                    "mime_type": mime_type, "file_size": len(content) if reported_size is None else reported_size}
        if caption is not None:
            fields["caption"] = caption
        return self.push_message(self.new_message(chat, sender, document=document, **fields))

    def callback_query(self, message: dict[str, Any], data: str, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """Someone presses an inline button with ``data`` under the bot's ``message``."""
        presser = user or make_user(message["chat"]["id"] if message["chat"]["id"] > 0 else 5001)
        query = {"id": f"cbq{next(self._update_ids)}", "from": presser, "message": message,
                 "chat_instance": str(message["chat"]["id"]), "data": data}
        return self.push_update("callback_query", query)["callback_query"]

    def inline_query(self, user_id: int, query: str, offset: str = "") -> dict[str, Any]:
        inline = {"id": f"inl{next(self._update_ids)}", "from": make_user(user_id), "query": query,
                  "offset": offset}
        return self.push_update("inline_query", inline)["inline_query"]

    # --- reading what the bot did ------------------------------------------------------------------

    def calls_of(self, *methods: str, ok_only: bool = False) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method in methods and (c.ok or not ok_only)]

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot delivered (sendMessage calls that took effect), in delivery order."""
        return [
            c.result for c in self.calls_of("sendMessage")
            if c.took_effect and (chat_id is None or c.result["chat"]["id"] == chat_id)
        ]

    def replies_to(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's delivered messages that reply to ``message``, in delivery order."""
        with self._lock:
            return list(self._replies.get((message["chat"]["id"], message["message_id"]), ()))

    def update_id_of(self, message: dict[str, Any]) -> int:
        """The id of the update that delivered ``message`` to the bot."""
        with self._lock:
            return self._update_ids_of[(message["chat"]["id"], message["message_id"])]

    def pending_updates(self) -> int:
        with self._lock:
            return len(self._pending)

    def wait_until_quiet(self, quiet: float = 0.5, timeout: float = 10.0) -> None:
        """Wait until no request is being handled and none has arrived for ``quiet`` seconds. After a
        bot process is killed, a request it sent just before may still be on its way through the
        server: what the server records is final only once it is quiet."""
        def settled() -> bool:
            with self._lock:
                return self._handling == 0 and time.monotonic() - self._last_request >= quiet
        self.wait_for(settled, timeout)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
        """Poll ``predicate`` until it returns something truthy; return that, or raise TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout:.1f}s")
            time.sleep(interval)

    # --- request handling --------------------------------------------------------------------------

    async def _handle_method(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self._handling += 1
            self._last_request = time.monotonic()
        try:
            return await self._answer_method(request)
        finally:
            with self._lock:
                self._handling -= 1

    async def _answer_method(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            params = await _read_params(request)
        except ConnectionResetError:  # the client died mid-request (a test killed the bot)
            return web.Response(status=400)
        if request.match_info["token"] != self.token:
            self._record(method, params, "unauthorized")
            # As Telegram: a token of the wrong shape is Not Found, a well-formed unknown one Unauthorized.
            if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{30,}", request.match_info["token"]):
                return _error_response(_ApiError(404, "Not Found"))
            return _error_response(_ApiError(401, "Unauthorized"))
        try:
            result = await self._dispatch(method, params)
        except _Drop:
            return await _drop_connection(request)
        except _ApiError as exc:
            return _error_response(exc)
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        handler = _METHODS.get(method)
        if handler is None and method != "getUpdates":
            self._record(method, params, "not_found")
            raise _ApiError(404, "Not Found")
        fault = self._draw_fault(method)
        if fault in ("rate_limited", "server_error", "dropped"):
            self._record(method, params, fault)
            if fault == "rate_limited":
                retry = self.faults.retry_after
                raise _ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
            if fault == "server_error":
                raise _ApiError(500, "Internal Server Error")
            raise _Drop()
        if method == "getUpdates":
            return await self._get_updates(params)
        try:
            with self._lock:
                result = handler(self, params)
        except _ApiError as exc:
            self._record(method, params, f"error_{exc.code}")
            raise
        self._record(method, params, "dropped_after_effect" if fault == "dropped_after_effect" else "ok", result)
        if fault == "dropped_after_effect":
            raise _Drop()
        return result

    def _draw_fault(self, method: str) -> str | None:
        faults = self.faults
        if method not in faults.methods:
            return None
        with self._lock:
            draw = faults.random.random()
        if draw < faults.rate_limit_fraction:
            return "rate_limited"
        draw -= faults.rate_limit_fraction
        if draw < faults.server_error_fraction:
            return "server_error"
        draw -= faults.server_error_fraction
        if draw < faults.drop_fraction:
            return "dropped_after_effect" if faults.drop_after_effect else "dropped"
        return None

    def _record(self, method: str, params: dict[str, Any], outcome: str, result: Any = None) -> None:
        with self._lock:
            self.calls.append(Call(method, params, time.monotonic(), time.time(), outcome, result))

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int_or_none(params.get("offset"))
        limit = max(1, min(100, _int_or_none(params.get("limit")) or 100))
        timeout = max(0, _int_or_none(params.get("timeout")) or 0)
        with self._lock:
            self.offsets.append(offset)
            conflict = self.faults.conflict_get_updates != 0
            if self.faults.conflict_get_updates > 0:
                self.faults.conflict_get_updates -= 1
            hang = not conflict and self.faults.hang_get_updates > 0
            if hang:
                self.faults.hang_get_updates -= 1
        if conflict:
            self._record("getUpdates", params, "conflict")
            raise _ApiError(409, "Conflict: terminated by other getUpdates request; "
                                 "make sure that only one bot instance is running")
        if self.webhook is not None:
            self._record("getUpdates", params, "conflict")
            raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                 "use deleteWebhook to delete the webhook first")
        self._confirm(offset)
        if hang:
            self._record("getUpdates", params, "hung")
            await asyncio.sleep(timeout + self.faults.hang_seconds)
            return []
        deadline = time.monotonic() + timeout
        assert self._new_update is not None
        while True:
            self._new_update.clear()
            with self._lock:
                batch = self._pending[:limit]
            if batch or time.monotonic() >= deadline:
                self._record("getUpdates", params, "ok", batch)
                return batch
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())

    def _confirm(self, offset: int | None) -> None:
        """Telegram's rule: a getUpdates with ``offset`` confirms (drops) every update below it."""
        if offset is None or offset <= 0:
            return
        with self._lock:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            self.confirmed_up_to = max(self.confirmed_up_to, offset)

    def _remember(self, message: dict[str, Any]) -> None:
        chat = message["chat"]
        self._chats.setdefault(chat["id"], chat)
        self._messages[(chat["id"], message["message_id"])] = message

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        chat_id = _int_or_none(chat_id)
        if chat_id is None:
            raise _ApiError(400, "Bad Request: chat_id is empty")
        known = self._chats.get(chat_id)
        if known is not None:
            return known
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"} if chat_id > 0 else \
            {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    # --- the methods (called with the lock held) ---------------------------------------------------

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(self.bot, can_join_groups=True, can_read_all_group_messages=False,
                    supports_inline_queries=True, can_connect_to_business=False, has_main_web_app=False)

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._pending.clear()
        self.webhook = None
        return True

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url")
        if not isinstance(url, str) or not url:
            return self._delete_webhook(params)
        if not url.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates") in (True, "true", "True"):
            self._pending.clear()
        self.webhook = {"url": url, "secret_token": secret, "max_connections": _int_or_none(params.get("max_connections")) or 40}
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_forever())
        self._webhook_wake.set()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hook = self.webhook or {}
        return {"url": hook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._pending), "max_connections": hook.get("max_connections", 40)}

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > 4096 and params.get("parse_mode") is None:
            raise _ApiError(400, "Bad Request: message is too long")
        chat = self._chat(params.get("chat_id"))
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": self.bot,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        thread_id = _int_or_none(params.get("message_thread_id"))
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
        reply_id = _int_or_none(params.get("reply_to_message_id"))
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            reply_id = _int_or_none(reply_parameters.get("message_id"))
        if reply_id is not None:
            replied = self._messages.get((chat["id"], reply_id))
            if replied is not None:
                message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
            elif not (isinstance(reply_parameters, dict) and reply_parameters.get("allow_sending_without_reply")):
                raise _ApiError(400, "Bad Request: message to be replied not found")
        for key in ("reply_markup", "parse_mode", "link_preview_options"):
            if key in params:
                message[f"_{key}"] = params[key]  # kept for assertions; not part of a real Message
        self._remember(message)
        if "reply_to_message" in message:
            self._replies.setdefault((chat["id"], message["reply_to_message"]["message_id"]), []).append(message)
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> Any:
        if "inline_message_id" in params:
            return True
        chat = self._chat(params.get("chat_id"))
        key = (chat["id"], _int_or_none(params.get("message_id")) or 0)
        original = self._messages.get(key)
        if original is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if text == original.get("text") and params.get("reply_markup") == original.get("_reply_markup"):
            raise _ApiError(400, "Bad Request: message is not modified")
        edited = dict(original, text=text, edit_date=int(time.time()))
        if "reply_markup" in params:
            edited["_reply_markup"] = params["reply_markup"]
        self._messages[key] = edited
        return edited

    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id"))
        stored = self._files.get(file_id)
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        path, content = stored
        if len(content) > self.max_file_bytes:
            raise _ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(content), "file_path": path}

    def _leave_chat(self, params: dict[str, Any]) -> bool:
        self.left_chats.append(_int_or_none(params.get("chat_id")) or 0)
        return True

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        return dict(chat, accent_color_id=0, max_reaction_count=11, accepted_gift_types={
            "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
            "premium_subscription": False, "gifts_from_channels": False})

    def _true(self, params: dict[str, Any]) -> bool:
        return True

    # --- webhook delivery (runs on the server's loop while a webhook is set) ------------------------

    async def _deliver_forever(self) -> None:
        from aiohttp import ClientSession, ClientTimeout

        in_flight: set[asyncio.Task] = set()
        async with ClientSession(timeout=ClientTimeout(total=self.webhook_timeout)) as session:
            while self.webhook is not None:
                self._webhook_wake.clear()
                for update in self._due_deliveries(len(in_flight)):
                    task = asyncio.create_task(self._deliver(session, update))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    task.add_done_callback(lambda _: self._webhook_wake.set())
                next_retry = min((at for at, _ in self._retry_at.values()), default=None)
                wait = 0.5 if next_retry is None else max(0.0, min(0.5, next_retry - time.monotonic()))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._webhook_wake.wait(), wait)
            for task in list(in_flight):
                task.cancel()

    def _due_deliveries(self, running: int) -> list[dict[str, Any]]:
        """Pending updates to deliver now: not in flight, past their retry time, their chat idle."""
        now = time.monotonic()
        limit = (self.webhook or {}).get("max_connections", 40) - running
        busy_chats = set(self._delivering.values())
        chosen = []
        with self._lock:
            for update in self._pending:
                if len(chosen) >= limit:
                    break
                uid = update["update_id"]
                if uid in self._delivering or self._retry_at.get(uid, (0.0, 0))[0] > now:
                    continue
                chat = _update_chat(update)
                if chat is not None and chat in busy_chats:
                    continue  # one at a time per chat, in order
                busy_chats.add(chat)
                self._delivering[uid] = chat
                chosen.append(update)
        return chosen

    async def _deliver(self, session: Any, update: dict[str, Any]) -> None:
        uid = update["update_id"]
        hook = self.webhook or {}
        backends = self.webhook_backends
        url = backends[next(self._backend_turn) % len(backends)] if backends else hook.get("url", "")
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]} if hook.get("secret_token") else {}
        try:
            async with session.post(url, json=update, headers=headers) as response:
                await response.read()
                outcome = "ok" if 200 <= response.status < 300 else str(response.status)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # refused, dropped, timed out: Telegram tries again later
            outcome = type(exc).__name__
        if outcome == "ok":
            with self._lock:
                lost = self.faults.random.random() < self.faults.lost_ack_fraction
            outcome = "lost_ack" if lost else outcome
        with self._lock:
            self.deliveries.append(Delivery(uid, url, outcome, time.monotonic()))
            self._delivering.pop(uid, None)
            if outcome == "ok":
                self._pending = [u for u in self._pending if u["update_id"] != uid]
                self._retry_at.pop(uid, None)
            else:
                failures = self._retry_at.get(uid, (0.0, 0))[1] + 1
                self._retry_at[uid] = (time.monotonic() + min(0.1 * 2 ** failures, 2.0), failures)

    def deliveries_of(self, message: dict[str, Any]) -> list[Delivery]:
        """Every webhook delivery of the update that brought ``message``."""
        uid = self.update_id_of(message)
        with self._lock:
            return [d for d in self.deliveries if d.update_id == uid]

    # --- downloads and manual control --------------------------------------------------------------

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error_response(_ApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        with self._lock:
            content = next((c for p, c in self._files.values() if p == path), None)
        self._record("downloadFile", {"file_path": path}, "ok" if content is not None else "not_found")
        if content is None:
            return _error_response(_ApiError(404, "Not Found"))
        return web.Response(body=content, content_type="application/octet-stream")

    async def _handle_control(self, request: web.Request) -> web.Response:
        """Manual runs: POST /_control/private {"chat_id", "text"}, /group {"chat_id", "text"},
        /update {"kind", "payload"}, /faults {field: value}."""
        body = await request.json()
        action = request.match_info["action"]
        if action == "private":
            result: Any = self.private_text(int(body["chat_id"]), body["text"])
        elif action == "group":
            result = self.group_text(int(body["chat_id"]), body["text"])
        elif action == "update":
            result = self.push_update(body["kind"], body["payload"])
        elif action == "faults":
            for name, value in body.items():
                setattr(self.faults, name, value)
            result = dataclasses.asdict(self.faults) | {"methods": sorted(self.faults.methods)}
        else:
            raise web.HTTPNotFound()
        return web.json_response(result)

    async def _handle_control_calls(self, request: web.Request) -> web.Response:
        with self._lock:
            calls = [dataclasses.asdict(c) for c in self.calls]
        return web.json_response(calls)


_METHODS: dict[str, Callable[[FakeBotApi, dict[str, Any]], Any]] = {
    "getMe": FakeBotApi._get_me,
    "deleteWebhook": FakeBotApi._delete_webhook,
    "setWebhook": FakeBotApi._set_webhook,
    "getWebhookInfo": FakeBotApi._get_webhook_info,
    "sendMessage": FakeBotApi._send_message,
    "editMessageText": FakeBotApi._edit_message_text,
    "sendChatAction": FakeBotApi._true,
    "answerCallbackQuery": FakeBotApi._true,
    "answerInlineQuery": FakeBotApi._true,
    "setMyCommands": FakeBotApi._true,
    "deleteMyCommands": FakeBotApi._true,
    "setMyDescription": FakeBotApi._true,
    "setMyShortDescription": FakeBotApi._true,
    "getFile": FakeBotApi._get_file,
    "leaveChat": FakeBotApi._leave_chat,
    "getChat": FakeBotApi._get_chat,
    "close": FakeBotApi._true,
}


async def _read_params(request: web.Request) -> dict[str, Any]:
    """The call's parameters, whatever way they came: query string, JSON, form or multipart."""
    params: dict[str, Any] = {k: _decode_value(k, v) for k, v in request.query.items()}
    if request.method != "POST" or not request.can_read_body:
        return params
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = {"file_name": value.filename, "content": value.file.read()}
        else:
            params[key] = _decode_value(key, value)
    return params


def _decode_value(key: str, value: str) -> Any:
    """PTB JSON-encodes every non-string parameter inside the form; strings arrive raw."""
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _update_chat(update: dict[str, Any]) -> Any:
    """The chat (or, failing one, the sender) an update belongs to: deliveries of one are kept in order."""
    for kind, payload in update.items():
        if not isinstance(payload, dict):
            continue
        message = payload.get("message") if kind == "callback_query" else payload
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return ("chat", message["chat"]["id"])
        if isinstance(payload.get("from"), dict):
            return ("user", payload["from"]["id"])
    return None


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _error_response(exc: _ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.code)


async def _drop_connection(request: web.Request) -> web.StreamResponse:
    """Start a 200 response, send half of it, and close the socket: the client sees a cut-off body."""
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.content_length = 64
    await response.prepare(request)
    await response.write(b'{"ok": true, "res')
    if request.transport is not None:
        request.transport.close()
    return response


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Stand-in Telegram Bot API server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--username", default=BOT_USERNAME)
    args = parser.parse_args(list(argv) if argv is not None else None)
    api = FakeBotApi(token=args.token, username=args.username, port=args.port).start()
    print(f"fake Bot API on {api.base_url} (files {api.file_base_url}); Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        api.stop()


if __name__ == "__main__":
    main()
