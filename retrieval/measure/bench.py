"""``qabot bench``: how the index scales, measured beside rank-bm25 on generated corpora.

A benchmark, not a test. Each corpus is generated with a fixed seed: paragraphs of 3-8 real sentences
sampled from the CMRC 2018 trial contexts and the seed newspaper page, ten paragraphs an article. The
questions timed are the CMRC trial questions. Every figure of one size comes from the same run, so ratios
compare like with like even on a busy machine.
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
from typing import Callable, Sequence

from corpus.model import Article, Corpus, Paragraph
from retrieval.answer import Answerer
from retrieval.index import best_of
from retrieval.store import IndexStore, load
from retrieval.token_cache import content_key
from retrieval.tokenize import Tokenizer
from retrieval.tokenizing import tokenizing_pool, use_persistent_jieba_cache, worker_count, worker_tokens

SEED = 2018
PARAGRAPHS_PER_ARTICLE = 10
# Token lists of corpora this large are kept between runs (tokenizing a million paragraphs takes a
# quarter of an hour on two cores); smaller ones are tokenized from scratch every run.
KEEP_TOKENS_FROM = 200_001
# rank-bm25 takes seconds per question at a million paragraphs, so above this size it is timed on a sample.
REFERENCE_SAMPLED_ABOVE = 200_000
RATE_SAMPLE = 2000  # paragraphs tokenized on one and on two processes to compare rates
# The folder that holds the retrieval package: a fresh process started there can import it.
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
    count: int


@dataclass(frozen=True)
class SizeResult:
    size: int
    tokenized: int
    tokenize_seconds: float
    index_seconds: float
    rate_one: float  # paragraphs a second, tokenizing on one process
    rate_two: float  # on two processes
    bytes_on_disk: int
    load_seconds: float
    rss_bytes: int
    ours: Timings
    reference: Timings
    reference_sampled: bool
    same_top10: int
    ask: Timings
    reindex_seconds: float
    reindex_tokenized: int


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


def generate_corpus(size: int, sentences: Sequence[str], seed: int, first_article: int = 0) -> Corpus:
    """``size`` paragraphs of 3-8 sampled sentences, ten to an article, the same for the same seed."""
    rng = random.Random(seed)
    articles = []
    for start in range(0, size, PARAGRAPHS_PER_ARTICLE):
        article_id = f"bench-{first_article + len(articles)}"
        paragraphs = []
        for position in range(min(PARAGRAPHS_PER_ARTICLE, size - start)):
            chosen = tuple(rng.sample(sentences, rng.randint(3, 8)))
            paragraphs.append(Paragraph(article_id, position, None, "".join(chosen), chosen))
        title = paragraphs[0].sentences[0][:30]
        articles.append(Article(article_id, title, tuple(paragraphs)))
    return Corpus(tuple(articles))


def timed(function: Callable, items: Sequence) -> tuple[Timings, list]:
    """Run ``function`` on each item; the p50 and p95 wall time, and the results."""
    seconds, results = [], []
    for item in items:
        started = time.perf_counter()
        results.append(function(item))
        seconds.append(time.perf_counter() - started)
    return summarize(seconds), results


def summarize(seconds: Sequence[float]) -> Timings:
    """Percentiles by linear interpolation between the sorted times (statistics' inclusive method).

    >>> summarize([0.001] * 18 + [0.021] * 2)
    Timings(p50_ms=1.0, p95_ms=21.0, count=20)
    """
    if len(seconds) < 2:
        value = seconds[0] * 1000 if seconds else 0.0
        return Timings(value, value, len(seconds))
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return Timings(round(cuts[49] * 1000, 6), round(cuts[94] * 1000, 6), len(seconds))


def tokenize_rate(texts: Sequence[str], store: IndexStore, workers: int) -> float:
    """Paragraphs a second on ``workers`` processes already started, so start-up is not counted."""
    with tokenizing_pool(store.tokenizer, workers) as pool:
        started = time.perf_counter()
        for _ in pool.imap(worker_tokens, texts, chunksize=64):
            pass
        return len(texts) / (time.perf_counter() - started)


def rss_bytes() -> int:
    """This process' resident set size, from /proc (Linux); 0 where unavailable."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def probe_load(link: str) -> None:
    """Run in a fresh process by the benchmark: open the index and print load time and RSS as JSON."""
    started = time.perf_counter()
    index = load(Path(link))
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rss": rss_bytes(), "paragraphs": index.doc_count}))


def measure_load(link: Path) -> tuple[float, int]:
    code = f"from retrieval.measure.bench import probe_load; probe_load({str(link)!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=_PACKAGES_ROOT)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures["seconds"], figures["rss"]


def bench_size(size: int, sources: Sources, settings, questions: int, reference_sample: int, quiet: bool, say: Callable) -> SizeResult:
    from rank_bm25 import BM25Okapi

    work = Path(settings.index.cache_dir) / "bench" / str(size)
    if size < KEEP_TOKENS_FROM and work.exists():
        shutil.rmtree(work)
    store = IndexStore(work, settings.answer, workers=settings.index.workers, quiet=quiet)
    say(f"[{size:,}] generating the corpus")
    corpus = generate_corpus(size, sources.sentences, SEED + size)
    texts = store.texts(corpus)

    sample = texts[:RATE_SAMPLE]
    say(f"[{size:,}] tokenizing {len(sample):,} paragraphs on 1 and on 2 processes")
    rate_one, rate_two = tokenize_rate(sample, store, 1), tokenize_rate(sample, store, 2)

    say(f"[{size:,}] building the index")
    link = store.link_for(work / "corpus")
    build = store.build(corpus, link)
    load_seconds, rss = measure_load(link)
    index = load(link)

    asked = list(sources.questions[:questions])
    queries = [store.tokenizer.tokens(q) for q in asked]
    for query in queries:  # warm the page cache, as a running bot has it
        index.closest_docs(query, 10)
    say(f"[{size:,}] timing {len(queries)} queries")
    ours, our_tops = timed(lambda q: index.closest_docs(q, 10)[0], queries)

    say(f"[{size:,}] building rank-bm25")
    keys = [content_key(text) for text in texts]
    # The cache hands out one string object per distinct term, which keeps rank-bm25 in memory at 1M.
    reference = BM25Okapi(store.token_cache.token_lists(keys))
    sampled = size > REFERENCE_SAMPLED_ABOVE
    reference_queries = queries[:reference_sample] if sampled else queries
    say(f"[{size:,}] timing {len(reference_queries)} rank-bm25 queries")
    reference_timings, reference_tops = timed(lambda q: best_of(reference.get_scores(q), 10).tolist(), reference_queries)
    same = sum(1 for ours_top, theirs in zip(our_tops, reference_tops) if ours_top == theirs)
    del reference

    say(f"[{size:,}] timing {len(asked)} questions end to end")
    answerer = Answerer(corpus, settings.answer, tokenizer=store.tokenizer, index=index)
    ask, _ = timed(answerer.ask, asked)
    del answerer, index

    say(f"[{size:,}] re-indexing after adding one article")
    extra = generate_corpus(PARAGRAPHS_PER_ARTICLE, sources.sentences, SEED - size, first_article=len(corpus.articles))
    grown = Corpus(corpus.articles + extra.articles)
    started = time.perf_counter()
    reindex = store.build(grown, link)
    reindex_seconds = time.perf_counter() - started
    store.close()
    return SizeResult(
        size=size,
        tokenized=build.tokenized,
        tokenize_seconds=build.tokenize_seconds,
        index_seconds=build.index_seconds,
        rate_one=rate_one,
        rate_two=rate_two,
        bytes_on_disk=build.bytes_on_disk,
        load_seconds=load_seconds,
        rss_bytes=rss,
        ours=ours,
        reference=reference_timings,
        reference_sampled=sampled,
        same_top10=same,
        ask=ask,
        reindex_seconds=reindex_seconds,
        reindex_tokenized=reindex.tokenized,
    )


def _reindex_cell(result: SizeResult) -> str:
    """The re-index time, as a share of a full build only when the build above tokenized everything."""
    cell = f"{result.reindex_seconds:.1f} s ({result.reindex_tokenized} paragraphs tokenized)"
    if result.tokenized == result.size:
        cell += f", {result.reindex_seconds / (result.tokenize_seconds + result.index_seconds):.0%} of the full build above"
    return cell


def table(results: Sequence[SizeResult]) -> str:
    """One Markdown table, a column per corpus size."""

    def ms(t: Timings) -> str:
        return f"{t.p50_ms:.2f} / {t.p95_ms:.2f} ms"

    rows = [
        ("tokenize (build)", lambda r: f"{r.tokenize_seconds:.1f} s" + (
            f" ({r.tokenized:,} new)" if r.tokenized < r.size else "")),
        ("index (build)", lambda r: f"{r.index_seconds:.1f} s"),
        ("tokenize rate 1 proc / 2 procs", lambda r: f"{r.rate_one:,.0f} / {r.rate_two:,.0f} para/s ({r.rate_two / r.rate_one:.2f}x)"),
        ("size on disk", lambda r: f"{r.bytes_on_disk / 1e6:,.0f} MB"),
        ("load (fresh process)", lambda r: f"{r.load_seconds:.3f} s"),
        ("RSS after load (fresh process)", lambda r: f"{r.rss_bytes / 1e6:,.0f} MB"),
        ("query p50 / p95, ours", lambda r: ms(r.ours)),
        ("query p50 / p95, rank-bm25", lambda r: ms(r.reference) + (f" (sampled, {r.reference.count} q)" if r.reference_sampled else "")),
        ("speed-up at p50", lambda r: f"{r.reference.p50_ms / r.ours.p50_ms:,.0f}x"),
        ("same top-10 as rank-bm25", lambda r: f"{r.same_top10}/{r.reference.count}"),
        ("ask p50 / p95 (whole question)", lambda r: ms(r.ask)),
        ("re-index after +1 article", _reindex_cell),
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
) -> list[SizeResult]:
    """Benchmark every size and print the table (progress lines go to stderr unless quiet).

    ``settings`` gives the index cache folder, the worker count and the answer pipeline's settings
    (``index.cache_dir``, ``index.workers``, ``answer``); ``cmrc`` and ``seed_page`` are the sources.
    """
    use_persistent_jieba_cache(settings.index.cache_dir)
    sources = load_sources(cmrc, seed_page)

    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    results = []
    for size in sizes:
        results.append(bench_size(size, sources, settings, questions, reference_sample, quiet, say))
        if size != sizes[-1]:
            say(table(results))  # so far: a long run that is stopped still leaves its figures
    print(
        f"qabot bench: {os.cpu_count()} cores, {worker_count(settings.index.workers)} tokenizing processes, "
        f"load average {load_before:.1f} before and {os.getloadavg()[0]:.1f} after; "
        f"{len(sources.sentences):,} source sentences, seed {SEED}; tokenizer {settings_signature()}; "
        f"query times are warm (page cache), ties in paragraph order"
    )
    print(table(results))
    return results


def settings_signature() -> str:
    """The tokenizer's name, version and options, for the header line."""
    signature = Tokenizer().signature
    return ", ".join(f"{key}={value}" for key, value in signature.items() if key != "stopwords_sha256")
