"""Installed as a package: ``pip install .`` into a fresh virtual environment outside the clone gives
a ``qabot`` that works from any folder, with its defaults and the bundled articles inside the package,
and that writes its index and state to the per-user folders, never into site-packages.

The project is installed from a copy of its tracked files (what a clone holds), so a file missing from
the package data fails here as it would for a user. pip may reuse its wheel cache and the machine's
package index for the dependencies; the install itself is the one a user runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

pytestmark = [pytest.mark.timeout(900)]

HEBEI = "河北取缔了多少家非法社会组织？"


def tracked_copy(destination: Path) -> Path:
    """The clone's tracked (and new, not ignored) files, copied to ``destination``."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = PROJECT_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.skipif(shutil.which("git") is None or not (PROJECT_ROOT / ".git").exists(), reason="needs the clone's git")
def test_pip_install_into_a_fresh_venv_answers_from_any_folder_and_writes_nothing_into_site_packages(tmp_path: Path) -> None:
    source = tracked_copy(tmp_path / "source")
    venv = tmp_path / "venv"
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # As the Makefile does: a current pip also shows the build backend's warnings.
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True, timeout=300)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", str(source)],
        capture_output=True, text=True, timeout=800,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    # setuptools deprecations (a license table, say) are printed as warnings during the build.
    assert "deprecat" not in (installed.stdout + installed.stderr).lower(), installed.stdout + installed.stderr
    install_seconds = time.monotonic() - started

    qabot = venv / "bin" / "qabot"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QABOT_", "XDG_", "TELEGRAM_"))}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}:/usr/bin:/bin")
    site_packages = next((venv / "lib").glob("python3*/site-packages"))
    before = snapshot(site_packages)

    asked = subprocess.run([str(qabot), "ask", HEBEI], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert asked.returncode == 0, asked.stderr[-3000:]
    assert "【248家】" in asked.stdout and "河北省民政厅" in asked.stdout, asked.stdout

    indexed = subprocess.run([str(qabot), "index", "--force"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert indexed.returncode == 0, indexed.stderr[-3000:]
    after = snapshot(site_packages)
    written = sorted(name for name in after if before.get(name) != after[name])
    assert not written, f"written inside site-packages: {written[:20]}"
    assert str(home / ".cache" / "qabot" / "index") in indexed.stdout, indexed.stdout
    assert (home / ".local" / "share" / "qabot" / "articles").is_dir()  # the bundled articles, copied to add to
    assert not list(elsewhere.iterdir()), "nothing is written into the folder qabot was run from"
    print(f"\ninstall: pip install . into a fresh venv {install_seconds:.0f} s; then ask and index from another folder")
