"""``qabot bench``: what a user meets, measured beside rank-bm25 on generated corpora.

A benchmark, not a test. Each corpus is generated with a fixed seed: paragraphs of 3-8 real sentences
sampled from the CMRC 2018 trial contexts and the seed newspaper page, ten paragraphs an article,
written as JSONL article files. The questions timed are the CMRC trial questions. For each size:

- the index is built by a fresh ``qabot index --force`` process, whose peak RSS is recorded;
- a fresh ``qabot ask`` process answers one question from the persisted index: its wall time from
  start to exit and its peak RSS are what a user waits for and pays. It runs FRESH_RUNS times,
  alternating with a bare Python process that only imports numpy and jieba, and the fastest of each
  is kept: their ratio says what our start-up adds, whatever the machine's load;
- in this process, the index queries of the questions are timed beside rank-bm25's (and their top-10
  compared);
- the whole questions are timed in a fresh answering process (``bot.cli.ask_timing``), which opens the
  persisted index as ``qabot ask`` does and warms on as many other questions first: what a user meets.
  They are then timed again in this process, which has filled the token cache, built the index's
  reference and held the corpus by then, so the two rows side by side show what that process' state
  adds;
- one article file is added and the index brought up to date as ``/reload`` does it: by a fresh
  ``qabot index`` process (the bot's child), after which this process reopens the index and answers
  the next question; the time is from the start of the update to that answer.

Every figure of one size comes from the same run, so ratios compare like with like on a busy machine.
Corpora of ``KEEP_TOKENS_FROM`` paragraphs and more keep their files and token cache between runs
(tokenizing a million paragraphs and their passages cold takes about 1.5 hours of two cores); the index
itself is rebuilt. Their token cache is filled from the words of each unique sentence, cut once
(``retrieval.measure.bench_tokens``), which gives what jieba gives document by document, so the build
they time finds every token cached, and the table says so.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import yaml

from corpus.model import Article, Corpus, Paragraph
from retrieval.answer import Answerer
from retrieval.index import best_of
from retrieval.measure.bench_tokens import Filled, fill_token_cache
from retrieval.store import IndexStore
from retrieval.tokenize import Tokenizer
from retrieval.tokenizing import tokenizing_pool, use_persistent_jieba_cache, worker_count, worker_tokens

SEED = 2018
PARAGRAPHS_PER_ARTICLE = 10
ARTICLES_PER_FILE = 1000
KEEP_TOKENS_FROM = 100_000
# rank-bm25 takes seconds per question at a million paragraphs, so above this size it is timed on a sample.
REFERENCE_SAMPLED_ABOVE = 200_000
# rank-bm25 keeps a dict of term frequencies per document: at a million paragraphs (3.29 million documents
# with their passages) it had reached 17.9 GB, still growing by 1 GB a minute, when it was stopped: 7 KB a
# document is a guess on the safe side. Built only where the machine has room for it at this rate (with
# a quarter to spare); elsewhere its rows say why not.
REFERENCE_BYTES_PER_DOCUMENT = 7_000
# Fresh processes are timed this many times each, alternating, and the fastest kept: on a shared machine
# the fastest is the one least disturbed, and alternating exposes both kinds to the same load.
FRESH_RUNS = 3
# The floor a fresh process pays before it does anything of ours: Python with numpy and jieba imported.
BARE_PROCESS = ("-c", "import numpy, jieba")
RATE_SAMPLE = 2000  # paragraphs tokenized on one and on two processes to compare rates
_EXTRA_FILE = "bench-extra.jsonl"  # the article added to time an update
_COMPLETE = ".complete"  # written once every corpus file is, with the size and seed
# The folder that holds the packages: a fresh process started there runs this very code.
_PACKAGES_ROOT = Path(__file__).resolve().parents[2]


class BenchError(Exception):
    """The benchmark cannot run (a missing source file); the message says what to do."""


@dataclass(frozen=True)
class Sources:
    sentences: tuple[str, ...]
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Timings:
    p50_ms: float
    p95_ms: float
    p99_ms: float
    count: int


@dataclass(frozen=True)
class Process:
    """A fresh process, measured from outside: wall time from start to exit, and its peak RSS (the
    largest of it and the children it waited for)."""

    seconds: float
    peak_rss: int
    output: str


@dataclass(frozen=True)
class SizeResult:
    size: int
    build: Process
    bare: Process  # the fastest of FRESH_RUNS bare Python processes (BARE_PROCESS)
    tokenized: int  # documents tokenized by the build; the others were in the token cache
    rate_one: float  # paragraphs a second, tokenizing on one process
    rate_two: float  # on two processes
    index_bytes: int  # the index arrays and term table
    corpus_bytes: int  # the stored corpus beside them
    first_answer: Process  # the fastest of FRESH_RUNS fresh `qabot ask` processes
    first_answer_slowest: float
    ours: Timings
    reference: Timings | None  # None: rank-bm25 was not built (``reference_skipped`` says why)
    reference_sampled: bool
    same_top10: int
    ask: Timings  # whole questions in this process
    ask_cpu: Timings  # the same questions on this process' CPU clock: what other jobs on the machine add is left out
    ask_fresh: Timings  # whole questions in a fresh answering process (``bot.cli.ask_timing``)
    ask_fresh_cpu: Timings
    reindex_seconds: float
    reindex_tokenized: int
    reference_skipped: str = ""
    filled: Filled | None = None  # how the token cache was filled before the build, if it was


def available_memory() -> int | None:
    """Bytes the kernel says can be given to a new allocation without swapping (Linux), else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def reference_room(documents: int, available: int | None) -> str:
    """Why rank-bm25 cannot be built over ``documents`` here ("" when it can).

    >>> reference_room(30_000, 8 * 10**9)
    ''
    >>> reference_room(3_289_535, 18 * 10**9)
    'rank-bm25 not built: it needs about 23.0 GB here (7 KB a document), 18.0 GB available'
    """
    needed = documents * REFERENCE_BYTES_PER_DOCUMENT
    if available is None or needed * 1.25 <= available:
        return ""
    return f"rank-bm25 not built: it needs about {needed / 1e9:.1f} GB here ({REFERENCE_BYTES_PER_DOCUMENT // 1000} KB a document), {available / 1e9:.1f} GB available"


