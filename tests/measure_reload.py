"""How long the bot's ``/reload`` takes after one article file changed, measured through the bot's own
``load_library`` while a thread keeps asking the old library questions (as users would):

    .venv/bin/python tests/measure_reload.py SETTINGS [--runs 3]

SETTINGS names a corpus of JSONL article files (a ``qabot bench`` corpus: copy one, this tool changes a
file of it) and an index cache. Each run appends one article to the corpus' first file (a DRCD article
picked at random, new text with new words; ``--copy``: a copy of the file's first article), then times
``load_library(settings, previous=old)`` from its start to the new library's first answer, with its
stages: the index update in the child process (with the child's CPU time, which a busy machine does
not inflate as it does the wall time), opening the new index, checking the example questions.
The change is taken out again afterwards (and the index brought back up to date, untimed). Prints the
questions the old library answered meanwhile and the slowest of them. A measuring tool, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def new_articles(path: Path) -> list[tuple[str, list[str]]]:
    """The articles of a SQuAD-format file as (title, paragraphs): DRCD's Traditional Wikipedia text,
    which the bench corpora (CMRC and the seed page) do not hold."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [(a["title"], [p["context"] for p in a["paragraphs"]]) for a in data]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("settings", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--copy", action="store_true", help="append a copy of the file's first article (text the token "
                        "cache holds, no new words) instead of a DRCD article picked at random")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))

    import bot.telegram.library as library_module
    from bot.settings import load_settings
    from retrieval.measure.bench import load_sources

    settings = load_settings(args.settings)
    files = sorted(p for p in Path(settings.corpus.path).iterdir() if p.suffix == ".jsonl")
    if not files:
        print(f"{settings.corpus.path}: no .jsonl article files", file=sys.stderr)
        return 2
    changed = files[0]
    original = changed.read_bytes()
    questions = list(load_sources(ROOT.parent / "shared/data/cmrc2018/cmrc2018_trial.json").questions[:200])

    stages: dict[str, float] = {}

    def timed(name, function):
        def wrapper(*a, **k):
            started = time.perf_counter()
            try:
                return function(*a, **k)
            finally:
                stages[name] = stages.get(name, 0.0) + time.perf_counter() - started
        return wrapper

    library_module.build_in_child = timed("index update (child process)", library_module.build_in_child)
    library_module.load_answerer = timed("open the new index", library_module.load_answerer)
    library_module.still_answered = timed("example questions", library_module.still_answered)

    old = library_module.load_library(settings)
    print(f"{old.paragraph_count:,} paragraphs; changing {changed.name}; load average {os.getloadavg()[0]:.1f}")
    article = json.loads(original.splitlines()[0])
    new_texts = [] if args.copy else new_articles(ROOT.parent / "shared/data/drcd/DRCD_dev.json")
    for run in range(1, args.runs + 1):
        stages.clear()
        article["id"] = f"reload-{run}-{time.time_ns()}"
        if new_texts:
            # Text no build has seen, with words the corpus lacks: its paragraphs are tokenized and its
            # new terms written, as an article a user adds is.
            article["title"], article["paragraphs"] = new_texts[random.Random(time.time_ns()).randrange(len(new_texts))]
        else:
            article["title"] = f"{article.get('title', '')} ({run})"
        changed.write_bytes(original + (json.dumps(article, ensure_ascii=False) + "\n").encode("utf-8"))
        stop, latencies = threading.Event(), []

        def keep_asking(library=old):
            i = 0
            while not stop.is_set():
                started = time.perf_counter()
                library.answerer.ask(questions[i % len(questions)])
                latencies.append(time.perf_counter() - started)
                i += 1

        asker = threading.Thread(target=keep_asking, daemon=True)
        asker.start()
        children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        new = library_module.load_library(settings, previous=old)
        new.answerer.ask(questions[0])
        seconds = time.perf_counter() - started
        stop.set()
        asker.join()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu = children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
        parts = ", ".join(f"{name} {value:.2f} s" for name, value in stages.items())
        slowest = max(latencies) * 1000 if latencies else 0.0
        print(f"run {run}: the new library answered {seconds:.2f} s after /reload began ({parts}; "
              f"the child's CPU time {child_cpu:.2f} s); "
              f"the old one answered {len(latencies)} questions meanwhile, median {statistics.median(latencies) * 1000 if latencies else 0:.0f} ms, "
              f"slowest {slowest:.0f} ms; load average {os.getloadavg()[0]:.1f}")
        old = new
    changed.write_bytes(original)
    library_module.load_library(settings)  # back up to date, untimed
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
