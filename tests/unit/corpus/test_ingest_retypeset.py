"""The ingest rules are general: the seed's four articles, typeset again as other pages, come back whole.

Each page sets the articles (as ingest wrote them) in a column 8 to 26 print columns wide, with
indented first lines, headlines above or below their body at random, blank lines at random and OCR
spaces at random, then ingests it and compares every title, subtitle, source, heading and paragraph.
Headlines and subheadings are printed on one line each, whatever the width: at 8 columns both reach
past the column, at 26 both fit inside it, so neither width alone tells them apart. A layout that
prints two bodies with neither a headline nor an attribution between them is skipped: nothing on the
page tells where one ends.
"""

from __future__ import annotations

import random

import pytest

from corpus.ingest import read_page_text
from bot.settings import PROJECT_ROOT
from corpus.loader import load_corpus
from corpus.model import Article
from pagemaker import ocr_spaced, typeset

SEED_ARTICLES = PROJECT_ROOT / "corpus" / "articles"


def page(articles: list[tuple[Article, str]], width: int, rng: random.Random) -> str:
    out: list[str] = []

    def emit(line: str) -> None:
        out.append(ocr_spaced(line, rng))
        if rng.random() < 0.6:
            out.append("")

    for article, place in articles:
        headline = [article.title] + ([article.subtitle] if article.subtitle else [])
        if place == "above":
            out.extend(headline)
        for paragraph in article.paragraphs:
            if paragraph.heading:
                out.append(paragraph.heading)
            for line in typeset(paragraph.text, width):
                emit(line)
        if article.source:
            out.append(f"（据{article.source}）")
        if place == "below":
            out.extend(headline)
        out.append("")
    return "\n".join(out) + "\n"


def shape(articles) -> list[tuple]:
    return [
        (a.title, a.subtitle, a.source, [(p.heading, p.text) for p in a.paragraphs]) for a in articles
    ]


def layouts() -> list[tuple[int, int]]:
    return [(width, seed) for width in range(8, 27) for seed in range(5)]


@pytest.fixture(scope="module")
def seed_articles() -> list[Article]:
    return list(load_corpus(SEED_ARTICLES).articles)


@pytest.mark.parametrize("width, seed", layouts())
def test_retypeset_seed_page_ingests_back(seed_articles: list[Article], width: int, seed: int):
    rng = random.Random(width * 100 + seed)
    placed = [(article, rng.choice(["above", "below"])) for article in seed_articles]
    for (before, place), (_, next_place) in zip(placed, placed[1:]):
        if place == "above" and next_place == "below" and not before.source:
            pytest.skip("two bodies with nothing printed between them")
    text = page(placed, width, rng)
    assert shape(read_page_text(text, "retypeset.txt")) == shape(article for article, _ in placed), text


def test_a_headline_that_fits_the_column_under_a_body_without_attribution_is_found():
    # Nothing but its words marks the first headline: it fits the column, has one line, and no
    # attribution follows the body above it. It restates that body's lede; a subheading would not.
    greening = [
        "近日，某市园林局召开城市绿化工作会议，总结去年全市植树造林和公园建设情况，部署今年植树造林任务。",
        "会议要求各区把城市绿化摆在更加突出的位置，抓紧落实苗木、资金和管护责任，确保按期完成全年任务。",
    ]
    relief = [
        "本周，某县民政局开展冬季困难群众救助活动，工作人员走访低保家庭两百户，逐户了解取暖和就医情况。",
        "活动还为独居老人送去了棉衣和米面油，并登记了需要上门照护的老人名单，以便及时提供帮助。",
    ]
    lines = [line for text in greening for line in typeset(text, 12)]
    lines += ["某市部署城市绿化工作"]
    lines += [line for text in relief for line in typeset(text, 12)]
    lines += ["（据某县民政局）", "某县开展冬季救助"]
    articles = read_page_text("\n".join(lines) + "\n", "mini.txt")
    assert [(a.title, a.source, [p.text for p in a.paragraphs]) for a in articles] == [
        ("某市部署城市绿化工作", None, greening),
        ("某县开展冬季救助", "某县民政局", relief),
    ]