def load_sources(cmrc_path: Path, seed_page: Path | None = None) -> Sources:
    """Sentences of the CMRC trial contexts and of the seed page (if given), and the CMRC questions."""
    from corpus.text import join_lines
    from retrieval.measure.evaluate import load_cmrc, split_sentences

    if not cmrc_path.is_file():
        raise BenchError(
            f"CMRC 2018 trial file not found at {cmrc_path}: pass --cmrc FILE "
            "(the SQuAD-format cmrc2018_trial.json from https://github.com/ymcui/cmrc2018)"
        )
    try:
        cmrc, questions = load_cmrc(cmrc_path)
    except (ValueError, KeyError, TypeError) as exc:
        raise BenchError(f"{cmrc_path}: not a CMRC 2018 SQuAD-format file ({exc})") from None
    sentences = [s for _, paragraph in cmrc.paragraphs() for s in paragraph.sentences]
    if seed_page is not None and seed_page.is_file():
        sentences += split_sentences(join_lines(seed_page.read_text(encoding="utf-8").splitlines()))
    # Fragments (a lone closing quote, a heading) would make paragraphs shorter than real ones.
    kept = tuple(dict.fromkeys(s.strip() for s in sentences if len(s.strip()) >= 8))
    return Sources(kept, tuple(q.question for q in questions))


def generate_articles(size: int, sentences: Sequence[str], seed: int, first_article: int = 0) -> Iterator[Article]:
    """``size`` paragraphs of 3-8 sampled sentences, ten to an article, the same for the same seed."""
    rng = random.Random(seed)
    for number, start in enumerate(range(0, size, PARAGRAPHS_PER_ARTICLE), start=first_article):
        article_id = f"bench-{number}"
        paragraphs = []
        for position in range(min(PARAGRAPHS_PER_ARTICLE, size - start)):
            chosen = tuple(rng.sample(sentences, rng.randint(3, 8)))
            paragraphs.append(Paragraph(article_id, position, None, "".join(chosen), chosen))
        yield Article(article_id, paragraphs[0].sentences[0][:30], tuple(paragraphs))


def generate_corpus(size: int, sentences: Sequence[str], seed: int, first_article: int = 0) -> Corpus:
    """The corpus of ``generate_articles``, in memory."""
    return Corpus(tuple(generate_articles(size, sentences, seed, first_article)))


def write_articles(articles: Iterator[Article], path: Path) -> None:
    """Articles as one JSONL file, as a user would bring them."""
    temporary = path.with_suffix(".part")
    with open(temporary, "w", encoding="utf-8") as out:
        for article in articles:
            record = {"id": article.id, "title": article.title, "paragraphs": [p.text for p in article.paragraphs]}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(temporary, path)


