"""Reading article files into a ``Corpus``: YAML, JSON Lines, and clean text or Markdown.

The formats and fields are described exactly in ``corpus/README.md``. Everything is read and checked
before anything is returned, so a bad file never leaves a half-loaded corpus behind: the caller gets
either a whole ``Corpus`` or a ``CorpusError`` naming the file and, where known, the line.

Guards against hostile files: a size cap checked before a file is read (for JSON Lines, per line,
so a large corpus can still be one file), and YAML aliases are refused outright, so a
"billion laughs" document is rejected before anything is expanded.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterator

import yaml

from corpus.errors import CorpusError
from corpus.model import Article, Corpus, Paragraph
from corpus.sentences import split_sentences
from corpus.text import join_lines

__all__ = ["ARTICLE_SUFFIXES", "DEFAULT_MAX_FILE_BYTES", "CorpusError", "article_files", "load_corpus", "read_articles", "read_text"]

ARTICLE_SUFFIXES = (".yaml", ".yml", ".jsonl", ".txt", ".md")
DEFAULT_MAX_FILE_BYTES = 16 * 1024 * 1024
_FIELDS = frozenset({"id", "title", "subtitle", "source", "date", "paragraphs", "kicker", "byline", "dateline", "captions"})
_PARAGRAPH_FIELDS = frozenset({"heading", "text"})
_DISAPPEARED = "the file disappeared while the corpus was being read (deleted meanwhile?)"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
log = logging.getLogger(__name__)


def load_corpus(path: str | os.PathLike, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Corpus:
    """Every article under ``path`` (a directory, read recursively in sorted order, or one file)."""
    root = Path(path)
    files = article_files(root)
    articles: list[Article] = []
    warnings: list[str] = []
    defined_at: dict[str, str] = {}
    for file in files:
        for article, where in _read_file(file, root, max_file_bytes, warnings):
            if article.id in defined_at:
                raise CorpusError(file, f"duplicate article id {article.id!r} (first in {defined_at[article.id]})", where)
            defined_at[article.id] = f"{file}:{where}" if where else str(file)
            articles.append(article)
    if not articles:
        raise CorpusError(root, "the corpus is empty: its files hold no articles")
    for warning in warnings:
        log.warning("%s", warning)
    return Corpus(tuple(articles), tuple(str(f) for f in files), tuple(warnings))


def read_articles(file: Path, root: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> tuple[list[tuple[Article, int | None]], list[str]]:
    """The articles of one file under ``root``, each with the line it starts on (for the caller's
    check that ids are unique across files), and the warnings the file raised; a bad file raises
    ``CorpusError``. Reading a corpus file by file keeps memory to one file at a time."""
    warnings: list[str] = []
    return list(_read_file(file, root, max_file_bytes, warnings)), warnings


def article_files(root: Path) -> list[Path]:
    """The article files at ``root``: itself if a file, else every one below it, in sorted order.

    Hidden files and folders (a leading dot, like the temporary files ingest writes) are skipped.
    """
    try:
        if root.is_file():
            if not root.name.lower().endswith(ARTICLE_SUFFIXES):
                raise CorpusError(root, f"not an article file: the corpus reads {', '.join(ARTICLE_SUFFIXES)}")
            return [root]
        if not root.is_dir():
            raise CorpusError(root, "no such file or directory")
        found = []
        for folder, subfolders, names in os.walk(root):
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            for name in names:
                if not name.startswith(".") and name.lower().endswith(ARTICLE_SUFFIXES):
                    found.append(Path(folder, name))
    except OSError as exc:
        raise CorpusError(root, f"cannot be read: {exc.strerror or exc}") from None
    if not found:
        suffixes = ", ".join(ARTICLE_SUFFIXES)
        raise CorpusError(root, f"the corpus is empty: no article files ({suffixes}) in this directory")
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _read_file(file: Path, root: Path, max_file_bytes: int, warnings: list[str]) -> Iterator[tuple[Article, int | None]]:
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        yield from _read_jsonl(file, max_file_bytes)
        return
    text = _decode(file, _read_capped(file, max_file_bytes, missing=_DISAPPEARED))
    if not text.strip():
        raise CorpusError(file, "the file is empty")
    if suffix in (".yaml", ".yml"):
        yield from _read_yaml(file, text)
    else:
        looks_raw = raw_ocr_page(text)
        if looks_raw:
            warnings.append(
                f"{file}: this looks like a raw OCR page ({looks_raw}), so it is read as one article of "
                f"fragments; run `qabot ingest {file}` to split it into articles, and keep the page itself "
                "outside the corpus folder"
            )
        yield _read_plain_text(file, root, text), 1


def read_text(file: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> str:
    """A UTF-8 text file's contents, with the size cap and a clean error for every way reading fails."""
    return _decode(file, _read_capped(file, max_file_bytes))


