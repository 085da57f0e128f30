"""Dump every answer of the evaluation sets, field by field, to compare the answer pipeline before and
after a change that must not change answers (a speed-up, a smaller index).

    .venv/bin/python tests/dump_answers.py before.jsonl          # write the dump
    .venv/bin/python tests/dump_answers.py after.jsonl --compare before.jsonl

Each line is one question's ``Answer`` (every field, floats as ``repr``) under the set's name. The
sets: the CMRC 2018 trial and DRCD dev (SQuAD-format, a corpus built in memory from their contexts,
as ``qabot eval`` reads them), and the question files (``../shared/questions``, ``tests/data``)
against the project's own articles, follow-ups asked after their first question. ``--compare`` prints
the differing answers and exits 1 when any differs. Not a test: it takes a few minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
READING_SETS = (SHARED / "data/cmrc2018/cmrc2018_trial.json", SHARED / "data/drcd/DRCD_dev.json")
QUESTION_FILES = (SHARED / "questions/seed-dev.yaml", SHARED / "questions/followups-dev.yaml", ROOT / "tests/data/seed_questions.yaml")


def _plain(value):
    """The answer as JSON-able data, floats exact."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    return value


def dump(out_path: Path, limit: int | None) -> int:
    from bot.runtime import load_answerer
    from bot.settings import load_settings
    from retrieval.answer import Answerer
    from retrieval.measure.evaluate import load_questions
    from retrieval.measure.reading import load_reading_set

    settings = load_settings()
    count = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for path in READING_SETS:
            reading = load_reading_set(path).first(limit)
            answerer = Answerer(reading.corpus, settings.answer)
            started = time.perf_counter()
            for n, question in enumerate(reading.questions):
                answer = answerer.ask(question.question)
                out.write(json.dumps({"set": path.name, "n": n, "answer": _plain(answer)}, ensure_ascii=False) + "\n")
                count += 1
            print(f"{path.name}: {len(reading.questions)} questions in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        # The garbage-collection policy of `qabot ask`, so the answers compared are the ones it gives.
        answerer = load_answerer(settings, quiet=True, settled=True).answerer
        for path in QUESTION_FILES:
            questions = load_questions(path)[:limit]
            for n, question in enumerate(questions):
                answer = answerer.ask(question.q, after=question.after)
                out.write(json.dumps({"set": path.name, "n": n, "answer": _plain(answer)}, ensure_ascii=False) + "\n")
                count += 1
            print(f"{path.name}: {len(questions)} questions", file=sys.stderr)
    return count


def compare(ours: Path, theirs: Path) -> int:
    """Lines that differ, with the fields that differ; exit status 1 when any does."""
    a = ours.read_text(encoding="utf-8").splitlines()
    b = theirs.read_text(encoding="utf-8").splitlines()
    differ = 0
    if len(a) != len(b):
        print(f"{len(a)} answers against {len(b)}")
        differ += 1
    for left, right in zip(a, b):
        if left == right:
            continue
        differ += 1
        x, y = json.loads(left), json.loads(right)
        fields = [k for k in x["answer"] if x["answer"].get(k) != y["answer"].get(k)]
        print(f"{x['set']} #{x['n']} {x['answer']['question']}: {', '.join(fields)}")
    print(f"{min(len(a), len(b))} answers compared, {differ} differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the dump to write (JSON lines)")
    parser.add_argument("--compare", type=Path, metavar="DUMP", help="an earlier dump to compare with")
    parser.add_argument("--limit", type=int, help="only the first N questions of each set")
    args = parser.parse_args()
    count = dump(args.out, args.limit)
    print(f"{count} answers written to {args.out}", file=sys.stderr)
    return compare(args.out, args.compare) if args.compare else 0


if __name__ == "__main__":
    sys.exit(main())
