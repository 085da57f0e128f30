"""Photos, scans and PDFs of a page -> its printed lines, with their geometry, in reading order.

- **Images** (a phone photo, a scan) are read by RapidOCR (``rapidocr_onnxruntime``): PP-OCRv4
  Chinese detection and recognition models that ship inside its wheel and run on onnxruntime on the
  CPU, so nothing is downloaded at run time.
- **PDFs** are read from their text layer (``pypdfium2``) when they have one; a page without one (a
  scan saved as PDF) is rendered and read by OCR.

Either way the page becomes text boxes (a line of print and its rectangle). The boxes are turned
upright (a photo is rarely straight: the median slant of the long boxes is undone), cut into
regions by recursive XY-cut (full-width strips such as a headline across columns, then columns,
read left to right) and grouped into lines. Each line keeps what the layout model reads from
geometry: its indent from its column's left edge, its gap to the right edge, the column's width,
and its glyph height relative to the body text. Widths are in glyphs of the body text.
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from corpus.errors import CorpusError
from corpus.layout import PrintedLine, print_width

log = logging.getLogger(__name__)

# OCR reads a page rendered from a PDF at this resolution: small print stays legible.
PDF_RENDER_DPI = 200
# A text layer with fewer letters than this on a page is no text layer (a scan with a stray label).
MIN_TEXT_LAYER_CHARS = 20
# Recognised lines below this score are dropped as noise (RapidOCR's own default).
MIN_OCR_SCORE = 0.5
# Gaps that cut regions: between columns at least this many glyph widths; between strips this many
# times the usual space between the region's lines, and at least this many body line heights.
COLUMN_GAP_GLYPHS = 0.9
STRIP_GAP_SPACES = 1.6
MIN_STRIP_GAP_LINES = 0.3
# A gap across the whole region this many body line heights tall parts stories stacked down the page.
ARTICLE_GAP_LINES = 0.9
# A region of fewer lines than this has no column of its own (a headline strip, a caption).
MIN_COLUMN_LINES = 3
# Boxes one line apart by less than this share of their height stand on the same line.
SAME_LINE_OVERLAP = 0.5
# The largest image side OCR is given; a bigger photo is scaled down first (RapidOCR's own limit).
MAX_IMAGE_SIDE = 2000
# An image whose grey levels spread less than this is blank.
BLANK_IMAGE_SPREAD = 3.0


@dataclass(frozen=True)
class TextBox:
    """One line (or piece of a line) of print: its text, its upright rectangle, how sure OCR was."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float = 1.0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def read_image(data: bytes, where: str | Path = "page", quiet: bool = True) -> list[PrintedLine]:
    """The printed lines of a photo or scan of one page (bytes of any image Pillow reads)."""
    image = _open_image(data, where)
    boxes = _progress_over([image], "reading the page", quiet, lambda item: ocr_boxes(item))[0]
    return boxes_to_lines(boxes)


def read_pdf(data: bytes, where: str | Path = "page.pdf", quiet: bool = True) -> list[list[PrintedLine]]:
    """The printed lines of each page of a PDF: from its text layer, or by OCR where it has none."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise CorpusError(where, "the PDF is password-protected: save a copy without the password and ingest that") from None
        raise CorpusError(where, f"not a PDF this can read ({exc}): is the file damaged?") from None
    try:
        if len(document) == 0:
            raise CorpusError(where, "the PDF has no pages")
        return _progress_over(list(range(len(document))), "reading PDF pages", quiet, lambda n: _pdf_page_lines(document, n))
    finally:
        document.close()


def _pdf_page_lines(document, number: int) -> list[PrintedLine]:
    page = document[number]
    try:
        boxes = _text_layer_boxes(page)
        if sum(len(box.text.strip()) for box in boxes) >= MIN_TEXT_LAYER_CHARS:
            return boxes_to_lines(boxes)
        # As fine as OCR takes (its longest side), never finer than the print needs.
        scale = min(PDF_RENDER_DPI / 72, MAX_IMAGE_SIDE / max(page.get_width(), page.get_height()))
        bitmap = page.render(scale=scale)
        image = bitmap.to_pil()
        return boxes_to_lines(ocr_boxes(image.convert("RGB")))
    finally:
        page.close()


def _text_layer_boxes(page) -> list[TextBox]:
    """The text layer's pieces of text with their rectangles, top-left origin, in points."""
    textpage = page.get_textpage()
    try:
        height = page.get_height()
        boxes = []
        for index in range(textpage.count_rects()):
            left, bottom, right, top = textpage.get_rect(index)
            text = textpage.get_text_bounded(left, bottom, right, top).replace("\r", "").replace("\n", "")
            if text.strip():
                boxes.append(TextBox(text, left, height - top, right, height - bottom))
        return boxes
    finally:
        textpage.close()


