"""Writing article files: the YAML form of an article, written so that a failure never leaves half a file."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

import yaml

from corpus.errors import CorpusError
from corpus.model import Article


def article_yaml(article: Article, origin: str | None = None) -> str:
    """The article as a YAML document in the schema of ``corpus/README.md``; same article, same bytes.

    >>> from corpus.model import Paragraph
    >>> print(article_yaml(Article("a-1", "标题", (Paragraph("a-1", 0, None, "第一段。", ("第一段。",)),)), "page.txt"), end="")
    # Written by `qabot ingest` from page.txt.
    id: a-1
    title: 标题
    paragraphs:
    - 第一段。
    """
    fields: dict[str, object] = {"id": article.id}
    for name in ("kicker", "title", "subtitle", "source", "byline", "dateline", "date"):
        value = getattr(article, name)
        if value is not None:
            fields[name] = value
    fields["paragraphs"] = [
        {"heading": p.heading, "text": p.text} if p.heading else p.text for p in article.paragraphs
    ]
    if article.captions:
        fields["captions"] = list(article.captions)
    body = yaml.safe_dump(fields, allow_unicode=True, sort_keys=False, width=1 << 30, default_flow_style=False)
    header = f"# Written by `qabot ingest` from {origin}.\n" if origin else ""
    return header + body


def write_atomically(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` via a temporary file and a rename; False if it already held exactly that."""
    data = text.encode("utf-8")
    try:
        if path.is_file() and path.read_bytes() == data:
            return False
    except OSError:
        pass
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def write_page_files(files: Iterable[tuple[str, str]], out_dir: Path, page_prefix: str) -> list[Path]:
    """Write each (name, text) into ``out_dir`` and remove files an earlier run wrote for the same page
    (``PREFIX-NN-HASH.yaml``) that this run no longer produces. Returns the files written or already
    up to date."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CorpusError(out_dir, f"cannot create the output directory: {exc.strerror or exc}") from None
    if not out_dir.is_dir():
        raise CorpusError(out_dir, "the output must be a directory")
    rendered = {out_dir / name: text for name, text in files}
    try:
        for path, text in rendered.items():
            write_atomically(path, text)
        for stale in page_files_to_replace(out_dir, page_prefix, [path.name for path in rendered]):
            stale.unlink()
    except OSError as exc:
        raise CorpusError(getattr(exc, "filename", None) or out_dir, f"cannot write: {exc.strerror or exc}") from None
    return list(rendered)


def page_files_to_replace(out_dir: Path, page_prefix: str, keep: Iterable[str]) -> list[Path]:
    """The files in ``out_dir`` an earlier run wrote for the same page (``PREFIX-NN-HASH.yaml``) whose
    names are not in ``keep``: what writing the page anew removes."""
    earlier = re.compile(rf"{re.escape(page_prefix)}-\d{{2,}}-[0-9a-f]{{6}}\.yaml")
    kept = set(keep)
    return [path for path in sorted(out_dir.iterdir()) if earlier.fullmatch(path.name) and path.name not in kept]
