"""Security: the allow-list of chats, admin checks on every call, upload limits and names, no user text
near a shell or ``eval``, and (last of the whole run) the token absent from everything any bot printed.
"""

from __future__ import annotations

import ast
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.settings import PROJECT_ROOT, load_settings
from bot.telegram.uploads import UPLOAD_SUFFIXES, safe_upload_name
from bot.texts import phrase

from bot_process import SessionRecord, copy_bundled_corpus, serving_settings
from fake_bot_api import DEFAULT_TOKEN, FakeBotApi, make_user, private_chat
from traffic import one_reply as only_reply

pytestmark = pytest.mark.timeout(300)

ADMIN = 4242
ALLOWED_GROUP = -1001000
ALLOWED_USER = 2001
OTHER_GROUP = -1002000
OTHER_USER = 3001
QUESTION = "河北取缔了多少家非法社会组织？"
WAIT = 20.0


def served(message: dict[str, Any]) -> bool:
    """Whether the bot's message is a real reply (an answer or a polite no-answer), not a turn-away."""
    return message["text"] not in (phrase("zh", "private_bot"), phrase("en", "private_bot"))


def settle(api: FakeBotApi, chat_id: int = ALLOWED_USER) -> None:
    """Updates are handled in order per chat and the poller confirms only finished ones; once a probe
    sent now is answered and confirmed, everything sent before it has been handled."""
    probe = api.private_text(chat_id, QUESTION)
    only_reply(api, probe)


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    return copy_bundled_corpus(tmp_path)


def base_settings(corpus_dir: Path, **telegram: Any) -> dict[str, Any]:
    return serving_settings(corpus_dir, admins=[ADMIN], **telegram)


# --- the allow-list ----------------------------------------------------------------------------------


def test_allow_list_serves_listed_chats_and_turns_others_away(fake_api: FakeBotApi, start_bot, corpus_copy: Path) -> None:
    start_bot(fake_api, base_settings(corpus_copy, allowed_chats=[ALLOWED_GROUP, ALLOWED_USER]))
    api = fake_api

    assert served(only_reply(api, api.private_text(ALLOWED_USER, QUESTION)))
    assert served(only_reply(api, api.group_mention(ALLOWED_GROUP, QUESTION)))
    assert served(only_reply(api, api.private_text(ADMIN, QUESTION)))  # admins always

    # A group that is not listed is told once that the bot is private, and left.
    stranger_group = api.group_mention(OTHER_GROUP, QUESTION)
    api.wait_for(lambda: api.left_chats, WAIT)
    assert api.left_chats == [OTHER_GROUP]
    told = api.sent_messages(OTHER_GROUP)
    assert len(told) == 1 and not served(told[0])
    assert not api.replies_to(stranger_group)

    # A private chat that is not listed is told the same, and gets no answer (there is nothing to leave).
    english_speaker = make_user(OTHER_USER, language_code="en")
    api.private_text(OTHER_USER, QUESTION, user=english_speaker)
    api.private_text(OTHER_USER, "/reload", user=english_speaker)
    api.wait_for(lambda: len(api.sent_messages(OTHER_USER)) >= 2, WAIT)
    settle(api)
    texts = [m["text"] for m in api.sent_messages(OTHER_USER)]
    assert len(texts) == 2 and all(t == phrase("en", "private_bot") for t in texts), texts
    assert api.left_chats == [OTHER_GROUP]

    # Inline queries carry no chat: a user outside the list gets an empty answer, one inside real ones.
    api.inline_query(OTHER_USER, QUESTION)
    api.inline_query(ALLOWED_USER, QUESTION)
    inline = api.wait_for(lambda: len(c := api.calls_of("answerInlineQuery", ok_only=True)) >= 2 and c, WAIT)
    by_user = {c.params["inline_query_id"]: c.params["results"] for c in inline}
    assert sorted(len(results) > 0 for results in by_user.values()) == [False, True]


def test_without_an_allow_list_every_chat_is_served(fake_api: FakeBotApi, start_bot, corpus_copy: Path) -> None:
    start_bot(fake_api, base_settings(corpus_copy))
    assert served(only_reply(fake_api, fake_api.group_mention(OTHER_GROUP, QUESTION)))
    assert served(only_reply(fake_api, fake_api.private_text(OTHER_USER, QUESTION)))
    assert fake_api.left_chats == []


# --- admins and uploads ------------------------------------------------------------------------------


def upload(api: FakeBotApi, user_id: int, name: str, content: bytes, **fields: Any) -> dict[str, Any]:
    user = make_user(user_id)
    return api.document(private_chat(user), user, name, content, **fields)