def _read_capped(file: Path, max_file_bytes: int, missing: str = "no such file") -> bytes:
    """The file's bytes, refused before reading if it is larger than the cap."""
    try:
        with open(file, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_file_bytes:
                raise CorpusError(file, f"file too large: {size:,} bytes (corpus.max_file_bytes is {max_file_bytes:,})")
            data = handle.read(max_file_bytes + 1)
    except FileNotFoundError:
        raise CorpusError(file, missing) from None
    except OSError as exc:
        raise CorpusError(file, f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > max_file_bytes:
        raise CorpusError(file, f"file too large: over {max_file_bytes:,} bytes (corpus.max_file_bytes)")
    return data


def _decode(file: Path, data: bytes, first_line: int = 1) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        byte = data[exc.start : exc.start + 1].hex()
        raise CorpusError(file, f"not valid UTF-8 (byte 0x{byte} at offset {exc.start})", line) from None


# --- YAML ---------------------------------------------------------------------------------------


def _read_yaml(file: Path, text: str) -> Iterator[tuple[Article, int | None]]:
    loader = _YAML_LOADER(text)
    found = False
    try:
        while loader.check_node():
            node = loader.get_node()
            _refuse_aliases(file, node)
            data = loader.construct_document(node)
            if data is None:
                continue
            items = data if isinstance(data, list) else [data]
            nodes = node.value if isinstance(data, list) else [node]
            for item, item_node in zip(items, nodes):
                found = True
                line = item_node.start_mark.line + 1
                yield _article(_Place(file, line, item_node), item), line
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        kind = "YAML error" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise CorpusError(file, f"{kind}: {problem}", mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise CorpusError(file, f"YAML error: {exc}") from None
    except RecursionError:
        raise CorpusError(file, "YAML nested too deeply to be an article") from None
    finally:
        loader.dispose()
    if not found:
        raise CorpusError(file, "the file is empty: it holds no articles")


def _refuse_aliases(file: Path, root: yaml.Node) -> None:
    """Refuse a document that reuses a node (``*alias``): articles never need one, bombs always do."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise CorpusError(file, "YAML aliases (*name) are not allowed in article files", node.start_mark.line + 1)
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))


# --- JSON Lines ---------------------------------------------------------------------------------


def _read_jsonl(file: Path, max_line_bytes: int) -> Iterator[tuple[Article, int | None]]:
    found = False
    try:
        handle = open(file, "rb")
    except FileNotFoundError:
        raise CorpusError(file, _DISAPPEARED) from None
    except OSError as exc:
        raise CorpusError(file, f"cannot be read: {exc.strerror or exc}") from None
    with handle:
        for number, raw in enumerate(iter(lambda: handle.readline(max_line_bytes + 1), b""), start=1):
            if len(raw) - raw.endswith(b"\n") > max_line_bytes:
                raise CorpusError(file, f"line too long: over {max_line_bytes:,} bytes (corpus.max_file_bytes)", number)
            line = _decode(file, raw, number)
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(file, f"not valid JSON: {exc.msg} (column {exc.colno})", number) from None
            except RecursionError:
                raise CorpusError(file, "JSON nested too deeply to be an article", number) from None
            found = True
            yield _article(_Place(file, number), data), number
    if not found:
        raise CorpusError(file, "the file is empty: it holds no articles")


# --- clean text and Markdown --------------------------------------------------------------------


def _read_plain_text(file: Path, root: Path, text: str) -> Article:
    """First line the title, blank lines between paragraphs; in Markdown, ``#`` marks are dropped
    from the title and a paragraph that is one ``##`` line is the heading of the paragraphs below."""
    markdown = file.suffix.lower() == ".md"
    blocks = _split_blank_lines(text)
    title_lines = blocks[0]
    title = title_lines[0].lstrip("#").strip() if markdown else title_lines[0].strip()
    blocks[0] = title_lines[1:]
    paragraphs: list[dict[str, Any]] = []
    heading = None
    for lines in blocks:
        if not lines:
            continue
        if markdown and len(lines) == 1 and lines[0].startswith("#"):
            heading = lines[0].lstrip("#").strip()
            continue
        paragraphs.append({"heading": heading, "text": join_lines(lines)})
    relative = file.relative_to(root) if file != root else Path(file.name)
    article_id = relative.with_suffix("").as_posix()
    return _article(_Place(file, 1), {"id": article_id, "title": title, "paragraphs": paragraphs})


# A raw OCR page: at least this many lines, most of them (this share) short, and its blank-line
# blocks mostly ending mid-sentence (OCR puts blank lines anywhere) or no blocks at all.
RAW_PAGE_MIN_LINES = 8
RAW_PAGE_SHORT_LINE = 30
RAW_PAGE_SHORT_SHARE = 0.8
_SENTENCE_END = tuple("。！？…!?”’）)")


def raw_ocr_page(text: str) -> str | None:
    """Why a clean-text article file looks like a raw OCR page instead (None if it does not): printed
    lines, most of them short, without blank lines between paragraphs.

    >>> raw_ocr_page("标题\\n\\n" + "\\n\\n".join(["一段短短的文字。"] * 9)) is None
    True
    >>> raw_ocr_page("\\n".join(["近日，某市民政局召", "开会议，总结上半年", "工作。会议要求，各"] * 4))
    '12 lines, 12 of them short, 1 blank-line blocks, 1 ending mid-sentence'
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) < RAW_PAGE_MIN_LINES:
        return None
    short = sum(len(line) <= RAW_PAGE_SHORT_LINE for line in lines)
    if short < RAW_PAGE_SHORT_SHARE * len(lines):
        return None
    blocks = _split_blank_lines(text)
    open_blocks = sum(not block[-1].strip().endswith(_SENTENCE_END) for block in blocks)
    if len(blocks) > 1 and open_blocks < 0.5 * len(blocks):
        return None
    return f"{len(lines)} lines, {short} of them short, {len(blocks)} blank-line blocks, {open_blocks} ending mid-sentence"


def _split_blank_lines(text: str) -> list[list[str]]:
    """The runs of non-blank lines, in order."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


# --- validation ---------------------------------------------------------------------------------


class _Place:
    """Where an article sits in its file, for messages: its first line, and (for YAML) each field's
    line and each paragraph's line, so an error points at the offending line when it can."""

    def __init__(self, file: Path, line: int | None, node: yaml.Node | None = None) -> None:
        self.file = file
        self.line = line
        self.lines: dict[str, int] = {}
        self.paragraph_lines: list[int] = []
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[str(key.value)] = value.start_mark.line + 1
                if key.value == "paragraphs" and isinstance(value, yaml.SequenceNode):
                    self.paragraph_lines = [item.start_mark.line + 1 for item in value.value]

    def error(self, message: str, field: str | None = None, paragraph: int | None = None) -> CorpusError:
        line = self.line
        if paragraph is not None and paragraph < len(self.paragraph_lines):
            line = self.paragraph_lines[paragraph]
        elif field is not None:
            line = self.lines.get(field, line)
        return CorpusError(self.file, message, line)


def _article(place: _Place, data: Any) -> Article:
    """Check one article's fields and build it."""
    if not isinstance(data, dict):
        raise place.error(f"expected an article (a mapping of fields), got {_kind(data)}")
    unknown = sorted(str(key) for key in data if key not in _FIELDS)
    if unknown:
        raise place.error(f"unknown field {unknown[0]!r} (fields: {', '.join(sorted(_FIELDS))})", unknown[0])
    article_id = _identifier(place, data.get("id"))
    name = f"article {article_id!r}"
    title = _text_field(place, data, "title", name)
    if title is None:
        raise place.error(f"{name}: missing 'title'")
    subtitle = _text_field(place, data, "subtitle", name)
    source = _text_field(place, data, "source", name)
    date = data.get("date")
    if isinstance(date, (datetime.date, datetime.datetime)):
        date = date.isoformat()
    else:
        date = _text_field(place, data, "date", name)
    raw_paragraphs = data.get("paragraphs")
    if raw_paragraphs is None:
        raise place.error(f"{name}: missing 'paragraphs'")
    if not isinstance(raw_paragraphs, list):
        raise place.error(f"{name}: 'paragraphs' must be a list, got {_kind(raw_paragraphs)}", "paragraphs")
    if not raw_paragraphs:
        raise place.error(f"{name} has no paragraphs", "paragraphs")
    paragraphs = tuple(_paragraph(place, article_id, position, item) for position, item in enumerate(raw_paragraphs))
    return Article(
        article_id,
        title,
        paragraphs,
        subtitle=subtitle,
        source=source,
        date=date,
        kicker=_text_field(place, data, "kicker", name),
        byline=_text_field(place, data, "byline", name),
        dateline=_text_field(place, data, "dateline", name),
        captions=_captions(place, data, name),
    )


def _captions(place: _Place, data: dict, name: str) -> tuple[str, ...]:
    value = data.get("captions")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise place.error(f"{name}: 'captions' must be a list of text, got {_kind(value)}", "captions")
    return tuple(item.strip() for item in value if item.strip())


def _paragraph(place: _Place, article_id: str, position: int, item: Any) -> Paragraph:
    where = f"article {article_id!r}, paragraph {position + 1}"
    heading = None
    if isinstance(item, dict):
        unknown = sorted(str(key) for key in item if key not in _PARAGRAPH_FIELDS)
        if unknown:
            raise place.error(f"{where}: unknown field {unknown[0]!r} (fields: heading, text)", paragraph=position)
        heading = item.get("heading")
        if heading is not None and not isinstance(heading, str):
            raise place.error(f"{where}: 'heading' must be text, got {_kind(heading)}", paragraph=position)
        if heading is not None:
            heading = heading.strip() or None
        item = item.get("text")
    if not isinstance(item, str):
        raise place.error(f"{where}: expected text or {{heading, text}}, got {_kind(item)}", paragraph=position)
    text = item.strip()
    if not text:
        raise place.error(f"{where}: the text is empty", paragraph=position)
    return Paragraph(article_id, position, heading, text, split_sentences(text))


def _identifier(place: _Place, value: Any) -> str:
    if value is None:
        raise place.error("article without an 'id'")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise place.error(f"'id' must be text, got {_kind(value)}", "id")
    identifier = str(value).strip()
    if not identifier:
        raise place.error("'id' is empty", "id")
    return identifier


def _text_field(place: _Place, data: dict, field: str, name: str) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise place.error(f"{name}: {field!r} must be text, got {_kind(value)}", field)
    return str(value).strip() or None


def _kind(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}
    return "nothing" if value is None else names.get(type(value), type(value).__name__)
