"""Fixtures shared by every test: the project's paths, a tokenizer, an answerer over the bundled
articles, settings files, the `qabot` command in a fresh process, and the check that a message is
safe Telegram HTML.

Layout: ``unit/<package>/`` tests one package at a time, ``system/`` runs the real bot process (or
the poller) against the stand-in Bot API server (``system/fake_bot_api.py``; its fixtures are in
``system/conftest.py``). ``data/`` holds labelled cases and data sets, and is never collected.

Tests marked ``after_bot_runs`` run after every other test, wherever they sit: they scan what every
bot process of the run printed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from bot.settings import PROJECT_ROOT, load_settings
from corpus.loader import load_corpus
from retrieval.answer import Answerer
from retrieval.tokenize import Tokenizer

# Environment variables that would configure `qabot` from the developer's own setup instead of the test's.
_USER_SETTINGS_ENV = ("QABOT_SETTINGS",)
# The tags the bot writes itself; nothing else may reach Telegram.
SAFE_TAGS = frozenset({"b", "i", "blockquote", "pre"})
MESSAGE_LIMIT = 4096  # Telegram's, in UTF-16 code units


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("after_bot_runs") is not None)


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository root (what relative paths in settings.yaml are resolved against)."""
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def test_data() -> Path:
    """``tests/data``: labelled cases, question files and data sets (each with its attribution)."""
    return PROJECT_ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def cmrc_trial(test_data: Path) -> Path:
    """The CMRC 2018 trial split (CC BY-SA 4.0, https://github.com/ymcui/cmrc2018): the copy in
    tests/data, else the shared data folder's."""
    for path in (test_data / "cmrc2018" / "cmrc2018_trial.json", PROJECT_ROOT.parent / "shared" / "data" / "cmrc2018" / "cmrc2018_trial.json"):
        if path.is_file():
            return path
    raise FileNotFoundError("CMRC 2018 trial file not found in tests/data/cmrc2018 or ../shared/data/cmrc2018")


@pytest.fixture(scope="session")
def tokenizer() -> Tokenizer:
    return Tokenizer()


@pytest.fixture(scope="session")
def answerer() -> Answerer:
    """One Answerer over the bundled articles with the default settings, built in memory once."""
    settings = load_settings()
    return Answerer(load_corpus(settings.corpus.path), settings.answer)


SettingsFile = Callable[..., Path]


@pytest.fixture(scope="session")
def settings_file(tmp_path_factory: pytest.TempPathFactory) -> SettingsFile:
    """A factory: ``settings_file({"telegram": {"admins": [1]}})`` writes a settings file (merged over
    settings.yaml by `qabot --settings`) in a fresh folder and returns its path. Unless the sections
    say otherwise, the index cache lives in that folder, never in the developer's ``.cache``."""

    def write(sections: dict[str, Any] | None = None, **index: Any) -> Path:
        folder = tmp_path_factory.mktemp("settings")
        sections = {name: dict(values) for name, values in (sections or {}).items()}
        sections["index"] = {"cache_dir": str(folder / "cache"), **index, **sections.get("index", {})}
        path = folder / "settings.yaml"
        path.write_text(yaml.safe_dump(sections, allow_unicode=True), encoding="utf-8")
        return path

    return write


def _qabot_command() -> list[str]:
    """The installed console script when there is one (what a user runs), else ``python -m bot``."""
    script = Path(sys.executable).with_name("qabot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


RunQabot = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def run_qabot() -> RunQabot:
    """Run ``qabot ARGS`` in a fresh process, from the project root unless ``cwd`` says otherwise,
    without the developer's QABOT_SETTINGS: ``run_qabot("-q", "ask", "问题", stdin=None, timeout=300)``."""

    def run(*args: str | os.PathLike, stdin: str | None = None, timeout: float = 300,
            cwd: Path = PROJECT_ROOT) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in _USER_SETTINGS_ENV}
        return subprocess.run(
            [*_qabot_command(), *map(str, args)],
            input=stdin, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
        )

    return run


def _assert_safe_html(text: str) -> None:
    """Only the bot's own tags, properly nested, no other markup, and within Telegram's length limit."""
    stack = []
    for closing, name in re.findall(r"<(/?)([A-Za-z]+)[^>]*>", text):
        assert name in SAFE_TAGS, text[:200]
        if closing:
            assert stack and stack.pop() == name, text[:200]
        else:
            stack.append(name)
    assert not stack, text[:200]
    assert "<" not in re.sub(r"</?(?:b|i|pre|blockquote(?: expandable)?)>", "", text), text[:200]
    assert len(text.encode("utf-16-le")) // 2 <= MESSAGE_LIMIT


@pytest.fixture(scope="session")
def assert_safe_html() -> Callable[[str], None]:
    """The check every message the bot renders must pass: ``assert_safe_html(text)``."""
    return _assert_safe_html