def write_corpus(size: int, sentences: Sequence[str], folder: Path) -> None:
    """The generated corpus of ``size`` paragraphs as JSONL files of a thousand articles, unless a
    complete one is there already."""
    stamp = f"{size} {SEED + size} {len(sentences)}"
    if (folder / _COMPLETE).is_file() and (folder / _COMPLETE).read_text(encoding="utf-8") == stamp:
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    articles = generate_articles(size, sentences, SEED + size)
    for number in range(0, -(-size // (PARAGRAPHS_PER_ARTICLE * ARTICLES_PER_FILE))):
        chunk = (article for _, article in zip(range(ARTICLES_PER_FILE), articles))
        write_articles(chunk, folder / f"part-{number:05d}.jsonl")
    (folder / _COMPLETE).write_text(stamp, encoding="utf-8")


def timed(function: Callable, items: Sequence) -> tuple[Timings, list]:
    """Run ``function`` on each item; the p50, p95 and p99 wall time, and the results."""
    wall, _, results = timed_both(function, items)
    return wall, results


def timed_both(function: Callable, items: Sequence) -> tuple[Timings, Timings, list]:
    """Run ``function`` on each item; the percentiles of its wall time and of this process' CPU time
    (on a shared machine the wall time also holds the waits for a core), and the results."""
    wall, cpu, results = [], [], []
    for item in items:
        started, started_cpu = time.perf_counter(), time.process_time()
        results.append(function(item))
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return summarize(wall), summarize(cpu), results


def summarize(seconds: Sequence[float]) -> Timings:
    """Percentiles by linear interpolation between the sorted times (statistics' inclusive method).

    >>> summarize([0.001] * 18 + [0.021] * 2)
    Timings(p50_ms=1.0, p95_ms=21.0, p99_ms=21.0, count=20)
    """
    if len(seconds) < 2:
        value = seconds[0] * 1000 if seconds else 0.0
        return Timings(value, value, value, len(seconds))
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return Timings(round(cuts[49] * 1000, 6), round(cuts[94] * 1000, 6), round(cuts[98] * 1000, 6), len(seconds))


def tokenize_rate(texts: Sequence[str], store: IndexStore, workers: int) -> float:
    """Paragraphs a second on ``workers`` processes already started, so start-up is not counted."""
    with tokenizing_pool(store.tokenizer, workers) as pool:
        started = time.perf_counter()
        for _ in pool.imap(worker_tokens, texts, chunksize=64):
            pass
        return len(texts) / (time.perf_counter() - started)


# Started from a small process: a child of this one (holding rank-bm25 or a big corpus) would report
# this process' peak RSS as its own, as Linux carries the parent's high-water mark over through exec.
_LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
figures = {"seconds": time.perf_counter() - started, "rss": usage.ru_maxrss * 1024, "status": os.waitstatus_to_exitcode(status)}
print(json.dumps(figures), file=sys.stderr)
"""


def run_process(arguments: Sequence[str]) -> Process:
    """Run ``qabot ARGUMENTS`` in a fresh process; its wall time, peak RSS and standard output.
    Raises BenchError if it fails."""
    return run_python(["-m", "bot", *arguments])


def run_python(arguments: Sequence[str]) -> Process:
    """Run ``python ARGUMENTS`` in a fresh process started from the launcher, as ``run_process``."""
    command = [sys.executable, "-c", _LAUNCHER, sys.executable, *arguments]
    env = {key: value for key, value in os.environ.items() if key != "QABOT_SETTINGS"}
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=_PACKAGES_ROOT, env=env)
    lines = done.stderr.strip().splitlines()
    try:
        figures = json.loads(lines[-1])
    except (IndexError, ValueError):
        figures = {"status": done.returncode}
    if done.returncode != 0 or figures["status"] != 0:
        errors = "\n".join(lines[:-1])
        raise BenchError(f"python {' '.join(arguments)[:200]} failed (exit status {figures['status']}): {errors.strip()[-500:]}")
    return Process(figures["seconds"], figures["rss"], done.stdout)


def timed_in_fresh_process(settings_path: Path, warming: Sequence[str], asked: Sequence[str], work: Path) -> tuple[Timings, Timings]:
    """The wall and CPU percentiles of ``asked``, answered whole by a fresh process (``bot.cli.ask_timing``)
    after ``warming``."""
    questions = work / "ask-timing.json"
    questions.write_text(json.dumps({"warming": list(warming), "timed": list(asked)}, ensure_ascii=False), encoding="utf-8")
    done = run_python(["-m", "bot.cli.ask_timing", str(settings_path), str(questions)])
    times = json.loads(done.output)
    return summarize(times["wall"]), summarize(times["cpu"])


def bench_settings(settings, work: Path) -> Path:
    """A settings file for the processes the bench starts: the user's settings, with the generated
    corpus and this size's cache folder."""
    merged: dict = {}
    for path in settings.source_files[1:]:
        merged.update(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    merged["corpus"] = {**(merged.get("corpus") or {}), "path": str(work / "corpus")}
    merged["index"] = {**(merged.get("index") or {}), "cache_dir": str(work / "cache"), "workers": settings.index.workers}
    path = work / "settings.yaml"
    path.write_text(yaml.safe_dump(merged, allow_unicode=True), encoding="utf-8")
    return path


def _sizes_on_disk(folder: Path) -> tuple[int, int]:
    """Bytes of the index (arrays, terms, documents) and of the stored corpus in one build folder."""
    index = corpus = 0
    for entry in folder.iterdir():
        if entry.is_file():
            if entry.name.startswith("corpus-"):
                corpus += entry.stat().st_size
            else:
                index += entry.stat().st_size
    return index, corpus


def bench_size(
    size: int, sources: Sources, settings, questions: int, reference_sample: int, quiet: bool, say: Callable, settle: Callable[[], None]
) -> SizeResult:
    from rank_bm25 import BM25Okapi

    work = Path(settings.index.cache_dir) / "bench" / str(size)
    if size < KEEP_TOKENS_FROM and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    corpus_dir = work / "corpus"
    (corpus_dir / _EXTRA_FILE).unlink(missing_ok=True)
    say(f"[{size:,}] writing the corpus files")
    write_corpus(size, sources.sentences, corpus_dir)
    settings_path = bench_settings(settings, work)
    store = IndexStore(work / "cache", settings.answer, workers=settings.index.workers, quiet=True)

    # A small corpus (the tests' smoke run) spends no longer comparing rates than building.
    sample_size = min(RATE_SAMPLE, max(200, size // 5))
    sample = [p.text for article in generate_articles(sample_size, sources.sentences, SEED) for p in article.paragraphs]
    say(f"[{size:,}] tokenizing {len(sample):,} paragraphs on 1 and on 2 processes")
    rate_one, rate_two = tokenize_rate(sample, store, 1), tokenize_rate(sample, store, 2)

    filled = None
    if size >= KEEP_TOKENS_FROM:
        say(f"[{size:,}] filling the token cache from the corpus' unique sentences")
        filled = fill_token_cache(store, corpus_dir, settings.corpus.max_file_bytes)
        say(f"[{size:,}] {filled.describe()}")

    say(f"[{size:,}] building the index (qabot index --force)")
    build = run_process(["--settings", str(settings_path), "-q", "index", "--force"])
    opened = store.open(corpus_dir, settings.corpus.max_file_bytes)
    if opened.build is not None:
        raise BenchError(f"the index built by qabot index was not up to date: {'; '.join(opened.rebuilt_because)}")
    index_bytes, corpus_bytes = _sizes_on_disk(opened.directory)
    tokenized = int(build.output.split("tokenized ", 1)[1].split(" ", 1)[0].replace(",", "")) if "tokenized " in build.output else 0

    asked, warming = timed_and_warming(sources.questions, questions)
    say(f"[{size:,}] {FRESH_RUNS} fresh qabot ask processes, beside {FRESH_RUNS} bare Python processes")
    answers, bares = [], []
    for _ in range(FRESH_RUNS):
        answers.append(run_process(["--settings", str(settings_path), "-q", "ask", asked[0]]))
        bares.append(run_python(BARE_PROCESS))
    first_answer = min(answers, key=lambda p: p.seconds)

    index = opened.index
    queries = [store.tokenizer.tokens(q) for q in asked]
    for question in warming:  # warm the page cache, as a running bot has it
        index.closest_docs(store.tokenizer.tokens(question), 10)
    say(f"[{size:,}] timing {len(queries)} queries")
    ours, our_tops = timed(lambda q: index.closest_docs(q, 10)[0], queries)

    sampled = size > REFERENCE_SAMPLED_ABOVE
    skipped = reference_room(index.doc_count, available_memory())
    reference_timings, same = None, 0
    if skipped:
        say(f"[{size:,}] {skipped}")
    else:
        say(f"[{size:,}] building rank-bm25")
        keys = (opened.directory / "document-keys.bin").read_bytes()
        document_keys = [keys[at : at + 16] for at in range(0, len(keys), 16)]
        # The cache hands out one string object per distinct term, which keeps rank-bm25 smaller.
        reference = BM25Okapi(store.token_cache.token_lists(document_keys))
        del keys, document_keys
        reference_queries = queries[:reference_sample] if sampled else queries
        say(f"[{size:,}] timing {len(reference_queries)} rank-bm25 queries")
        reference_timings, reference_tops = timed(lambda q: best_of(reference.get_scores(q), 10).tolist(), reference_queries)
        same = sum(1 for ours_top, theirs in zip(our_tops, reference_tops) if ours_top == theirs)
        del reference

    say(f"[{size:,}] timing {len(asked)} questions end to end in a fresh process")
    ask_fresh, ask_fresh_cpu = timed_in_fresh_process(settings_path, warming, asked, work)
    say(f"[{size:,}] timing {len(asked)} questions end to end in this process")
    answerer = Answerer(opened.corpus, settings.answer, tokenizer=store.tokenizer, index=index, documents=opened.documents)
    # Warm, as the header says and a running bot is: the one-time loads (jieba's dictionary, the
    # vocabulary) are the fresh process' figure above. The warming questions are other questions, so
    # no in-process cache (a sentence's words, its tagged names) holds what a timed question reads: a
    # second pass over the same questions measured those caches, not a new question.
    for question in warming:
        answerer.ask(question)
    settle()  # the garbage-collection policy of the processes that answer, as they apply it once warm
    ask, ask_cpu, _ = timed_both(answerer.ask, asked)
    del answerer, index, opened

    say(f"[{size:,}] bringing the index up to date after adding one article file")
    extra = generate_articles(PARAGRAPHS_PER_ARTICLE, sources.sentences, SEED - size, first_article=-(-size // PARAGRAPHS_PER_ARTICLE))
    write_articles(extra, corpus_dir / _EXTRA_FILE)
    # As /reload does it: the update in a fresh process (the bot's child), then this process reopens
    # the published index and answers the next question.
    started = time.perf_counter()
    update = run_process(["--settings", str(settings_path), "-q", "index"])
    reopened = store.open(corpus_dir, settings.corpus.max_file_bytes)
    if reopened.build is not None:
        raise BenchError(f"the index updated by qabot index was not up to date: {'; '.join(reopened.rebuilt_because)}")
    Answerer(reopened.corpus, settings.answer, tokenizer=store.tokenizer, index=reopened.index, documents=reopened.documents).ask(asked[0])
    reindex_seconds = time.perf_counter() - started
    reindex_tokenized = int(update.output.split("tokenized ", 1)[1].split(" ", 1)[0].replace(",", "")) if "tokenized " in update.output else 0
    del reopened
    (corpus_dir / _EXTRA_FILE).unlink()
    store.close()
    return SizeResult(
        size=size,
        build=build,
        bare=min(bares, key=lambda p: p.seconds),
        tokenized=tokenized,
        rate_one=rate_one,
        rate_two=rate_two,
        index_bytes=index_bytes,
        corpus_bytes=corpus_bytes,
        first_answer=first_answer,
        first_answer_slowest=max(p.seconds for p in answers),
        ours=ours,
        reference=reference_timings,
        reference_sampled=sampled,
        same_top10=same,
        ask=ask,
        ask_cpu=ask_cpu,
        ask_fresh=ask_fresh,
        ask_fresh_cpu=ask_fresh_cpu,
        reindex_seconds=reindex_seconds,
        reindex_tokenized=reindex_tokenized,
        reference_skipped=skipped,
        filled=filled,
    )


def table(results: Sequence[SizeResult]) -> str:
    """One Markdown table, a column per corpus size."""

    def ms(t: Timings) -> str:
        return f"{t.p50_ms:.2f} / {t.p95_ms:.2f} / {t.p99_ms:.2f} ms"

    def mb(count: int) -> str:
        return f"{count / 1e6:,.0f} MB"

    rows = [
        ("first answer, fresh `qabot ask`", lambda r: f"{r.first_answer.seconds:.2f} s (slowest of {FRESH_RUNS}: {r.first_answer_slowest:.2f} s)"),
        ("peak RSS, fresh `qabot ask`", lambda r: mb(r.first_answer.peak_rss)),
        ("bare Python with numpy and jieba", lambda r: f"{r.bare.seconds:.2f} s, {mb(r.bare.peak_rss)}"),
        ("first answer / bare Python", lambda r: f"{r.first_answer.seconds / r.bare.seconds:.2f}x"),
        ("ask p50 / p95 / p99 (whole question), fresh process", lambda r: ms(r.ask_fresh)),
        ("ask p50 / p95 / p99, fresh process, CPU time", lambda r: ms(r.ask_fresh_cpu)),
        ("ask p50 / p95 / p99, in the bench's process", lambda r: ms(r.ask)),
        ("ask p50 / p95 / p99, in the bench's process, CPU time", lambda r: ms(r.ask_cpu)),
        ("query p50 / p95 / p99, ours", lambda r: ms(r.ours)),
        ("query p50 / p95 / p99, rank-bm25", lambda r: r.reference_skipped if r.reference is None else
         ms(r.reference) + (f" (sampled, {r.reference.count} q)" if r.reference_sampled else "")),
        ("same top-10 as rank-bm25", lambda r: "—" if r.reference is None else f"{r.same_top10}/{r.reference.count}"),
        ("index on disk (+ stored corpus)", lambda r: f"{mb(r.index_bytes)} (+ {mb(r.corpus_bytes)})"),
        ("build, `qabot index --force`", lambda r: f"{r.build.seconds:.1f} s ({r.tokenized:,} documents tokenized)"
         + (f"; before it, {r.filled.describe()}" if r.filled is not None else "")),
        ("build peak RSS", lambda r: mb(r.build.peak_rss)),
        ("tokenize rate 1 proc / 2 procs", lambda r: f"{r.rate_one:,.0f} / {r.rate_two:,.0f} para/s ({r.rate_two / r.rate_one:.2f}x)"),
        ("+1 article file: update in a fresh process, reopen, answer", lambda r: f"{r.reindex_seconds:.1f} s ({r.reindex_tokenized} documents tokenized)"),
    ]
    header = "| paragraphs | " + " | ".join(f"{r.size:,}" for r in results) + " |"
    lines = [header, "|---|" + "---|" * len(results)]
    lines += [f"| {name} | " + " | ".join(cell(r) for r in results) + " |" for name, cell in rows]
    return "\n".join(lines)


def run(
    settings,
    sizes: Sequence[int],
    questions: int,
    reference_sample: int,
    cmrc: Path,
    seed_page: Path | None = None,
    quiet: bool = False,
    settle: Callable[[], None] = lambda: None,
) -> list[SizeResult]:
    """Benchmark every size and print the table (progress lines go to stderr unless quiet).

    ``settings`` gives the index cache folder, the worker count and the answer pipeline's settings
    (``index.cache_dir``, ``index.workers``, ``answer``); ``cmrc`` and ``seed_page`` are the sources.
    ``settle`` is the answering processes' garbage-collection policy (``bot.runtime.settle``, which
    this package may not import), applied before the whole questions are timed.
    """
    use_persistent_jieba_cache(settings.index.cache_dir)
    sources = load_sources(cmrc, seed_page)

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    results = []
    for size in sizes:
        results.append(bench_size(size, sources, settings, questions, reference_sample, quiet, say, settle))
        if size != sizes[-1]:
            say(table(results))  # so far: a long run that is stopped still leaves its figures
    print(
        f"qabot bench: {os.cpu_count()} cores, {worker_count(settings.index.workers)} tokenizing processes, "
        f"load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after; "
        f"{len(sources.sentences):,} source sentences, seed {SEED}; tokenizer {settings_signature()}; "
        f"query and ask times are warm (page cache, jieba loaded, after as many other questions), "
        f"ties in paragraph order; "
        f"the fresh processes' times include Python's start-up"
    )
    print(table(results))
    return results


def timed_and_warming(questions: Sequence[str], count: int) -> tuple[list[str], list[str]]:
    """The first ``count`` questions, to time, and as many of the next ones to warm up on (the timed
    ones again only when no others are left).

    >>> timed_and_warming(["a", "b", "c", "d", "e"], 2), timed_and_warming(["a", "b"], 2)
    ((['a', 'b'], ['c', 'd']), (['a', 'b'], ['a', 'b']))
    """
    timed = list(questions[:count])
    return timed, list(questions[count : 2 * count]) or timed


def settings_signature() -> str:
    """The tokenizer's name, version and options, for the header line."""
    signature = Tokenizer().signature
    return ", ".join(f"{key}={value}" for key, value in signature.items() if key != "stopwords_sha256")
