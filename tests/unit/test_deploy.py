"""deploy/qabot.service is a unit systemd accepts (``systemd-analyze verify``, where the tool is
installed), and it keeps what the README promises: a dedicated user, a restart on failure (but not on
a refused token), the token from an environment file, and only the state and cache folders writable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

UNIT = PROJECT_ROOT / "deploy" / "qabot.service"
INSTALLED = "/opt/qabot/bin/qabot"  # where the README installs qabot


def settings_of(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_unit_keeps_the_promises_of_the_readme() -> None:
    unit = settings_of(UNIT.read_text(encoding="utf-8"))
    assert unit["User"] == ["qabot"] and unit["Restart"] == ["on-failure"] and unit["RestartPreventExitStatus"] == ["2"]
    assert unit["EnvironmentFile"] == ["/etc/qabot/qabot.env"]
    assert unit["ExecStart"] == [f"{INSTALLED} run $QABOT_RUN_ARGS"]
    assert unit["ProtectSystem"] == ["strict"] and unit["ProtectHome"] == ["yes"]
    assert unit["StateDirectory"] == ["qabot"] and unit["CacheDirectory"] == ["qabot"]
    assert "XDG_STATE_HOME=%S" in unit["Environment"][0] and "XDG_CACHE_HOME=%C" in unit["Environment"][0]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    unit = UNIT
    if not Path(INSTALLED).exists():
        # verify also checks that ExecStart's program exists: without a deployment here, point it at
        # this checkout's qabot and change nothing else.
        qabot = Path(sys.executable).with_name("qabot")
        unit = tmp_path / "qabot.service"
        unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, str(qabot)), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not done.stderr.strip(), done.stderr  # not even a warning
