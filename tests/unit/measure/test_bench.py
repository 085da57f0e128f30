"""`qabot bench`: generated corpora are reproducible and realistic, a missing CMRC file is one clear
error, and the 10k smoke run (what CI can afford) completes with the same top-10 as rank-bm25.

The smoke run's wall time is reported, not asserted: on a shared machine a time on its own says little,
and the figures that matter are the ratios the bench prints side by side. The subprocess timeout only
stops a hang."""

from __future__ import annotations

import time

import pytest

from retrieval.measure.bench import BenchError, generate_corpus, load_sources


@pytest.fixture(scope="module")
def sources(cmrc_trial, project_root):
    return load_sources(cmrc_trial, project_root / "corpus" / "raw" / "newspaper-page.txt")


def test_sources_hold_real_sentences_and_questions(sources):
    assert len(sources.sentences) > 3000 and len(sources.questions) > 1000
    assert all(len(s) >= 8 for s in sources.sentences)


def test_generated_corpus_is_reproducible_with_3_to_8_sentences_a_paragraph(sources):
    first = generate_corpus(1234, sources.sentences, seed=5)
    again = generate_corpus(1234, sources.sentences, seed=5)
    other = generate_corpus(1234, sources.sentences, seed=6)
    paragraphs = [p for _, p in first.paragraphs()]
    assert len(paragraphs) == 1234 and first == again and first != other
    assert all(3 <= len(p.sentences) <= 8 and p.text == "".join(p.sentences) for p in paragraphs)
    assert len({a.id for a in first.articles}) == len(first.articles) == 124


def test_a_missing_cmrc_file_is_a_clear_error(tmp_path, run_qabot):
    with pytest.raises(BenchError, match="CMRC 2018 trial file not found"):
        load_sources(tmp_path / "missing.json")
    done = run_qabot("bench", "--sizes", "1000", "--cmrc", tmp_path / "missing.json", timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("qabot: error: CMRC 2018 trial file not found") and done.stdout == ""


def test_bench_smoke_run_of_10k_paragraphs(settings_file, run_qabot, cmrc_trial, capsys):
    started = time.monotonic()
    done = run_qabot("--settings", settings_file(), "-q", "bench", "--sizes", "10000", "--cmrc", cmrc_trial)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    rows = {line.split("|")[1].strip(): line.split("|")[2].strip() for line in done.stdout.splitlines() if line.startswith("| ")}
    assert rows["paragraphs"] == "10,000"
    assert rows["same top-10 as rank-bm25"] == "500/500"
    for name in ("tokenize (build)", "query p50 / p95, ours", "ask p50 / p95 (whole question)", "re-index after +1 article"):
        assert rows[name], name
    with capsys.disabled():
        print(f"\n[bench smoke] qabot bench --sizes 10000 took {elapsed:.0f} s wall")