def article_file(article_id: str, sentence: str) -> bytes:
    return yaml.safe_dump({"id": article_id, "title": f"标题{article_id}", "paragraphs": [sentence]}, allow_unicode=True).encode()


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_admin_rights_are_checked_on_every_call_and_uploads_stay_in_the_corpus(fake_api: FakeBotApi, start_bot, corpus_copy: Path) -> None:
    """Default upload cap (5 MB), checked on the bytes received; only the corpus types; hostile names
    cannot leave the corpus directory; each call is judged on its own sender, never a forwarded one."""
    assert load_settings().telegram.upload_max_bytes == 5 * 1024 * 1024  # the documented default
    start_bot(fake_api, base_settings(corpus_copy))
    api = fake_api
    home = corpus_copy.parent
    outside_before = tree(home) - {p for p in tree(home) if p.startswith(("articles", "cache", "bot-state"))}
    admin_only = phrase("zh", "admin_only")

    # Rights are decided per call: the same command alternates between refused and done.
    for sender, allowed in ((OTHER_USER, False), (ADMIN, True), (OTHER_USER, False), (ADMIN, True)):
        text = only_reply(api, api.private_text(sender, "/reload"))["text"]
        assert (text == admin_only) is not allowed, text
    # In a group, /reload from someone else is refused too.
    assert only_reply(api, api.group_text(OTHER_GROUP, "/reload", user_id=OTHER_USER))["text"] == admin_only
    # A forwarded message carries someone else's words: never the admin's authority, not even the admin's own.
    admin = make_user(ADMIN)
    for forwarder in (make_user(OTHER_USER), admin):
        forwarded = api.forwarded(private_chat(forwarder), forwarder, admin, "/reload")
        assert only_reply(api, forwarded)["text"] == admin_only
    forwarded_file = upload(api, ADMIN, "fwd.yaml", article_file("fwd", "转发的文件不应被接受。"),
                            forward_origin={"type": "user", "date": 0, "sender_user": admin})
    assert only_reply(api, forwarded_file)["text"] == admin_only
    assert only_reply(api, upload(api, OTHER_USER, "x.yaml", article_file("x", "陌生人的文件。")))["text"] == admin_only

    # Size: 5 MB + 1 byte is refused, whether the size is announced or only found on download.
    oversize = b"a" * (5 * 1024 * 1024 + 1)
    assert "太大" in only_reply(api, upload(api, ADMIN, "big.txt", oversize))["text"]
    assert "太大" in only_reply(api, upload(api, ADMIN, "sly.txt", oversize, reported_size=100))["text"]
    # Types: only .txt .yaml .yml .jsonl, whatever the name pretends.
    for name in ("evil.exe", "script.py", "notes.txt.sh", "archive.zip", "noext"):
        assert "只接受" in only_reply(api, upload(api, ADMIN, name, b"x"))["text"], name
    # Names: path parts are dropped, so nothing can be written outside the corpus directory.
    hostile = {
        "../../outside.yaml": "outside.yaml",
        "/etc/cron.d/abs.yaml": "abs.yaml",
        "..\\..\\win.txt": "win.txt",
        "<i>x&y<i>.yml": "i_x_y_i.yml",
    }
    for n, (name, stored) in enumerate(hostile.items()):
        text = only_reply(api, upload(api, ADMIN, name, article_file(f"up{n}", f"第{n}个上传的句子。")))["text"]
        assert "<i>" not in text and "&y" not in text
        assert (corpus_copy / stored).is_file(), (name, text)
    outside_after = tree(home) - {p for p in tree(home) if p.startswith(("articles", "cache", "bot-state"))}
    assert outside_after == outside_before
    assert not Path("/etc/cron.d/abs.yaml").exists()
    assert {p.name for p in corpus_copy.iterdir()} >= set(hostile.values())
    assert not {"big.txt", "sly.txt", "fwd.yaml", "x.yaml", "evil.exe"} & {p.name for p in corpus_copy.iterdir()}