def _progress_over(items: list, label: str, quiet: bool, work) -> list:
    from tqdm import tqdm

    bar = tqdm(items, desc=label, unit="page", disable=True if quiet or os.environ.get("CI") else None, leave=False)
    with bar:
        return [work(item) for item in bar]


def _open_image(data: bytes, where: str | Path):
    from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CorpusError(where, f"not an image this can read ({exc.__class__.__name__}): is the file damaged?") from None
    except Image.DecompressionBombError:
        raise CorpusError(where, "the image is too large to be a page") from None
    image = ImageOps.exif_transpose(image).convert("RGB")
    if min(image.size) < 32:
        raise CorpusError(where, f"the image is {image.width}×{image.height} pixels: too small to hold a page")
    if max(ImageStat.Stat(image.convert("L")).stddev) < BLANK_IMAGE_SPREAD:
        raise CorpusError(where, "the image is blank: no print on it")
    if max(image.size) > MAX_IMAGE_SIDE:
        image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    return image


@lru_cache(maxsize=1)
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return RapidOCR()


def ocr_boxes(image) -> list[TextBox]:
    """Text boxes of a Pillow image, read by RapidOCR, turned upright."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    result, _ = _engine()(buffer.getvalue(), use_cls=False)
    boxes = []
    for points, text, score in result or []:
        text = _tidy_ocr_text(text)
        if text and float(score) >= MIN_OCR_SCORE and not _SPECK.match(text):
            boxes.append((points, text, float(score)))
    return _upright(boxes, image.width / 2, image.height / 2)


# Marks the recogniser confuses with look-alike characters in Chinese print.
_LOOK_ALIKES = str.maketrans({"丶": "、", "﹐": "，", "﹒": "．"})


# A letter or two and nothing else: a speck, a picture's edge, read as print.
_SPECK = re.compile(r"^[A-Za-z\W_]{1,2}$")
# A hyphen between two Han characters is 一 read as a dash.
_DASH_FOR_ONE = re.compile(r"(?<=[\u3400-\u9fff“‘（《])[-－‐](?=[\u3400-\u9fff])")


def _tidy_ocr_text(text: str) -> str:
    """Look-alike marks the recogniser returns for Chinese print, put right.

    >>> _tidy_ocr_text("推行“-卡通”结算，养老服务中心120处丶农村")
    '推行“一卡通”结算，养老服务中心120处、农村'
    """
    return _DASH_FOR_ONE.sub("一", text.translate(_LOOK_ALIKES)).strip()


def _upright(boxes: list[tuple[list, str, float]], cx: float, cy: float) -> list[TextBox]:
    """Rotate every box by the page's slant (the median slant of boxes at least three times as long as tall)."""
    slants = []
    for points, _, _ in boxes:
        (x0, y0), (x1, y1), _, (x3, y3) = points[:4]
        length, height = math.hypot(x1 - x0, y1 - y0), math.hypot(x3 - x0, y3 - y0)
        if length >= 3 * height > 0:
            slants.append(math.atan2(y1 - y0, x1 - x0))
    angle = statistics.median(slants) if slants else 0.0
    cos, sin = math.cos(-angle), math.sin(-angle)
    upright = []
    for points, text, score in boxes:
        xs, ys = [], []
        for x, y in points:
            dx, dy = x - cx, y - cy
            xs.append(cx + dx * cos - dy * sin)
            ys.append(cy + dx * sin + dy * cos)
        upright.append(TextBox(text, min(xs), min(ys), max(xs), max(ys), score))
    return upright


# --- from boxes to lines in reading order -------------------------------------------------------


def boxes_to_lines(boxes: list[TextBox]) -> list[PrintedLine]:
    """The boxes as printed lines in reading order, each with its geometry in body-text glyphs."""
    boxes = [box for box in boxes if box.x1 > box.x0 and box.y1 > box.y0 and box.text.strip()]
    if not boxes:
        return []
    body_height = statistics.median(box.height for box in boxes)
    glyph = _glyph_width(boxes, body_height)
    lines: list[PrintedLine] = []
    for region in _xy_cut(boxes, glyph, body_height):
        rows = _rows(region)
        left = _quantile([row[0].x0 for row in rows], 0.1)
        right = _quantile([row[-1].x1 for row in rows], 0.9)
        is_column = len(rows) >= MIN_COLUMN_LINES
        for row in rows:
            x0, x1 = row[0].x0, row[-1].x1
            height = statistics.median(box.height for box in row)
            lines.append(
                PrintedLine(
                    len(lines) + 1,
                    _row_text(row, glyph),
                    indent=(x0 - left) / glyph if is_column else None,
                    right_gap=(right - x1) / glyph if is_column else None,
                    column_width=(right - left) / glyph if is_column else None,
                    height=height / body_height,
                    ocr_score=min(box.score for box in row),
                    width=(x1 - x0) / glyph,
                )
            )
    return lines


