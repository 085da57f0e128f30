"""Where whole-question ``ask`` time goes, on a persisted bench corpus (``qabot bench`` writes them):

    .venv/bin/python tests/profile_ask.py .cache/index/bench/100000/settings.yaml [--cprofile] [--dump F]

Opens the index as ``qabot bench`` does, asks as many other CMRC questions to warm up (as ``qabot bench``
does; ``--warm-on-same`` warms on the timed questions themselves, as both did before, which lets the
in-process caches hold every sentence a timed question reads), then times each question with the main
stages wrapped in timers: tokenizing the question (its terms and
its index tokens), the index query, reading the stored corpus, and the rest of the answer pipeline
(sentence candidates and their features, ranking, near-miss checks, highlighting, alternatives).
Stages nest (the index query runs inside the candidates' stage): each is reported inclusive, and the
answer pipeline's own share is what is left of ``ask`` after the others. ``--dump`` writes the answers
(JSON lines) to compare runs; ``--times`` each question's time and its stages' (JSON lines, ms), the list
to read the slowest questions from. Besides ``ask``'s percentiles it prints those of each question's time
outside the index query. The garbage-collection policy of the processes that answer
(``bot.runtime.settle``, setting ``index.freeze_loaded``) is applied once warm, as ``qabot bench`` does;
the collector's own time is a stage of its own. A measuring tool, not a test.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import json
import os
import pstats
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("settings", type=Path)
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--cprofile", action="store_true", help="also print cProfile's top functions")
    parser.add_argument("--dump", type=Path, help="write every answer here (JSON lines)")
    parser.add_argument("--times", type=Path, help="write each question's time and its stages' here (JSON lines, ms)")
    parser.add_argument("--cpu", action="store_true", help="time on this process' CPU clock instead of the wall clock: "
                        "steadier on a machine other jobs share")
    parser.add_argument("--warm-on-same", action="store_true", help="warm up on the timed questions themselves (the old, kinder measure)")
    parser.add_argument("--settle-before-warm", action="store_true", help="apply the garbage-collection policy before the warm "
                        "questions, as a bot settles on start and then serves, instead of once they are asked")
    args = parser.parse_args()

    from bot.runtime import settle
    from bot.settings import load_settings
    from corpus.stored import StoredCorpus
    from retrieval.answer import Answerer
    from retrieval.index import BM25Index
    from retrieval.measure.bench import load_sources, timed_and_warming
    from retrieval.store import IndexStore
    from retrieval.tokenize import Tokenizer
    from retrieval.tokenizing import use_persistent_jieba_cache

    settings = load_settings(args.settings)
    use_persistent_jieba_cache(settings.index.cache_dir)
    store = IndexStore(Path(settings.index.cache_dir), settings.answer, workers=settings.index.workers, quiet=True)
    opened = store.open(settings.corpus.path, settings.corpus.max_file_bytes)
    sources = load_sources(ROOT.parent / "shared/data/cmrc2018/cmrc2018_trial.json")
    asked, warming = timed_and_warming(sources.questions, args.questions)
    clock = time.process_time if args.cpu else time.perf_counter
    spent: dict[str, float] = defaultdict(float)
    depth = {"corpus": 0}

    def timer(name: str, function):
        @functools.wraps(function)
        def timed(*a, **k):
            started = clock()
            try:
                return function(*a, **k)
            finally:
                spent[name] += clock() - started

        return timed

    def outermost(name: str, function):
        # Corpus reads call one another (an article read inside a paragraph read): count the outer call.
        @functools.wraps(function)
        def timed(*a, **k):
            depth[name] += 1
            started = clock()
            try:
                return function(*a, **k)
            finally:
                depth[name] -= 1
                if depth[name] == 0:
                    spent[name] += clock() - started

        return timed

    patches = [
        (Tokenizer, "tokens", "tokenize"),
        (Answerer, "query_terms", "question terms"),
        (BM25Index, "closest_combined", "index query"),
        (Answerer, "_closest", "closest paragraphs"),
        (Answerer, "sentence_candidates", "candidates+features"),
        (Answerer, "_holding_the_answer", "near-miss checks"),
        (Answerer, "highlight", "highlight"),
        (Answerer, "_alternatives", "alternatives"),
        (Answerer, "coverage", "coverage"),
        (Answerer, "_corrected", "typo correction"),
    ]
    saved = []
    for owner, attribute, name in patches:
        saved.append((owner, attribute, getattr(owner, attribute)))
        setattr(owner, attribute, timer(name, getattr(owner, attribute)))
    for attribute in ("__getitem__", "article", "article_paragraphs"):
        saved.append((StoredCorpus, attribute, getattr(StoredCorpus, attribute)))
        setattr(StoredCorpus, attribute, outermost("corpus", getattr(StoredCorpus, attribute)))

    # Built after the corpus reads are wrapped: the answerer keeps the read method it is given (its
    # decoded-paragraph cache wraps it), so one built before would read around the timer.
    answerer = Answerer(opened.corpus, settings.answer, tokenizer=store.tokenizer, index=opened.index, documents=opened.documents)
    if args.settle_before_warm:
        settle(settings)
    for question in asked if args.warm_on_same else warming:
        answerer.ask(question)  # warm: page cache, jieba, the vocabulary, as a running bot has them
    if not args.settle_before_warm:
        settle(settings)  # the policy of the processes that answer (index.freeze_loaded), once warm
    spent.clear()
    collections: dict[int, int] = defaultdict(int)
    longest: dict[int, float] = defaultdict(float)
    collecting = {"started": 0.0}

    def collector(phase: str, info: dict) -> None:
        if phase == "start":
            collecting["started"] = clock()
        else:
            pause = clock() - collecting["started"]
            spent["garbage collector"] += pause
            collections[info["generation"]] += 1
            longest[info["generation"]] = max(longest[info["generation"]], pause)

    gc.callbacks.append(collector)

    profiler = cProfile.Profile() if args.cprofile else None
    times, answers, stages = [], [], []
    for question in asked:
        before = dict(spent)
        if profiler:
            profiler.enable()
        started = clock()
        answers.append(answerer.ask(question))
        times.append(clock() - started)
        if profiler:
            profiler.disable()
        stages.append({name: seconds - before.get(name, 0.0) for name, seconds in spent.items() if seconds != before.get(name, 0.0)})
    for owner, attribute, original in saved:
        setattr(owner, attribute, original)
    gc.callbacks.remove(collector)

    total = sum(times)
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    print(f"{len(asked)} questions, {'CPU' if args.cpu else 'wall'} time, load average {os.getloadavg()[0]:.1f}: ask p50 {cuts[49]*1000:.2f} / p95 {cuts[94]*1000:.2f} / p99 {cuts[98]*1000:.2f} ms, total {total:.2f} s")
    # Each question's own time outside the index query: ask's p50 less the query's p50 is not it (the
    # two are different questions' times), and only this says what the answering around the index costs.
    outside = statistics.quantiles([t - s.get("index query", 0.0) for t, s in zip(times, stages)], n=100, method="inclusive")
    print(f"  outside the index query, a question: p50 {outside[49]*1000:.2f} / p95 {outside[94]*1000:.2f} / p99 {outside[98]*1000:.2f} ms, "
          f"mean {1000 * (total - spent['index query']) / len(asked):.2f} ms")
    pauses = ", ".join(f"{g}: {1000 * longest[g]:.1f}" for g in sorted(longest))
    print(f"  collections by generation {dict(sorted(collections.items()))} (the longest, ms: {pauses}), {gc.get_freeze_count():,} objects frozen, "
          f"{len(gc.get_objects()):,} tracked, freeze_loaded {settings.index.freeze_loaded}")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<22} {seconds:7.3f} s  {100 * seconds / total:5.1f}%  ({1000 * seconds / len(asked):.2f} ms a question)")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
    if args.times:
        with open(args.times, "w", encoding="utf-8") as out:
            for question, seconds, split in zip(asked, times, stages):
                row = {"question": question, "ask": round(1000 * seconds, 3), **{k: round(1000 * v, 3) for k, v in split.items()}}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.dump:
        from tests.dump_answers import _plain

        with open(args.dump, "w", encoding="utf-8") as out:
            for answer in answers:
                out.write(json.dumps(_plain(answer), ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
