"""Adding an admin's uploaded article file to the corpus directory: checked first, then swapped in.

The file is loaded together with the rest of the corpus from a staging directory (links to the
existing files plus the new one) before anything in the corpus directory changes, so a broken file
or a clashing article id is refused with the corpus untouched. Only then is it moved in, atomically,
and the corpus reloaded; should that still fail, the previous state is put back.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

from bot.settings import Settings
from bot.telegram.library import Library, load_library
from corpus.errors import CorpusError

UPLOAD_SUFFIXES = (".txt", ".yaml", ".yml", ".jsonl")
_UNSAFE = re.compile(r"[^\w.-]+")
_NAME_CHARS = 100


class UploadError(Exception):
    """An upload that was refused; the corpus is unchanged. The message is meant for the admin."""


def safe_upload_name(file_name: str | None) -> str | None:
    """A plain file name for ``file_name`` that cannot leave the corpus directory, or None if there is
    nothing usable left or the type is not one the corpus reads.

    >>> safe_upload_name("../../etc/passwd.txt"), safe_upload_name("C:\\\\x\\\\新闻 稿.YAML")
    ('passwd.txt', '新闻_稿.yaml')
    >>> safe_upload_name("/abs/.hidden.jsonl"), safe_upload_name("..txt"), safe_upload_name("a.exe")
    ('hidden.jsonl', None, None)
    """
    base = unicodedata.normalize("NFKC", file_name or "").replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}"
    if not dot or suffix not in UPLOAD_SUFFIXES:
        return None
    stem = _UNSAFE.sub("_", stem).strip("._-")[:_NAME_CHARS]
    return f"{stem}{suffix}" if stem else None


def _stage(corpus_dir: Path, staging: Path, name: str, content: bytes) -> None:
    """Mirror ``corpus_dir`` into ``staging`` with links, the upload standing in for any file it replaces."""
    for path in corpus_dir.rglob("*"):
        relative = path.relative_to(corpus_dir)
        if path.is_dir() or relative == Path(name):
            continue
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        (staging / relative).symlink_to(path.resolve())
    (staging / name).write_bytes(content)


def install_upload(settings: Settings, name: str, content: bytes) -> Library:
    """Check the upload against the whole corpus, move it in, and load the result (blocking).

    Raises UploadError with a message for the admin; the corpus directory is then as it was.
    """
    from corpus.loader import load_corpus

    corpus_dir = settings.corpus.path.resolve()
    if not corpus_dir.is_dir():
        raise UploadError(f"the corpus ({corpus_dir.name}) is a single file, not a directory: uploads need a directory")
    target = (corpus_dir / name).resolve()
    if target.parent != corpus_dir:
        raise UploadError("that file name would leave the corpus directory")
    with tempfile.TemporaryDirectory(prefix="qabot-upload-") as staging:
        _stage(corpus_dir, Path(staging), name, content)
        try:
            load_corpus(Path(staging), settings.corpus.max_file_bytes)
        except CorpusError as exc:
            raise UploadError(str(exc).replace(staging, corpus_dir.name)) from None

    previous = target.read_bytes() if target.exists() else None
    _write_atomically(target, content)
    try:
        return load_library(settings)
    except Exception as exc:
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            _write_atomically(target, previous)
        raise UploadError(str(exc)) from exc


def _write_atomically(target: Path, content: bytes) -> None:
    """Write ``content`` to ``target`` so a reader sees the old file or the new one, never half of one."""
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
