"""The index query alone, replayed: what ``qabot ask`` asks the index for the bench's questions, timed apart.

    .venv/bin/python tests/replay_queries.py record SETTINGS CALLS.json
    .venv/bin/python tests/replay_queries.py replay SETTINGS CALLS.json [--rounds 3] [--oracle-floor]

``record`` answers the questions ``tests/profile_ask.py`` times (after its warm pass on as many others)
and writes each ``closest_combined`` call they make, with its result, as JSON lines. ``replay`` opens the
index, checks that every call gives the recorded documents and scores, then times each question's calls
on this process' CPU clock (the best of ``--rounds``) and counts the columns decoded whole. Run it from
two checkouts on one index, alternately, to compare their index queries without the answer pipeline's
noise. ``--oracle-floor`` hands the pruning the true k-th best score in place of the floor it works out
(``retrieval.index._true_floor``): what a perfect floor, found for free, would save. A measuring tool,
not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("record", "replay"))
    parser.add_argument("settings", type=Path)
    parser.add_argument("calls", type=Path)
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--oracle-floor", action="store_true")
    args = parser.parse_args()

    from bot.settings import load_settings
    from retrieval.store import IndexStore
    from retrieval.tokenizing import use_persistent_jieba_cache

    settings = load_settings(args.settings)
    use_persistent_jieba_cache(settings.index.cache_dir)
    store = IndexStore(Path(settings.index.cache_dir), settings.answer, workers=settings.index.workers, quiet=True)
    opened = store.open(settings.corpus.path, settings.corpus.max_file_bytes)
    if args.action == "record":
        record(opened, store, settings, args)
    else:
        replay(opened.index, args)
    return 0


def record(opened, store, settings, args) -> None:
    from retrieval.answer import Answerer
    from retrieval.index import BM25Index
    from retrieval.measure.bench import load_sources, timed_and_warming

    asked, warming = timed_and_warming(load_sources(ROOT.parent / "shared/data/cmrc2018/cmrc2018_trial.json").questions, args.questions)
    answerer = Answerer(opened.corpus, settings.answer, tokenizer=store.tokenizer, index=opened.index, documents=opened.documents)
    for question in warming:
        answerer.ask(question)
    original = BM25Index.closest_combined
    calls = []

    def recording(index, groups, k, base=None):
        found = original(index, groups, k, base)
        groups = [[[list(alternative), weight] for alternative, weight in group] for group in groups]
        calls.append({"question": number, "groups": groups, "k": k, "base": None if base is None else list(base), "found": found})
        return found

    BM25Index.closest_combined = recording
    for number, question in enumerate(asked):
        answerer.ask(question)
    BM25Index.closest_combined = original
    with open(args.calls, "w", encoding="utf-8") as out:
        for call in calls:
            out.write(json.dumps(call, ensure_ascii=False) + "\n")
    print(f"{len(calls)} calls of {len(asked)} questions written to {args.calls}")


def replay(index, args) -> None:
    import retrieval.index as module
    from retrieval.postings import Columns

    calls = [json.loads(line) for line in args.calls.read_text(encoding="utf-8").splitlines()]
    for call in calls:
        call["groups"] = [[(alternative, weight) for alternative, weight in group] for group in call["groups"]]
    oracle = [0.0]
    if args.oracle_floor:
        module._true_floor = lambda acc, parts, others, k: oracle[0]
    counted = [0, 0]
    column = Columns.column

    def counting(columns, term):
        counted[0] += 1
        counted[1] += int(columns.df[term])
        return column(columns, term)

    Columns.column = counting
    differ, best = 0, None
    for _ in range(args.rounds):
        spent: dict[int, float] = {}
        counted[:] = [0, 0]
        for call in calls:
            ids, scores = call["found"]
            # The k-th best score, less the margin pruning keeps: the highest floor that keeps the top k.
            oracle[0] = scores[-1] * (1 - 1e-9) if len(scores) >= call["k"] else 0.0
            started = time.process_time()
            found = index.closest_combined(call["groups"], call["k"], call["base"])
            spent[call["question"]] = spent.get(call["question"], 0.0) + time.process_time() - started
            differ += list(found[0]) != ids or list(found[1]) != scores
        times = [spent[q] for q in sorted(spent)]
        best = times if best is None else [min(a, b) for a, b in zip(best, times)]
    Columns.column = column
    cuts = statistics.quantiles(best, n=100, method="inclusive")
    print(
        f"{len(calls)} calls, {len(best)} questions, {differ} results differ; index query CPU, best of {args.rounds}: "
        f"mean {1000 * statistics.fmean(best):.3f} / p50 {1000 * cuts[49]:.3f} / p95 {1000 * cuts[94]:.3f} / "
        f"p99 {1000 * cuts[98]:.3f} ms; columns decoded whole {counted[0] / len(calls):.1f} a call, "
        f"{counted[1] / len(calls):,.0f} postings"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