def _glyph_width(boxes: list[TextBox], body_height: float) -> float:
    """The advance of one full-width glyph of body text, from boxes of body height."""
    advances = [
        (box.x1 - box.x0) / print_width(box.text)
        for box in boxes
        if abs(box.height - body_height) <= 0.15 * body_height and print_width(box.text) >= 4
    ]
    return statistics.median(advances) if advances else body_height * 0.8


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _gaps(intervals: list[tuple[float, float]], minimum: float) -> list[float]:
    """The middles of the empty stretches at least ``minimum`` long between the intervals."""
    cuts = []
    ordered = sorted(intervals)
    reach = ordered[0][1]
    for start, end in ordered[1:]:
        if start - reach >= minimum:
            cuts.append((reach + start) / 2)
        reach = max(reach, end)
    return cuts


def _xy_cut(boxes: list[TextBox], glyph: float, body_height: float, depth: int = 0) -> list[list[TextBox]]:
    """Regions in reading order: columns left to right where a gutter runs the region's full height,
    else strips top to bottom where a gap runs its full width; recursively."""
    if len(boxes) <= 1 or depth > 12:
        return [boxes]
    middle_y = lambda box: (box.y0 + box.y1) / 2  # noqa: E731
    articles = _gaps([(box.y0, box.y1) for box in boxes], ARTICLE_GAP_LINES * body_height)
    columns = _gaps([(box.x0, box.x1) for box in boxes], COLUMN_GAP_GLYPHS * glyph)
    if articles:
        # Stories stacked down the page first: a gutter may run through all of them by chance.
        parts = _split(boxes, articles, middle_y)
    elif columns and len(_rows(boxes)) > 1:
        parts = _split(boxes, columns, lambda box: (box.x0 + box.x1) / 2)
    else:
        strips = _gaps([(box.y0, box.y1) for box in boxes], _strip_gap(boxes, body_height))
        if not strips:
            return [boxes]
        parts = _split(boxes, strips, middle_y)
    if len(parts) == 1:
        return parts
    return [region for part in parts for region in _xy_cut(part, glyph, body_height, depth + 1)]


def _strip_gap(boxes: list[TextBox], body_height: float) -> float:
    """A gap between strips: clearly wider than the space between the region's lines of text."""
    rows = _rows(boxes)
    spaces = [
        min(b.y0 for b in below) - max(b.y1 for b in above) for above, below in zip(rows, rows[1:])
    ]
    spaces = [space for space in spaces if space > 0]
    usual = statistics.median(spaces) if spaces else 0.0
    return max(MIN_STRIP_GAP_LINES * body_height, STRIP_GAP_SPACES * usual)


def _split(boxes: list[TextBox], cuts: list[float], position) -> list[list[TextBox]]:
    parts: list[list[TextBox]] = [[] for _ in range(len(cuts) + 1)]
    for box in boxes:
        parts[sum(position(box) > cut for cut in cuts)].append(box)
    return [part for part in parts if part]


def _rows(boxes: list[TextBox]) -> list[list[TextBox]]:
    """Boxes grouped into lines (overlapping enough vertically), top to bottom, each left to right."""
    rows: list[list[TextBox]] = []
    for box in sorted(boxes, key=lambda b: (b.y0 + b.y1) / 2):
        if rows:
            last = rows[-1]
            top, bottom = min(b.y0 for b in last), max(b.y1 for b in last)
            overlap = min(bottom, box.y1) - max(top, box.y0)
            if overlap >= SAME_LINE_OVERLAP * min(box.height, bottom - top):
                last.append(box)
                continue
        rows.append([box])
    return [sorted(row, key=lambda b: b.x0) for row in rows]


def _row_text(row: list[TextBox], glyph: float) -> str:
    """The boxes of one line joined; a wide gap (fields of a page header) kept as wide white space."""
    text = row[0].text
    for before, box in zip(row, row[1:]):
        gap = box.x0 - before.x1
        text += ("    " if gap >= 1.5 * glyph else " " if gap >= 0.4 * glyph else "") + box.text
    return text
