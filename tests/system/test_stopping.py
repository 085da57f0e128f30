"""Starting and stopping the real ``qabot run`` as an operator or a service manager does.

- An unreachable Bot API is retried with growing waits, one log line per attempt naming the server
  (never the token), until the bot is stopped.
- SIGINT and SIGTERM stop it within 2 s in every state: connecting, polling, waiting for webhook
  requests, and waiting out a 429 with an answer under way (which is then left for Telegram to
  deliver again).
- A token the server refuses (401, or 404 from a wrong path) is one error line and exit status 2.
No traceback reaches the operator in any of these.
"""

from __future__ import annotations

import re
import signal
import time

import pytest

from bot_process import BotProcess, free_port
from fake_bot_api import FakeBotApi

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

STOP_LIMIT = 2.0  # seconds from the signal to the process' end
HEBEI = "河北取缔了多少家非法社会组织？"
SIGNALS = [pytest.param(signal.SIGINT, id="SIGINT"), pytest.param(signal.SIGTERM, id="SIGTERM")]


def stopped_in(bot: BotProcess, sig: int) -> float:
    """Send ``sig``; the seconds until the process ended (it must end cleanly, with status 0)."""
    started = time.monotonic()
    status = bot.stop(sig, timeout=10)
    elapsed = time.monotonic() - started
    output = bot.output()
    assert status == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert bot.api.token not in output and bot.api.token.split(":")[1] not in output
    return elapsed


@pytest.mark.parametrize("sig", SIGNALS)
def test_an_unreachable_api_is_retried_with_backoff_until_a_signal_stops_it_within_2_s(sig: int, start_bot) -> None:
    nowhere = FakeBotApi(port=free_port())  # never started: nothing listens on its port
    bot = start_bot(nowhere, wait=False)
    output = bot.wait_for_output("(attempt 3)", timeout=60)
    attempts = [line for line in output.splitlines() if "connecting to the Bot API" in line]
    assert len(attempts) == 3 and all(nowhere.base_url in line for line in attempts), attempts
    waits = [float(w) for w in re.findall(r"next attempt in (\d+) s", output)]
    assert waits[:3] == [1, 2, 4], waits  # exponential, from one second (bounded at a minute)
    elapsed = stopped_in(bot, sig)
    assert elapsed < STOP_LIMIT, f"stopped {elapsed:.2f} s after the signal"
    print(f"\nstop while connecting ({signal.Signals(sig).name}): {elapsed:.2f} s")


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_stops_the_polling_bot_within_2_s(sig: int, fake_api: FakeBotApi, start_bot) -> None:
    bot = start_bot(fake_api)
    question = fake_api.private_text(9101, HEBEI)
    fake_api.wait_for(lambda: fake_api.replies_to(question), 20)
    time.sleep(0.3)  # into the next long poll
    elapsed = stopped_in(bot, sig)
    assert elapsed < STOP_LIMIT, f"stopped {elapsed:.2f} s after the signal"
    print(f"\nstop while polling ({signal.Signals(sig).name}): {elapsed:.2f} s")


@pytest.mark.parametrize("sig", SIGNALS)
def test_a_signal_stops_the_bot_within_2_s_while_it_waits_out_a_429(sig: int, fake_api: FakeBotApi, start_bot) -> None:
    bot = start_bot(fake_api)
    fake_api.faults.rate_limit_fraction = 1.0
    fake_api.faults.retry_after = 30
    question = fake_api.private_text(9102, HEBEI)
    fake_api.wait_for(lambda: any(c.outcome == "rate_limited" for c in fake_api.calls_of("sendMessage")), 20)
    elapsed = stopped_in(bot, sig)
    assert elapsed < STOP_LIMIT, f"stopped {elapsed:.2f} s after the signal"
    assert not fake_api.replies_to(question)
    # Unanswered, so unconfirmed: Telegram delivers it again to the next start.
    assert fake_api.update_id_of(question) >= fake_api.confirmed_up_to
    assert "unanswered; Telegram will deliver them again" in bot.output()
    print(f"\nstop while waiting out a 429 ({signal.Signals(sig).name}): {elapsed:.2f} s")


def test_a_signal_stops_the_webhook_bot_within_2_s(fake_api: FakeBotApi, start_bot) -> None:
    port = free_port()
    bot = start_bot(fake_api, {"telegram": {"webhook_url": f"http://127.0.0.1:{port}/hook", "listen": f"127.0.0.1:{port}"}})
    question = fake_api.private_text(9103, HEBEI)
    fake_api.wait_for(lambda: fake_api.replies_to(question), 20)
    elapsed = stopped_in(bot, signal.SIGTERM)
    assert elapsed < STOP_LIMIT, f"stopped {elapsed:.2f} s after the signal"
    print(f"\nstop in webhook mode (SIGTERM): {elapsed:.2f} s")


@pytest.mark.parametrize(
    "token, path, refused",
    [
        pytest.param("987654321:AARefusedTokenThatMustNotBePrinted_q", "/bot", "(Unauthorized)", id="401 unknown token"),
        pytest.param("123:abc", "/bot", "(Not Found)", id="404 malformed token"),
        pytest.param(None, "/nothing-here/bot", "answered 404 Not Found", id="404 not a Bot API"),
    ],
)
def test_a_refused_token_is_one_error_line_and_exit_status_2(token: str | None, path: str, refused: str,
                                                              fake_api: FakeBotApi, start_bot) -> None:
    bot = start_bot(fake_api, token=token, wait=False, base_url=f"http://127.0.0.1:{fake_api.port}{path}")
    status = bot.process.wait(60)
    output = bot.output()
    errors = [line for line in output.splitlines() if "error" in line.lower()]
    assert status == 2, output
    assert len(errors) == 1 and errors[0].startswith("qabot: error: ") and refused in errors[0], output
    assert "Traceback" not in output
    secret = token or fake_api.token
    assert secret not in output and secret.split(":")[1] not in output
