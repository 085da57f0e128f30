"""Adding an admin's upload to the corpus directory: an article file, or the articles read from a
photo or PDF of a page. Checked first, then swapped in.

An article file is read on its own and its ids checked against the corpus being served (whose files
are known from its index), so an upload does not parse the whole corpus again. A page's articles are
loaded together with the rest of the corpus from a staging directory (links to the existing files,
the new ones standing in for those they replace). Either way a broken file or a clashing article id
is refused before anything in the corpus directory changes. Only then are the files moved in,
atomically, one by one, and the corpus reloaded; should that still fail, the previous state is put
back. A page's articles replace the files an earlier reading of the same page wrote
(``PREFIX-NN-HASH.yaml``), as ``qabot ingest`` does.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import Callable

from bot.settings import Settings
from bot.telegram.library import Library, load_library
from corpus.errors import CorpusError
from corpus.ingest import IngestReport, ingest_page
from corpus.writer import page_files_to_replace, write_page_files
from corpus.stored import CorpusView

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


_PAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".pdf")


def page_name(label: str | None, unique_id: str, fallback: str) -> str:
    """The name a page upload is read under, from the message's caption or the file's name: its
    articles' files start with it, so the same page sent again under the same name replaces them. A
    name with other than ASCII letters keeps a short hash of itself (file prefixes are ASCII, and
    第5版 of one paper must not replace 第5版 of another). Without either (a photo with no caption):
    ``fallback`` and the file's unique id.

    >>> page_name("../Linjiang-P5.PDF", "AbC", "page"), page_name(None, "AQAD_x-1", "photo")
    ('Linjiang-P5.pdf', 'photo-AQAD_x-1.jpg')
    >>> page_name("临江日报 第5版", "AbC", "photo"), page_name("滨海日报 第5版", "AbC", "photo")
    ('5-89db55.jpg', '5-c116f6.jpg')
    """
    base = unicodedata.normalize("NFKC", label or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot or f".{suffix.lower()}" not in _PAGE_SUFFIXES:
        stem, suffix = base, "jpg"
    plain = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("._-")[:_NAME_CHARS]
    if re.search(r"[^\x00-\x7f]", stem):
        plain = f"{plain or fallback}-{hashlib.blake2b(stem.encode(), digest_size=3).hexdigest()}"
    if not plain:
        plain = f"{fallback}-{re.sub(r'[^A-Za-z0-9_-]+', '', unique_id)[:32] or 'page'}"
    return f"{plain}.{suffix.lower()}"


def _stage(corpus_dir: Path, staging: Path, new: dict[str, bytes], removed: set[str]) -> None:
    """Mirror ``corpus_dir`` into ``staging`` with links, the new files standing in for any they
    replace and the ``removed`` ones left out."""
    for path in corpus_dir.rglob("*"):
        relative = path.relative_to(corpus_dir)
        if path.is_dir() or str(relative) in new or str(relative) in removed:
            continue
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        (staging / relative).symlink_to(path.resolve())
    for name, content in new.items():
        (staging / name).write_bytes(content)


def _checked_corpus_dir(settings: Settings) -> Path:
    corpus_dir = settings.corpus.path.resolve()
    if not corpus_dir.is_dir():
        raise UploadError(f"the corpus ({corpus_dir.name}) is a single file, not a directory: uploads need a directory")
    return corpus_dir


def _check_with_corpus(settings: Settings, corpus_dir: Path, new: dict[str, bytes], removed: set[str]) -> None:
    """Load the corpus as it would be with ``new`` added and ``removed`` gone; UploadError if it fails."""
    from corpus.loader import load_corpus

    with tempfile.TemporaryDirectory(prefix="qabot-upload-") as staging:
        _stage(corpus_dir, Path(staging), new, removed)
        try:
            load_corpus(Path(staging), settings.corpus.max_file_bytes)
        except CorpusError as exc:
            raise UploadError(str(exc).replace(staging, corpus_dir.name)) from None


def _swap_in(settings: Settings, corpus_dir: Path, write: Callable[[], None], touched: list[Path]) -> Library:
    """Run ``write`` (which changes only the ``touched`` files) and load the result; if anything fails,
    put every touched file back as it was."""
    previous = {path: path.read_bytes() if path.exists() else None for path in touched}
    try:
        write()
        return load_library(settings)
    except Exception as exc:
        for path, content in previous.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                _write_atomically(path, content)
        raise UploadError(str(exc)) from exc


def check_upload(path: Path, corpus_dir: Path, content: bytes, max_file_bytes: int, serving: CorpusView | None) -> None:
    """Refuse an upload that would break the corpus: the file must read as articles, and its ids must
    not clash with another file's (the served corpus' articles, less those of the file it replaces).
    Only the uploaded file is parsed; the others are known from the served corpus."""
    from corpus.loader import read_articles

    with tempfile.TemporaryDirectory(prefix="qabot-upload-") as staging:
        staged = Path(staging) / path.name
        staged.write_bytes(content)
        try:
            articles, _ = read_articles(staged, Path(staging), max_file_bytes)
        except CorpusError as exc:
            raise UploadError(str(exc).replace(staging, corpus_dir.name)) from None
    ids: dict[str, int | None] = {}
    for article, line in articles:
        if article.id in ids:
            raise UploadError(f"{path.name}:{line}: duplicate article id {article.id!r}")
        ids[article.id] = line
    if serving is None:
        return
    replaced = str(path.resolve())
    for entry in serving.file_entries():
        if entry["path"] == replaced:
            continue
        first, count = entry["articles"]
        for a in range(first, first + count):
            article_id = serving.article(a).id
            if article_id in ids:
                line = ids[article_id]
                where = f"{path.name}:{line}" if line else path.name
                raise UploadError(f"{where}: duplicate article id {article_id!r} (already in {Path(entry['path']).name})")


def install_upload(settings: Settings, name: str, content: bytes, serving: CorpusView | None = None) -> Library:
    """Check the upload against the corpus being served, move it in, and load the result (blocking).

    Raises UploadError with a message for the admin; the corpus directory is then as it was.
    """
    corpus_dir = _checked_corpus_dir(settings)
    target = (corpus_dir / name).resolve()
    if target.parent != corpus_dir:
        raise UploadError("that file name would leave the corpus directory")
    if serving is None:
        _check_with_corpus(settings, corpus_dir, {name: content}, set())
    else:
        check_upload(target, corpus_dir, content, settings.corpus.max_file_bytes, serving)
    return _swap_in(settings, corpus_dir, lambda: _write_atomically(target, content), [target])


def install_page(settings: Settings, name: str, content: bytes, report: Callable[[IngestReport], None]) -> Library:
    """Read a page (a photo, a scan, a PDF) into articles, check them with the rest of the corpus,
    write them in place of an earlier reading of the same page, and load the result (blocking; OCR
    takes seconds). ``report`` receives what the reading found. Raises UploadError or CorpusError with
    a message for the admin; the corpus directory is then as it was."""
    corpus_dir = _checked_corpus_dir(settings)
    found = ingest_page(content, name=name, max_bytes=settings.telegram.page_upload_max_bytes, quiet=True)
    new = {file.name: file.text.encode("utf-8") for file in found.files}
    stale = {path.name for path in page_files_to_replace(corpus_dir, found.prefix, new)}
    _check_with_corpus(settings, corpus_dir, new, stale)
    touched = [corpus_dir / file for file in [*new, *stale]]

    def write() -> None:
        write_page_files(((file.name, file.text) for file in found.files), corpus_dir, found.prefix)

    library = _swap_in(settings, corpus_dir, write, touched)
    report(found)
    return library


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
