"""Webhook mode end to end: the real ``qabot run`` with a webhook, the stand-in Bot API server posting
updates to it as Telegram does (the registered secret in a header, redelivery until a 2xx).

- A request without the right secret gets 403 and is never handled.
- An update is acknowledged only once handled: after a SIGKILL every question is still answered,
  and the shared journal keeps a redelivered update (its acknowledgement lost on the way, or the
  crash between the two) from being answered twice.
- Two processes behind one (stand-in) reverse proxy serve one token, each answering what it gets.
- /healthz and /metrics.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot_process import fetch, free_port
from fake_bot_api import BOT_ID, FakeBotApi, make_user, private_chat
from traffic import assert_answered_once_in_order, burst, chats, one_reply, wait_until_answered

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

HEBEI = "河北取缔了多少家非法社会组织？"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_settings(listen_port: int, public_port: int | None = None) -> dict[str, Any]:
    """A bot in webhook mode listening on ``listen_port``; Telegram is told the public URL (a reverse
    proxy's, when ``public_port`` differs)."""
    return {"telegram": {
        "webhook_url": f"http://127.0.0.1:{public_port or listen_port}/hook",
        "listen": f"127.0.0.1:{listen_port}",
    }}


def handled_ids(state_dir: Path) -> set[int]:
    """The update ids the shared journal holds."""
    path = state_dir / f"handled-{BOT_ID}.sqlite"
    if not path.exists():
        return set()
    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT update_id FROM handled")}


def metric(text: str, name: str) -> float:
    """The value of one sample in Prometheus' text format (labels included in ``name``)."""
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def test_webhook_checks_the_secret_answers_and_serves_health_and_metrics(fake_api: FakeBotApi, start_bot) -> None:
    port = free_port()
    start_bot(fake_api, webhook_settings(port))
    hook = fake_api.webhook
    assert hook["url"] == f"http://127.0.0.1:{port}/hook" and hook["secret_token"]
    assert fake_api.token not in hook["secret_token"] and fake_api.token.split(":")[1] not in hook["secret_token"]
    assert "<b>248家</b>" in one_reply(fake_api, fake_api.private_text(7001, HEBEI))["text"]

    # Forged updates, straight to the bot: without the secret, or with a wrong one, refused and never answered.
    user = make_user(7002)
    forged = {"update_id": 10**6, "message": {"message_id": 10**6, "date": 0, "chat": private_chat(user), "from": user, "text": HEBEI}}
    body = json.dumps(forged).encode()
    for headers in ({"Content-Type": "application/json"}, {"Content-Type": "application/json", SECRET_HEADER: "wrong"}):
        status, _ = fetch(f"http://127.0.0.1:{port}/hook", body, headers)
        assert status == 403
    one_reply(fake_api, fake_api.private_text(7003, HEBEI))  # handled after the forged ones would have been
    assert fake_api.sent_messages(7002) == []
    # With the right secret a request is handled: the secret is what stands between the two.
    status, _ = fetch(f"http://127.0.0.1:{port}/hook", body, {"Content-Type": "application/json", SECRET_HEADER: hook["secret_token"]})
    assert status == 200 and len(fake_api.sent_messages(7002)) == 1

    status, health = fetch(f"http://127.0.0.1:{port}/healthz")
    health = json.loads(health)
    assert status == 200 and health["corpus_loaded"] and health["serving"] and health["mode"] == "webhook"
    assert health["articles"] == 4 and health["paragraphs"] > 0
    status, text = fetch(f"http://127.0.0.1:{port}/metrics")
    text = text.decode()
    assert status == 200
    assert metric(text, "qabot_questions_total") == 3 and metric(text, "qabot_answered_total") == 3
    assert metric(text, 'qabot_sends_total{method="sendMessage"}') >= 3
    assert metric(text, "qabot_answer_seconds_count") == 3 and metric(text, "qabot_reply_seconds_count") == 3
    assert metric(text, "qabot_rate_limited_total") == 0
    assert metric(text, 'qabot_errors_total{kind="update"}') == 0
    assert metric(text, 'qabot_updates_total{via="webhook"}') == 3


def test_a_sigkill_mid_burst_and_lost_acknowledgements_answer_every_question_and_none_twice(
        fake_api: FakeBotApi, start_bot, tmp_path: Path) -> None:
    port = free_port()
    fake_api.faults.reseed(12)
    fake_api.faults.lost_ack_fraction = 0.2  # a fifth of the 200s are "lost": Telegram delivers those again
    bot = start_bot(fake_api, webhook_settings(port))
    asked = burst(fake_api, chats(private=30, groups=0, first=86000), per_chat=4, seed=12)
    fake_api.wait_for(lambda: sum(1 for m in asked if fake_api.replies_to(m)) >= len(asked) // 3, 120)
    bot.kill()
    fake_api.wait_until_quiet()
    journaled = handled_ids(tmp_path / "bot-state")
    before = {m["message_id"]: len(fake_api.replies_to(m)) for m in asked}
    answered_unjournaled = [m for m in asked if before[m["message_id"]] and fake_api.update_id_of(m) not in journaled]
    pending_at_kill = [m for m in asked if not before[m["message_id"]]]
    assert pending_at_kill, "the kill should fall in the middle of the burst"

    start_bot(fake_api, webhook_settings(port))
    wait_until_answered(fake_api, asked, timeout=180)
    fake_api.wait_for(lambda: fake_api.pending_updates() == 0, 60)
    after = {m["message_id"]: len(fake_api.replies_to(m)) for m in asked}
    twice = sorted(m["message_id"] for m in asked if after[m["message_id"]] > 1)
    # Redelivered after being handled (the 200 lost, or the kill between the answer and the 200): not answered again.
    redelivered_handled = {d.update_id for d in fake_api.deliveries if d.outcome == "lost_ack"}
    assert redelivered_handled, "some acknowledgements should have been lost"
    # Only a reply sent in the instant before the kill, before its update was journaled, can come twice.
    assert twice == sorted(m["message_id"] for m in answered_unjournaled)
    assert all(count in (1, 2) for count in after.values())
    print(
        f"\nwebhook restart: {len(asked)} questions; at SIGKILL {sum(1 for v in before.values() if v)} answered, "
        f"{len(pending_at_kill)} not yet; {len(redelivered_handled)} updates redelivered after their 200 was lost; "
        f"after the restart every question answered, {len(twice)} twice"
    )


def test_two_processes_serve_one_token_each_answering_what_it_receives(fake_api: FakeBotApi, start_bot, tmp_path: Path) -> None:
    public, first, second = free_port(), free_port(), free_port()
    fake_api.webhook_backends = [f"http://127.0.0.1:{port}/hook" for port in (first, second)]
    bots = [start_bot(fake_api, webhook_settings(port, public)) for port in (first, second)]
    asked = burst(fake_api, chats(private=16, groups=4, first=87000), per_chat=3, seed=7)
    wait_until_answered(fake_api, asked, timeout=120)
    assert_answered_once_in_order(fake_api, asked)
    served = {port: sum(1 for d in fake_api.deliveries if d.outcome == "ok" and f":{port}/" in d.url) for port in (first, second)}
    assert all(count > 0 for count in served.values()), served
    for bot in bots:
        assert bot.stop() == 0
    # Both wrote the one question log of the shared state folder.
    with sqlite3.connect(tmp_path / "bot-state" / "questions.sqlite") as connection:
        assert connection.execute("SELECT COUNT(*) FROM questions").fetchone()[0] == len(asked)
    print(f"\ntwo processes: {len(asked)} questions answered once each, in order; deliveries per process {sorted(served.values())}")


def test_a_polling_bot_serves_health_and_metrics_on_its_optional_port(fake_api: FakeBotApi, start_bot) -> None:
    port = free_port()
    bot = start_bot(fake_api, {"telegram": {"metrics_listen": f"127.0.0.1:{port}"}})
    one_reply(fake_api, fake_api.private_text(7101, HEBEI))
    one_reply(fake_api, fake_api.private_text(7101, "明天北京天气怎么样？"))
    status, health = fetch(f"http://127.0.0.1:{port}/healthz")
    assert status == 200 and json.loads(health) == {
        "corpus_loaded": True, "articles": 4, "paragraphs": json.loads(health)["paragraphs"], "serving": True, "mode": "polling"}
    status, text = fetch(f"http://127.0.0.1:{port}/metrics")
    text = text.decode()
    assert metric(text, "qabot_questions_total") == 2 and metric(text, "qabot_answered_total") == 1
    assert metric(text, 'qabot_updates_total{via="polling"}') == 2
    assert bot.stop() == 0
