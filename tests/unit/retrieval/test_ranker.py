"""The fitted sentence ranker: its file, the fitting maths, passages in the index, and quotes that run
over adjacent sentences when the question's evidence does."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from bot.settings import SettingsError, load_settings
from corpus.model import Article, Corpus, Paragraph
from corpus.sentences import split_sentences
from retrieval.answer import Answerer
from retrieval.documents import indexed_documents
from retrieval.measure import fit
from retrieval.measure.reading import load_reading_set
from retrieval.ranker import FEATURE_NAMES, GATE_FEATURES, RankerError, load_ranker

from bot.settings import PROJECT_ROOT

CMRC_TRIAL = PROJECT_ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json"


def test_the_shipped_ranker_records_how_it_was_fitted():
    data = json.loads((PROJECT_ROOT / "retrieval" / "data" / "sentence_ranker.json").read_text(encoding="utf-8"))
    assert set(data["weights"]) <= set(FEATURE_NAMES) and data["features"] == list(FEATURE_NAMES)
    assert data["fitted_on"]["half"] == "even" and data["fitted_on"]["sets"] == ["cmrc2018_trial.json", "DRCD_dev.json"]
    assert {"numpy", "scipy", "python"} <= set(data["versions"])
    assert data["command"].startswith(fit.FITTING_COMMANDS)
    # The commit whose code, run by that command, writes this file again.
    assert len(data["code"]["commit"]) == 40 and data["code"]["dirty"] is False
    ranker = load_ranker("sentence_ranker.json")
    assert ranker.gate is not None and ranker.gate.names == GATE_FEATURES and 0.5 < ranker.threshold < 1
    # Quotes of several sentences are weighed down: the exception, not a way to quote more.
    assert ranker.sentences.mapping()["extra_sentences"] < 0


def test_switching_a_feature_off_zeroes_only_its_weight():
    ranker = load_ranker("sentence_ranker.json", ("char_match",))
    full = load_ranker("sentence_ranker.json")
    changed = [n for n, a, b in zip(FEATURE_NAMES, ranker.sentences.weights, full.sentences.weights) if a != b]
    assert changed == ["char_match"] and ranker.sentences.mapping()["char_match"] == 0


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "cannot read the sentence ranker"),
        ('{"bias": 1}', "needs a 'weights' mapping"),
        ('{"weights": {"no_such_feature": 1}}', "unknown features no_such_feature"),
        ('{"weights": {"word_match": "x"}}', "could not convert"),
    ],
)
def test_a_bad_ranker_file_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "ranker.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RankerError, match=message):
        load_ranker(path)
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"answer:\n  sentence_ranker: {path}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="answer: "):
        load_settings(settings)


def groups(features: list[list[list[float]]], labels: list[list[int]]) -> fit.Groups:
    """Groups of candidate rows over FEATURE_NAMES, given per question as lists over the first features."""
    width = len(FEATURE_NAMES)
    rows = [r + [0.0] * (width - len(r)) for g in features for r in g]
    offsets = np.cumsum([0] + [len(g) for g in features])
    flat = [y for g in labels for y in g]
    return fit.Groups(np.array(rows), np.array(flat), np.ones(len(flat), dtype=np.int8), offsets, np.arange(len(features)))


def test_the_conditional_logit_learns_which_feature_marks_the_answer():
    rng = np.random.default_rng(0)
    features, labels = [], []
    for _ in range(200):
        candidates = rng.random((6, 3)).tolist()
        right = int(np.argmax([c[1] for c in candidates]))  # the second feature marks the answer
        features.append(candidates)
        labels.append([1 if i == right else 0 for i in range(6)])
    data = groups(features, labels)
    weights = fit.fit_linear(data, l2=1e-4)
    assert weights[1] > 5 * max(abs(weights[0]), abs(weights[2]))
    assert fit.top1_right(data, data.features @ weights) > 0.95


def test_weighing_the_sets_lets_a_small_set_count_as_much_as_a_large_one():
    # A large set whose answers the first feature marks, a small one whose answers the second marks:
    # fitted question by question the large set decides, with the sets weighed equally both count.
    rng = np.random.default_rng(0)

    def one_set(marker: int, questions: int) -> fit.Groups:
        features, labels = [], []
        for _ in range(questions):
            candidates = rng.random((4, 2)).tolist()
            right = int(np.argmax([c[marker] for c in candidates]))
            features.append(candidates)
            labels.append([1 if i == right else 0 for i in range(4)])
        return groups(features, labels)

    large, small = one_set(0, 300), one_set(1, 30)
    by_question = fit.fit_linear(fit.concatenate([large, small]), l2=1e-4)
    weighed = fit.concatenate(fit.weigh_sets([large, small]))
    by_set = fit.fit_linear(weighed, l2=1e-4)
    assert by_question[0] > 3 * by_question[1]
    assert by_set[1] > by_question[1] * 2 and by_set[1] > 0.5 * by_set[0]
    assert weighed.total == pytest.approx(330)
    assert fit.top1_right(small, small.features @ by_set) > fit.top1_right(small, small.features @ by_question)


def test_runs_are_weighed_down_until_they_are_the_exception():
    extra = FEATURE_NAMES.index("extra_sentences")
    features, labels = [], []
    for i in range(100):  # a longer quote always "holds the answer" by also quoting more
        run = [0.0] * len(FEATURE_NAMES)
        run[extra] = 1.0
        features.append([[0.5], run])
        labels.append([0, 1])
    data = groups(features, labels)
    weights = np.zeros(len(FEATURE_NAMES))
    weights[0] = 1.0
    weights[extra] = 2.0
    penalty = fit.limit_runs(data, weights, 0.05)
    assert penalty > 1.5 and fit.top1(data, data.features @ weights)[1] <= 0.05


def test_passages_of_long_paragraphs_map_back_and_the_index_stays_exact():
    reading = load_reading_set(CMRC_TRIAL)
    config = load_settings().answer
    documents = indexed_documents(reading.corpus, config)
    paragraphs = reading.corpus.paragraph_count
    assert [d.paragraph_id for d in documents[:paragraphs]] == list(range(paragraphs))
    passages = documents[paragraphs:]
    assert passages and all(d.last - d.first + 1 == config.passage_sentences for d in passages)
    for document in passages[:50]:
        _, paragraph = list(reading.corpus.paragraphs())[document.paragraph_id]
        assert "".join(paragraph.sentences[document.first : document.last + 1]) in document.text
    answerer = Answerer(reading.corpus, config)
    tokens = list(answerer.document_tokens())
    reference = BM25Okapi(tokens)
    for question in reading.questions[:60]:
        query = answerer.tokenizer.tokens(question.question)
        expected = reference.get_scores(query)
        order = sorted(range(len(expected)), key=lambda i: (-expected[i], i))[:10]
        ids, scores = answerer.index.closest_docs(query, 10)
        assert ids == order
        np.testing.assert_allclose(scores, expected[ids], rtol=1e-6)


def article(article_id: str, title: str, *texts: str) -> Article:
    paragraphs = tuple(Paragraph(article_id, i, None, text, split_sentences(text)) for i, text in enumerate(texts))
    return Article(article_id, title, paragraphs)


CORPUS = Corpus(
    (
        article("a", "甲公司", "甲公司成立于1990年，主营家电。该公司在2001年发布了第一款手机。它随后在上海设立了研发总部。公司现有员工三千人。"),
        article("b", "乙公司", "乙公司成立于1995年，主营食品。乙公司在北京设有工厂。"),
        article("c", "丙公司", "丙公司成立于2003年，主营服装。"),
        article("d", "丁公司", "丁公司主营玩具。"),
        article("e", "戊公司", "戊公司主营文具。"),
    )
)


def test_a_quote_runs_over_adjacent_sentences_only_when_the_evidence_does():
    answerer = Answerer(CORPUS, load_settings().answer)
    spread = answerer.ask("哪家公司在2001年发布了第一款手机并在上海设立了研发总部？")
    assert spread.quote == "该公司在2001年发布了第一款手机。它随后在上海设立了研发总部。"
    assert (spread.sentence_index, spread.sentence_count) == (1, 2)
    assert all(a.quote in split_sentences(a.quote) for a in spread.alternatives)  # alternatives stay single
    single = answerer.ask("甲公司成立于哪一年？")
    assert (single.quote, single.sentence_count, single.highlight) == ("甲公司成立于1990年，主营家电。", 1, "1990年")
    one_only = Answerer(CORPUS, dataclasses.replace(load_settings().answer, max_quote_sentences=1))
    assert one_only.ask("哪家公司在2001年发布了第一款手机并在上海设立了研发总部？").sentence_count == 1


def test_the_fitting_command_runs_on_a_set_and_reports_both_halves(tmp_path):
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "bot", "fit", str(CMRC_TRIAL), "--dry-run", "--cache-dir", str(tmp_path)],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "fit half  check half" in done.stdout and "highlight gate: shown when" in done.stdout
    assert list(tmp_path.glob("cmrc2018_trial-*.npz"))  # the feature vectors were cached


def test_a_question_refused_for_low_coverage_still_names_the_paragraphs_that_competed():
    # P@5 measures retrieval: a refusal by the answer step must not read as the gold paragraph missed.
    strict = Answerer(CORPUS, dataclasses.replace(load_settings().answer, min_coverage=0.99, typo_correction=False))
    refused = strict.ask("甲公司的吉祥物叫什么名字？")
    assert (refused.answered, refused.reason) == (False, "no_match")
    assert refused.competing and refused.competing[0] == 0


def test_a_fit_records_the_commit_of_its_code_and_whether_it_was_changed(tmp_path, monkeypatch):
    import subprocess

    def git(*words: str) -> str:
        return subprocess.run(["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *words],
                              capture_output=True, text=True, check=True).stdout.strip()

    assert fit.code_revision(tmp_path) is None  # not a git checkout
    (tmp_path / "retrieval" / "data").mkdir(parents=True)
    (tmp_path / "features.py").write_text("a = 1\n")
    (tmp_path / "retrieval" / "data" / "sentence_ranker.json").write_text("{}\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "code")
    assert fit.code_revision(tmp_path) == {"commit": git("rev-parse", "HEAD"), "dirty": False}
    # The model file a fit writes does not shape the next fit: rewriting it leaves the code clean.
    (tmp_path / "retrieval" / "data" / "sentence_ranker.json").write_text('{"refit": 1}\n')
    assert fit.code_revision(tmp_path)["dirty"] is False
    (tmp_path / "features.py").write_text("a = 2\n")
    assert fit.code_revision(tmp_path)["dirty"] is True
    git("checkout", "-q", "features.py")
    (tmp_path / "new_feature.py").write_text("b = 1\n")  # code the commit does not hold
    assert fit.code_revision(tmp_path)["dirty"] is True
    assert fit.code_revision(tmp_path / "retrieval") is None  # inside a checkout, not its top: not this project's
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    assert fit.code_revision(tmp_path) is None
