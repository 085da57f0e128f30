"""Whole questions timed in a fresh answering process, for ``qabot bench``:

    python -m bot.cli.ask_timing SETTINGS QUESTIONS.json

QUESTIONS.json holds ``{"warming": [...], "timed": [...]}``. The process opens the settings' persisted
index as ``qabot ask`` does, answers the warming questions, applies the answering processes'
garbage-collection policy (``bot.runtime.settle``), then answers each timed question and prints one
JSON object to standard output: each question's wall and CPU seconds. The bench's own process has
filled a token cache, built rank-bm25 and held its corpus by then; a fresh process holds only what a
running bot holds, so this is the figure a user meets. Not a command users run.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bot.runtime import load_answerer, settle
from bot.settings import load_settings


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    settings = load_settings(argv[0])
    questions = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    answerer = load_answerer(settings, quiet=True).answerer
    for question in questions["warming"]:
        answerer.ask(question)
    settle(settings)
    wall, cpu = [], []
    for question in questions["timed"]:
        started, started_cpu = time.perf_counter(), time.process_time()
        answerer.ask(question)
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    json.dump({"wall": wall, "cpu": cpu}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
