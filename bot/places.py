"""Where qabot keeps its files: its defaults inside the package, and the folders it writes to.

Two ways of running, told apart by the folder above the ``bot`` package:

* **From a clone** (a source checkout, editable installs included): that folder holds the project's
  ``pyproject.toml``. It is the *project folder*: relative paths in the settings resolve against it,
  and the defaults are the clone's own ``corpus/articles``, ``.cache/index`` and ``.cache/telegram``,
  as ``make run`` and ``make test`` have always used them.
* **Installed** (``pip install .``, ``pipx install .``): the package sits in site-packages, which is
  no place to write. Relative paths in a settings file resolve against the current folder, and what
  the settings leave unset goes to the platform's per-user folders (platformdirs): the articles to
  the user data folder (``~/.local/share/qabot/articles`` on Linux, first filled with a copy of the
  bundled articles so that they are served and added to like any others), the index cache to the
  user cache folder (``~/.cache/qabot/index``), the bot's state and question log to the user state
  folder (``~/.local/state/qabot/telegram``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # the folder holding bot/, corpus/, retrieval/
DEFAULT_SETTINGS_FILE = Path(__file__).resolve().parent / "data" / "settings.yaml"
BUNDLED_ARTICLES = PACKAGE_ROOT / "corpus" / "articles"
APP_NAME = "qabot"


@lru_cache(maxsize=1)
def project_folder() -> Path | None:
    """The clone qabot runs from, or None when it runs installed as a package."""
    pyproject = PACKAGE_ROOT / "pyproject.toml"
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return PACKAGE_ROOT if f'name = "{APP_NAME}"' in text else None


def resolve(value: str | os.PathLike) -> Path:
    """A path from the settings: ``~`` expanded; a relative one taken from the project folder (a
    clone), else from the current folder."""
    path = Path(os.path.expanduser(str(value)))
    if path.is_absolute():
        return path
    return (project_folder() or Path.cwd()) / path


def default_corpus() -> Path:
    """The articles served when ``corpus.path`` is not set."""
    if project_folder() is not None:
        return BUNDLED_ARTICLES
    return _seeded(_platform().user_data_path / "articles")


def default_index_cache() -> Path:
    """Where the index, the token cache and jieba's dictionary cache live when ``index.cache_dir`` is not set."""
    folder = project_folder()
    return folder / ".cache" / "index" if folder is not None else _platform().user_cache_path / "index"


def default_state() -> Path:
    """Where the bot's journal and question log live when ``telegram.state_dir`` is not set."""
    folder = project_folder()
    return folder / ".cache" / "telegram" if folder is not None else _platform().user_state_path / "telegram"


def _platform():
    import platformdirs

    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def _seeded(folder: Path) -> Path:
    """``folder``, first filled with a copy of the bundled articles if it does not exist yet (copied
    whole into a temporary folder and renamed, so a crash leaves no half copy)."""
    if folder.exists():
        return folder
    staging = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".articles-", dir=folder.parent))
        shutil.copytree(BUNDLED_ARTICLES, staging, dirs_exist_ok=True)
        os.replace(staging, folder)
    except OSError as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if folder.is_dir():  # another qabot started at the same moment copied them first
            return folder
        # A read-only home: serve the bundled articles where they are.
        log.warning("could not copy the bundled articles to %s (%s): serving them from the package", folder, exc)
        return BUNDLED_ARTICLES
    log.info("copied the bundled articles to %s: add your own articles there", folder)
    return folder
