"""Score `qabot ingest` on folders of pages with expect files, as a new user would run it.

    .venv/bin/python tests/measure_pages.py DIR [DIR ...] [--details PAGE,...] [--json]

Each ``NAME.txt`` beside a ``NAME.expect.yaml`` (the format of ../shared/pages: ``articles`` with
title, subtitle and source, ``sentences``, ``questions``) is ingested by the real command
(``qabot ingest NAME.txt --out TMP``), the files are read back through the loader, and the page gets:

- **articles**: expected and found; how many expected titles came out exactly, how many of those
  carry the expected subtitle (a leading —— dropped) and source; ``exact`` when the sorted
  (title, subtitle, source) triples are equal;
- **sentences** (compared after NFKC with white space removed): how many stand inside one paragraph
  (``in para``) and how many are exactly one sentence unit of the sentence rule (``unit``);
- **leaks**: titles, headings and sentences that hold what a page prints besides its articles, told
  by its forms (责任编辑, 星期, 第N版, a page number, 本报讯, 本报记者, 通讯员, 新华社…电, （记者…）, 图为…,
  …摄）), unless an expected sentence holds the same; and paragraphs with no sentence end at all
  (a kicker or a header's piece taken for text);
- **questions**: ``qabot --corpus TMP eval`` over a file made of the page's ``questions``: answerable
  ones right, and ``answered: false`` ones refused.

``--details`` lists what went wrong on the named pages (or ``all``); without it only the figures are
printed, so pages kept for held-out measurement can be scored without looking at their failures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from corpus.loader import load_corpus  # noqa: E402

# Forms of page furniture, bylines, datelines and captions: none is any page's string.
LEAK_FORMS = {
    "header/footer": re.compile(r"责任编辑|星期[一二三四五六日天]|第\d+版|^[-—\s]*\d{1,3}[-—\s]*$"),
    "byline": re.compile(r"本报记者|通讯员|^记者[\u4e00-\u9fff]{2,3}(?:$|[^\u4e00-\u9fff])|[（(]记者"),
    "dateline": re.compile(r"^本报讯|^本报[\u4e00-\u9fff]{2,6}\d{1,2}月\d{1,2}日电|^(?:新华社|中新社)[^，。]{0,12}电"),
    "caption": re.compile(r"^图为|摄[）)]?$"),
}
_SENTENCE_END = re.compile(r"[。！？!?…]")


def normal(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def qabot() -> list[str]:
    script = Path(sys.executable).with_name("qabot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


@dataclass
class PageScore:
    page: str
    articles_expected: int = 0
    articles_found: int = 0
    titles_right: int = 0
    subtitles_right: int = 0
    sources_right: int = 0
    exact: bool = False
    sentences: int = 0
    in_paragraph: int = 0
    as_unit: int = 0
    leaks: int = 0
    fragments: int = 0
    answerable: int = 0
    answered_right: int = 0
    near_misses: int = 0
    refused: int = 0
    problems: list[str] = field(default_factory=list)


def _triple(article: dict) -> tuple:
    subtitle = article.get("subtitle")
    return article["title"], subtitle.lstrip("—－- ") if subtitle else None, article.get("source")


def score_page(page: Path, work: Path) -> PageScore:
    expect = yaml.safe_load(page.with_name(page.stem + ".expect.yaml").read_text(encoding="utf-8"))
    result = PageScore(page.stem)
    out = work / page.stem
    env = {k: v for k, v in os.environ.items() if k != "QABOT_SETTINGS"}
    run = subprocess.run([*qabot(), "-q", "ingest", str(page), "--out", str(out)], capture_output=True, text=True, env=env)
    if run.returncode != 0:
        result.problems.append(f"ingest failed: {run.stderr.strip()}")
        return result
    corpus = load_corpus(out)
    want = [_triple(a) for a in expect["articles"]]
    got = [(a.title, (a.subtitle or "").lstrip("—－- ") or None, a.source) for a in corpus.articles]
    result.articles_expected, result.articles_found = len(want), len(got)
    result.exact = sorted(want, key=str) == sorted(got, key=str)
    by_title = {title: (subtitle, source) for title, subtitle, source in got}
    for title, subtitle, source in want:
        if title not in by_title:
            result.problems.append(f"title missing: {title}")
            continue
        result.titles_right += 1
        got_subtitle, got_source = by_title[title]
        result.subtitles_right += got_subtitle == subtitle
        result.sources_right += got_source == source
        if got_subtitle != subtitle:
            result.problems.append(f"subtitle of {title}: {got_subtitle!r}, want {subtitle!r}")
        if got_source != source:
            result.problems.append(f"source of {title}: {got_source!r}, want {source!r}")
    for title, _, _ in got:
        if title not in {t for t, _, _ in want}:
            result.problems.append(f"title not expected: {title}")

    paragraphs = [p for _, p in corpus.paragraphs()]
    texts = [normal(p.text) for p in paragraphs]
    units = {normal(s) for p in paragraphs for s in p.sentences}
    expected_sentences = [normal(s) for s in expect.get("sentences") or []]
    result.sentences = len(expected_sentences)
    for sentence in expected_sentences:
        inside = any(sentence in text for text in texts)
        result.in_paragraph += inside
        result.as_unit += sentence in units
        if sentence not in units:
            result.problems.append(f"sentence {'split into units' if inside else 'not whole in a paragraph'}: {sentence}")

    pieces = [("title", a.title) for a in corpus.articles]
    pieces += [("subtitle", a.subtitle) for a in corpus.articles if a.subtitle]
    pieces += [("heading", p.heading) for p in paragraphs if p.heading]
    pieces += [("sentence", s) for p in paragraphs for s in p.sentences]
    for where, piece in pieces:
        text = normal(piece)
        for kind, form in LEAK_FORMS.items():
            match = form.search(text)
            if match and not any(match.group(0) in s for s in expected_sentences if text in s or s in text):
                result.leaks += 1
                result.problems.append(f"{kind} in a {where}: {piece}")
    for paragraph in paragraphs:
        if not _SENTENCE_END.search(paragraph.text):
            result.fragments += 1
            result.problems.append(f"a paragraph with no sentence end: {paragraph.text}")

    questions = expect.get("questions") or []
    result.answerable = sum(1 for q in questions if q.get("answered", True))
    result.near_misses = len(questions) - result.answerable
    if questions:
        file = work / f"{page.stem}.questions.yaml"
        file.write_text(yaml.safe_dump(questions, allow_unicode=True), encoding="utf-8")
        settings = work / "settings.yaml"
        settings.write_text(f"index:\n  cache_dir: {work / 'cache'}\n", encoding="utf-8")
        run = subprocess.run(
            [*qabot(), "-q", "--settings", str(settings), "--corpus", str(out), "eval", str(file), "--json", "--no-baseline", "--show-failures"],
            capture_output=True, text=True, env=env,
        )
        lines = run.stdout.splitlines()
        report = next((json.loads(line) for line in lines if line.startswith("{")), None)
        if report is None:
            result.problems.append(f"eval failed: {run.stderr.strip()}")
        else:
            groups = report["groups"]
            result.answered_right = sum(g["right"] for name, g in groups.items() if name != "no-answer")
            result.refused = groups.get("no-answer", {}).get("right", 0)
            result.problems += [f"question {line[6:]}" for line in lines if line.startswith("WRONG")]
    return result


def pages_in(folders: list[Path]) -> list[Path]:
    found = []
    for folder in folders:
        found += [p for p in sorted(folder.glob("*.txt")) if p.with_name(p.stem + ".expect.yaml").exists()]
    return found


def table(scores: list[PageScore]) -> str:
    rows = [
        "| page | articles found/expected | titles | subtitles | sources | exact | sentences in para | as one unit | leaks | fragments | questions right | near misses refused |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        rows.append(
            f"| {s.page} | {s.articles_found}/{s.articles_expected} | {s.titles_right}/{s.articles_expected} "
            f"| {s.subtitles_right}/{s.titles_right} | {s.sources_right}/{s.titles_right} | {'yes' if s.exact else 'no'} "
            f"| {s.in_paragraph}/{s.sentences} | {s.as_unit}/{s.sentences} | {s.leaks} | {s.fragments} "
            f"| {s.answered_right}/{s.answerable} | {s.refused}/{s.near_misses} |"
        )
    total = PageScore("total")
    for s in scores:
        for name in ("articles_expected", "articles_found", "titles_right", "subtitles_right", "sources_right", "sentences",
                     "in_paragraph", "as_unit", "leaks", "fragments", "answerable", "answered_right", "near_misses", "refused"):
            setattr(total, name, getattr(total, name) + getattr(s, name))
    exact = sum(s.exact for s in scores)
    rows.append(
        f"| **total** | {total.articles_found}/{total.articles_expected} | {total.titles_right}/{total.articles_expected} "
        f"| {total.subtitles_right}/{total.titles_right} | {total.sources_right}/{total.titles_right} | {exact}/{len(scores)} pages "
        f"| {total.in_paragraph}/{total.sentences} | {total.as_unit}/{total.sentences} | {total.leaks} | {total.fragments} "
        f"| {total.answered_right}/{total.answerable} | {total.refused}/{total.near_misses} |"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders of NAME.txt + NAME.expect.yaml")
    parser.add_argument("--only", default="", help="comma-separated page names to score (default: all)")
    parser.add_argument("--details", default="", help="comma-separated page names (or 'all') whose failures to list")
    parser.add_argument("--json", action="store_true", help="one JSON object per page")
    args = parser.parse_args(argv)
    pages = pages_in(args.folders)
    if args.only:
        wanted = set(args.only.split(","))
        pages = [p for p in pages if p.stem in wanted]
    if not pages:
        parser.error("no NAME.txt with a NAME.expect.yaml beside it in the folders given")
    detailed = set(args.details.split(",")) if args.details else set()
    with tempfile.TemporaryDirectory(prefix="measure-pages-") as work:
        scores = [score_page(page, Path(work)) for page in pages]
    if args.json:
        for s in scores:
            print(json.dumps({k: v for k, v in asdict(s).items() if k != "problems"}, ensure_ascii=False))
    else:
        print(table(scores))
    for s in scores:
        if ("all" in detailed or s.page in detailed) and s.problems:
            print(f"\n{s.page}:")
            for problem in s.problems:
                print(f"  {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