@settings(max_examples=2_000, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(st.lists(st.one_of(st.sampled_from(["..", ".", "/", "\\", "~", "C:", "\x00", "%2e%2e", "．．", "／", "﹒"]),
                          st.text(max_size=6)), max_size=10).map("".join),
       st.sampled_from(["", *UPLOAD_SUFFIXES, ".TXT", ".Yaml", ".exe", ".txt.sh"]))
def test_upload_names_never_leave_the_corpus_directory(name: str, suffix: str) -> None:
    """2,000 examples: whatever the name, the result is a plain name with an accepted type, or None."""
    safe = safe_upload_name(name + suffix)
    if safe is None:
        return
    root = Path("/srv/corpus")
    assert "/" not in safe and "\\" not in safe and "\x00" not in safe and not safe.startswith(".")
    assert Path(safe).suffix in UPLOAD_SUFFIXES
    assert Path(safe).name == safe and (root / safe).parent == root
    assert ".." not in Path(safe).parts


# --- user text never reaches a shell or eval ---------------------------------------------------------

_FORBIDDEN_CALLS = {
    "eval", "exec", "compile", "__import__",
    "os.system", "os.popen", "os.execv", "os.execvp", "os.spawnl", "os.spawnv", "os.startfile",
    "pickle.load", "pickle.loads", "marshal.loads", "yaml.load", "yaml.full_load", "yaml.unsafe_load",
    "subprocess.getoutput", "subprocess.getstatusoutput",
}
# The modules that start a process, both CLI development commands no user text reaches, neither using a
# shell: the benchmark runs a fixed snippet in a fresh interpreter to measure load time, and the fitting
# tool asks git for the code's commit (fixed arguments) to record in the model file.
_MAY_START_PROCESSES = {"retrieval/measure/bench.py", "retrieval/measure/fit.py"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def test_no_code_path_hands_text_to_a_shell_or_an_evaluator() -> None:
    offences = []
    for path in sorted(p for package in ("bot", "corpus", "retrieval") for p in (PROJECT_ROOT / package).rglob("*.py")):
        relative = str(path.relative_to(PROJECT_ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), relative)):
            if isinstance(node, ast.Call):
                name = _dotted(node.func)
                if name in _FORBIDDEN_CALLS:
                    offences.append(f"{relative}:{node.lineno} calls {name}")
                if any(k.arg == "shell" and not (isinstance(k.value, ast.Constant) and k.value.value is False) for k in node.keywords):
                    offences.append(f"{relative}:{node.lineno} passes shell=")
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if isinstance(node, ast.ImportFrom) else []
            for module in modules:
                if module and module.split(".")[0] in ("subprocess", "pty", "pickle", "marshal", "shelve") and relative not in _MAY_START_PROCESSES:
                    offences.append(f"{relative}:{node.lineno} imports {module}")
    assert not offences, "\n".join(offences)


def test_shell_and_template_syntax_in_questions_is_only_text(fake_api: FakeBotApi, start_bot, corpus_copy: Path, tmp_path: Path) -> None:
    start_bot(fake_api, base_settings(corpus_copy))
    marker = tmp_path / "pwned"
    hostile = [
        f"$(touch {marker}) 河北取缔了多少家？",
        f"`touch {marker}`; rm -rf / 河北",
        f"__import__('os').system('touch {marker}')",
        "{{7*7}} ${7*7} <%= 7*7 %> #{7*7}",
        "<b>粗</b><a href='javascript:alert(1)'>x</a>&amp; 河北取缔了多少家非法社会组织？",
    ]
    for n, text in enumerate(hostile):
        reply = only_reply(fake_api, fake_api.private_text(OTHER_USER + n, text))["text"]
        assert "49" not in reply and "<a " not in reply and "javascript:" not in reply
        assert set(re.findall(r"</?([a-z]+)", reply)) <= {"b", "i", "blockquote", "pre"}, reply
    assert not marker.exists()


# --- the token ---------------------------------------------------------------------------------------


def test_a_rejected_token_is_reported_without_printing_it(fake_api: FakeBotApi, start_bot, corpus_copy: Path) -> None:
    wrong = "987654321:AAWrongTokenThatMustNotBePrinted_xyz"
    bot = start_bot(fake_api, base_settings(corpus_copy), token=wrong, wait=False)
    status = bot.process.wait(60)
    output = bot.output()
    assert status == 2 and "refused TELEGRAM_BOT_TOKEN" in output
    assert wrong not in output and wrong.split(":")[1] not in output


def test_network_failures_are_logged_without_the_token(fake_api: FakeBotApi, start_bot, corpus_copy: Path) -> None:
    """The Bot API going away mid-run: every error line the bot prints is checked for the token."""
    bot = start_bot(fake_api, {**base_settings(corpus_copy), "telegram": {"admins": [ADMIN], "poll_timeout": 1}})
    only_reply(fake_api, fake_api.private_text(OTHER_USER, QUESTION))
    fake_api.stop()  # connection refused from now on
    bot.wait_for_output("getUpdates", timeout=60)
    time.sleep(2)
    started = time.monotonic()
    assert bot.stop(signal.SIGINT, timeout=10) == 0
    assert time.monotonic() - started < 5
    output = bot.output()
    assert "failed" in output and DEFAULT_TOKEN not in output and DEFAULT_TOKEN.split(":")[1] not in output


@pytest.mark.after_bot_runs
def test_the_token_never_appears_in_anything_any_bot_printed_or_sent(session_record: SessionRecord) -> None:
    """Runs last: scans every line printed by every bot process of this test run (end-to-end, fault,
    load, restart and security tests alike) and every request they made to the stand-in servers."""
    secrets = (DEFAULT_TOKEN, DEFAULT_TOKEN.split(":")[1])
    logs = session_record.log_files()
    assert logs, "no bot ran in this session"
    lines = 0
    for log in logs:
        for number, line in enumerate(log.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            lines += 1
            assert not any(s in line for s in secrets), f"{log.name}:{number}: {line[:200]}"
    calls = 0
    for api in session_record.servers:
        for call in list(api.calls):
            calls += 1
            text = repr(call.params) + repr(call.result)
            assert not any(s in text for s in secrets), f"{call.method} carried the token"
    print(f"\ntoken scan: {lines} lines from {len(logs)} bot runs and {calls} API calls, no token")
