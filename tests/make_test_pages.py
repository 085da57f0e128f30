"""Render our own test pages (tests/data/pages/*.yaml) as page images and PDFs, for the OCR tests.

    .venv/bin/python tests/make_test_pages.py          # rewrites the files listed below

Writes, for tests/data/pages/linjiang-p5.yaml:
- ``linjiang-p5.png``: the page printed at 150 dpi in three columns, a headline across them;
- ``linjiang-p5-photo.jpg``: the same page as a phone photo: turned by 1.2°, blurred a little, lit
  unevenly, with grain, saved as JPEG;
- ``linjiang-p5.pdf``: the same page as a PDF with a text layer (the fonts embedded as subsets);
- ``locked.pdf``: a one-line PDF that opens only with a password, for the error test.

Fonts (needed only to run this script, not by the tests, which read the committed files): AR PL
UMing (a Ming/Song face, for body text) and WenQuanYi Micro Hei (a sans face, for headlines), from
the Debian packages fonts-arphic-uming and fonts-wqy-microhei (`apt-get install fonts-arphic-uming
fonts-wqy-microhei`). The PDF needs fpdf2 (a dev dependency).

The layout is fixed here, and the noise is seeded, so running the script again gives the same files.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pagemaker import PAGES, headline_lines, load_spec, paragraphs, printed_first_paragraph, typeset  # noqa: E402

BODY_FONT = ("/usr/share/fonts/truetype/arphic/uming.ttc", 0)  # AR PL UMing CN
HEAD_FONT = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0)  # WenQuanYi Micro Hei
DPI = 150
PAGE_WIDTH = 1240  # A4 width at 150 dpi
MARGIN = 60
COLUMNS = 3
GUTTER = 40
BODY = 22  # about 10.5 pt at 150 dpi
LEADING = 1.6
CHARS_PER_LINE = 14


@dataclass
class Piece:
    """One line of print: its text, font (face, size), where it starts."""

    text: str
    face: tuple[str, int]
    size: int
    x: float
    y: float


def font(face: tuple[str, int], size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(face[0], size, index=face[1])


class Page:
    """Lays a spec out: a header across the page, then each article: kicker, title, subtitle and
    byline across the columns, the body in columns (a photo with its caption heading the last
    column), and the attribution at the end of the body."""

    def __init__(self, spec: dict) -> None:
        self.pieces: list[Piece] = []
        self.photos: list[tuple[float, float, float, float]] = []
        self.rules: list[float] = []
        self.column_width = (PAGE_WIDTH - 2 * MARGIN - (COLUMNS - 1) * GUTTER) / COLUMNS
        y = MARGIN
        if spec.get("header"):
            y = self.header(spec["header"], y)
        for article in spec["articles"]:
            y = self.article(article, y)
        self.height = int(y + MARGIN)

    def header(self, text: str, y: float) -> float:
        fields = [field for field in text.split("    ") if field.strip()]
        size = 18
        step = (PAGE_WIDTH - 2 * MARGIN) / max(1, len(fields))
        for index, field in enumerate(fields):
            self.pieces.append(Piece(field.strip(), BODY_FONT, size, MARGIN + index * step, y))
        y += size * 1.6
        self.rules.append(y)
        return y + 20

    def across(self, text: str, face, size: int, y: float) -> float:
        self.pieces.append(Piece(text, face, size, MARGIN, y))
        return y + size * 1.45

    def article(self, article: dict, y: float) -> float:
        if article.get("kicker"):
            y = self.across(article["kicker"], HEAD_FONT, 26, y)
        for line in headline_lines(article):
            y = self.across(line, HEAD_FONT, 40, y)
        if article.get("subtitle"):
            y = self.across(article["subtitle"], HEAD_FONT, 26, y)
        if article.get("byline") and not article.get("dateline"):
            y = self.across(article["byline"], BODY_FONT, 20, y + 4)
        y += 14
        body: list[tuple[str, tuple[str, int], int, float]] = []  # text, face, size, indent
        for number, (heading, text) in enumerate(paragraphs(article)):
            if heading:
                body.append((heading, HEAD_FONT, BODY, 0))
            printed = printed_first_paragraph(article) if number == 0 else text
            for k, line in enumerate(typeset(printed, CHARS_PER_LINE)):
                body.append((line, BODY_FONT, BODY, 2 * BODY if k == 0 else 0))
        if article.get("source"):
            body.append((f"（据{article['source']}）", BODY_FONT, BODY, 0))
        step = BODY * LEADING
        columns = COLUMNS
        photo_lines = 0
        if article.get("caption"):
            columns -= 1
            caption = typeset(article["caption"].replace(" ", "  "), self.column_width / 18, indent=0)
            photo_height = 7 * step
            left = MARGIN + (COLUMNS - 1) * (self.column_width + GUTTER)
            self.photos.append((left, y, left + self.column_width, y + photo_height))
            cy = y + photo_height + 10
            for line in caption:
                self.pieces.append(Piece(line, BODY_FONT, 18, left, cy))
                cy += 18 * 1.5
            photo_lines = int((cy - y) / step) + 1
        per_column = -(-len(body) // columns)
        for index, (text, face, size, indent) in enumerate(body):
            column, row = divmod(index, per_column)
            x = MARGIN + column * (self.column_width + GUTTER) + indent
            self.pieces.append(Piece(text, face, size, x, y + row * step))
        rows = max(per_column, photo_lines)
        y += rows * step + 10
        self.rules.append(y)
        return y + 26

    def image(self) -> Image.Image:
        image = Image.new("L", (PAGE_WIDTH, self.height), 255)
        draw = ImageDraw.Draw(image)
        for left, top, right, bottom in self.photos:
            draw.rectangle((left, top, right, bottom), fill=200)
            draw.ellipse((left + 40, top + 30, left + 120, top + 110), fill=170)
        for y in self.rules:
            draw.line((MARGIN, y, PAGE_WIDTH - MARGIN, y), fill=140, width=1)
        for piece in self.pieces:
            draw.text((piece.x, piece.y), piece.text, font=font(piece.face, piece.size), fill=0)
        return image

    def pdf(self, path: Path) -> None:
        from fpdf import FPDF

        points = 72 / DPI
        pdf = FPDF(unit="pt", format=(PAGE_WIDTH * points, self.height * points))
        pdf.set_auto_page_break(False)
        pdf.add_font("body", fname=BODY_FONT[0], collection_font_number=BODY_FONT[1])
        pdf.add_font("head", fname=HEAD_FONT[0], collection_font_number=HEAD_FONT[1])
        pdf.add_page()
        for left, top, right, bottom in self.photos:
            pdf.set_fill_color(200)
            pdf.rect(left * points, top * points, (right - left) * points, (bottom - top) * points, style="F")
        for piece in self.pieces:
            pdf.set_font("head" if piece.face == HEAD_FONT else "body", size=piece.size * points)
            pdf.text(piece.x * points, (piece.y + piece.size * 0.88) * points, piece.text)
        pdf.output(str(path))


def photo_like(image: Image.Image, seed: int = 7) -> Image.Image:
    """A phone photo of the page: slightly turned, a little soft, lit from one side, grainy."""
    rng = random.Random(seed)
    turned = image.rotate(1.2, resample=Image.BICUBIC, expand=True, fillcolor=235)
    soft = turned.filter(ImageFilter.GaussianBlur(0.7))
    width, height = soft.size
    light = Image.linear_gradient("L").rotate(90).resize((width, height))
    lit = Image.blend(soft, Image.eval(light, lambda v: 255 - v // 5), 0.25)
    pixels = lit.load()
    for y in range(height):
        for x in range(width):
            pixels[x, y] = max(0, min(255, int(pixels[x, y] + rng.gauss(0, 10))))
    return lit


def locked_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.text(20, 20, "locked")
    pdf.output(str(path))


def main() -> None:
    name = "linjiang-p5"
    page = Page(load_spec(name))
    image = page.image()
    image.save(PAGES / f"{name}.png", optimize=True)
    photo_like(image).save(PAGES / f"{name}-photo.jpg", quality=75, optimize=True)
    page.pdf(PAGES / f"{name}.pdf")
    locked_pdf(PAGES / "locked.pdf")
    for path in sorted(PAGES.glob(f"{name}*")) + [PAGES / "locked.pdf"]:
        print(f"{path.relative_to(PAGES.parent.parent.parent)}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
