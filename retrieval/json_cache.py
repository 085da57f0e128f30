"""Tables derived from the corpus or a dictionary, kept as JSON in the index cache folder between runs.

Each file holds a ``stamp`` (what the table was made from) beside its ``payload``; a file whose stamp
differs, or that cannot be read, is ignored and the table rebuilt. Files are written to a temporary
name and renamed, so a crash never leaves half a table.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def read_stamped(path: Path | None, stamp: Any) -> Any | None:
    """The payload cached at ``path`` if it was made from ``stamp``, else None.

    >>> import tempfile; folder = Path(tempfile.mkdtemp())
    >>> write_stamped(folder / "t.json", {"v": 1}, [1, 2], "a table")
    >>> read_stamped(folder / "t.json", {"v": 1}), read_stamped(folder / "t.json", {"v": 2}), read_stamped(None, 1)
    ([1, 2], None, None)
    """
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # an unreadable cache is rebuilt by the caller
    if not isinstance(data, dict) or data.get("stamp") != stamp:
        return None
    return data.get("payload")


def write_stamped(path: Path | None, stamp: Any, payload: Any, what: str) -> None:
    """Cache ``payload`` at ``path`` (nothing when None); a failure is logged, never raised."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"stamp": stamp, "payload": payload}, ensure_ascii=False), encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        log.warning("could not cache %s in %s: %s", what, path, exc)
