"""Figures for the README: how long `ask` takes on the bundled corpus with each sentence ranker.

    .venv/bin/python tests/measure_ranker_speed.py

Loads the bundled corpus and its index once, asks every question of `../shared/questions/seed-dev.yaml`
and `tests/data/seed_questions.yaml` once to warm the caches, then three times with each ranker, the
rankers taking turns in one process so that both see the same machine load. Prints p50 and p95 per
ranker: compare them with each other, not with another run.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.runtime import load_answerer  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from retrieval.ranker import cached_ranker  # noqa: E402

QUESTION_FILES = (ROOT.parent / "shared" / "questions" / "seed-dev.yaml", ROOT / "tests" / "data" / "seed_questions.yaml")
RANKERS = ("sentence_ranker.json", "sentence_ranker_linear.json")


def questions() -> list[str]:
    found = []
    for path in QUESTION_FILES:
        if not path.is_file():
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        entries = data if isinstance(data, list) else data.get("questions", [])
        found.extend(e["q"] for e in entries if isinstance(e, dict) and isinstance(e.get("q"), str))
    return found


def main() -> None:
    answerer = load_answerer(load_settings(), quiet=True, warm=True).answerer
    asked = questions()
    for question in asked:
        answerer.ask(question)
    times: dict[str, list[float]] = {name: [] for name in RANKERS}
    for _ in range(3):
        for name in RANKERS:
            answerer.ranker = cached_ranker(name)
            for question in asked:
                started = time.perf_counter()
                answerer.ask(question)
                times[name].append((time.perf_counter() - started) * 1000)
    for name, values in times.items():
        values.sort()
        print(f"{name}: {len(asked)} questions x 3, ask p50 {statistics.median(values):.2f} ms, p95 {values[int(len(values) * 0.95)]:.2f} ms")


if __name__ == "__main__":
    main()
