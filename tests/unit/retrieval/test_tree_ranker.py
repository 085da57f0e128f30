"""The tree ranker: its plain-Python evaluator gives exactly LightGBM's predictions, the shipped model
file is there and well formed, a bad one is a clear error, and the fitting tool's feature cache is
keyed on the code that computes the features."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.settings import PROJECT_ROOT, SettingsError, load_settings
from retrieval.measure import fit
from retrieval.ranker import FEATURE_NAMES, GATE_FEATURES, RankerError, TreeModel, load_ranker

SHIPPED = PROJECT_ROOT / "retrieval" / "data" / "sentence_ranker.json"


def synthetic_groups(seed: int = 0, questions: int = 300, size: int = 8) -> fit.Groups:
    """Questions whose answer is marked by a non-linear mix of three features, plus noise features;
    some feature values are repeated (0, 1, steps of 0.25) as real ones are, so splits fall on them."""
    rng = np.random.default_rng(seed)
    rows = rng.random((questions * size, len(FEATURE_NAMES)))
    rows[:, 3] = np.round(rows[:, 3] * 4) / 4
    rows[:, 5] = (rows[:, 5] > 0.7).astype(float)
    signal = rows[:, 0] * (rows[:, 5] + 0.5) + np.where(rows[:, 3] >= 0.5, 0.4, 0.0)
    labels = np.zeros(len(rows), dtype=np.int8)
    for g in range(questions):
        labels[g * size + int(np.argmax(signal[g * size : (g + 1) * size]))] = 1
    offsets = np.arange(0, len(rows) + 1, size)
    return fit.Groups(rows, labels, np.ones(len(rows), dtype=np.int8), offsets, np.arange(questions))


def write_ranker(path, weights: np.ndarray, trees: list[dict]) -> None:
    record = {
        "model": "trees",
        "weights": {n: float(w) for n, w in zip(FEATURE_NAMES, weights) if w},
        "features": list(FEATURE_NAMES),
        "trees": trees,
    }
    path.write_text(json.dumps(record), encoding="utf-8")


def test_the_plain_evaluator_gives_exactly_lightgbms_predictions(tmp_path):
    pytest.importorskip("lightgbm")
    data = synthetic_groups()
    weights = fit.fit_linear(data, l2=1e-3)
    booster = fit.fit_boosted(data, data.features @ weights, fit.TreeParams(leaves=8, rounds=30, min_data_in_leaf=20))
    trees = fit.tree_records(booster)
    assert len(trees) == 30 and any(len(t["feature"]) == 7 for t in trees)
    path = tmp_path / "trees.json"
    write_ranker(path, weights, trees)
    model = load_ranker(path).sentences
    assert isinstance(model, TreeModel)

    # Rows the trees were fitted on, fresh rows, and rows sitting exactly on split thresholds.
    rows = np.vstack([data.features[:200], synthetic_groups(seed=1, questions=25).features])
    on_edges = rows[:100].copy()
    for i, tree in enumerate(trees[:10]):
        for feature, threshold in zip(tree["feature"], tree["threshold"]):
            on_edges[i * 10 : i * 10 + 10, feature] = threshold
    rows = np.vstack([rows, on_edges])
    expected = booster.predict(rows, raw_score=True)
    found = np.array([model.trees_score(row.tolist()) for row in rows])
    assert np.array_equal(found, expected), np.max(np.abs(found - expected))
    # The whole score is the linear part plus the trees: what the fitting tool ranked by.
    whole = np.array([model.score(row.tolist()) for row in rows[:50]])
    np.testing.assert_allclose(whole, rows[:50] @ weights + expected[:50], rtol=1e-12, atol=1e-12)
    # The trees learnt the non-linear part the linear model misses.
    scores = data.features @ weights
    assert fit.top1_right(data, scores + booster.predict(data.features, raw_score=True)) > fit.top1_right(data, scores)


def test_switching_a_feature_off_reads_it_as_zero_in_the_trees(tmp_path):
    trees = [{"feature": [0], "threshold": [0.5], "left": [-1], "right": [-2], "leaf": [-1.0, 1.0]}]
    path = tmp_path / "trees.json"
    write_ranker(path, np.zeros(len(FEATURE_NAMES)), trees)
    row = [0.9] + [0.0] * (len(FEATURE_NAMES) - 1)
    assert load_ranker(path).score(row) == 1.0
    assert load_ranker(path, (FEATURE_NAMES[0],)).score(row) == -1.0



def walked_trees_score(model, values) -> float:
    """``TreeModel.trees_score`` by walking each tree's flat lists (``Tree.value``), switched-off
    features read as 0, summed in the same order: what the nested tuples must equal."""
    if model.off:
        values = [0.0 if i in model.off else v for i, v in enumerate(values)]
    total = 0.0
    for tree in model.trees:
        total += tree.value(values)
    return total


def test_a_refit_of_the_same_data_is_the_same_bit_for_bit():
    # The shipped file must be remade exactly by its command: every step of a fit (the linear model, the
    # runs' penalty, the trees' size by cross-validation, the trees, the gate) gives the same floats twice.
    pytest.importorskip("lightgbm")

    def refit() -> str:
        data = synthetic_groups(questions=150)
        weights = fit.fit_linear(data, l2=1e-3)
        fit.limit_runs(data, weights, 0.06)
        params = fit.choose_tree_params(data, 1e-3, 0.06, leaves=(4,), rounds=(10, 20), quiet=True)
        booster = fit.fit_boosted(data, data.features @ weights, params)
        gate, bias = fit.fit_gate(data.features[:, :6], data.labels.astype(float))
        return json.dumps([weights.tolist(), repr(params), fit.tree_records(booster), gate.tolist(), bias])

    assert refit() == refit()


def test_the_nested_trees_equal_walking_the_flat_lists(tmp_path):
    """The shipped model's nested tuples against its flat lists walked, to the last bit: on random
    rows, on rows sitting on the split thresholds, with features switched off, and for a deep tree."""
    rng = np.random.default_rng(7)
    shipped = load_ranker("sentence_ranker.json").sentences
    rows = rng.random((300, len(FEATURE_NAMES))) * 2 - 0.5
    for i, tree in enumerate(shipped.trees):
        for feature, threshold in zip(tree.feature, tree.threshold):
            rows[i * 4 : i * 4 + 4, feature] = threshold
    off = FEATURE_NAMES[: len(FEATURE_NAMES) : 3]
    for model in (shipped, shipped.without(off)):
        for row in rows.tolist():
            assert model.trees_score(row) == walked_trees_score(model, row)
            assert model.score(row) == model.linear.score(row) + walked_trees_score(model, row)
    # A chain of 120 splits, each sending values at or below 0.5 to a leaf.
    depth = 120
    chain = {
        "feature": [i % 5 for i in range(depth)], "threshold": [0.5] * depth,
        "left": [-(i + 1) for i in range(depth)], "right": [i + 1 for i in range(depth - 1)] + [-(depth + 1)],
        "leaf": [float(i) for i in range(depth + 1)],
    }
    path = tmp_path / "deep.json"
    write_ranker(path, np.ones(len(FEATURE_NAMES)), [chain, GOOD_TREE])
    deep = load_ranker(path).sentences
    for row in rows[:50].tolist():
        assert deep.score(row) == deep.linear.score(row) + walked_trees_score(deep, row)


def test_the_shipped_ranker_is_a_small_tree_model_fitted_on_the_even_halves():
    assert SHIPPED.is_file(), f"{SHIPPED} is missing: refit it with `qabot fit`"
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    assert data["model"] == "trees" and data["features"] == list(FEATURE_NAMES)
    assert data["fitted_on"]["half"] == "even" and data["fitted_on"]["sets"] == ["cmrc2018_trial.json", "DRCD_dev.json"]
    assert "lightgbm" in data["versions"] and data["command"].startswith(fit.FITTING_COMMANDS)
    ranker = load_ranker("sentence_ranker.json")
    model = ranker.sentences
    assert isinstance(model, TreeModel)
    # Few, shallow trees: the model stays small (against overfitting) and fast to walk.
    assert 1 <= len(model.trees) <= 200 and max(len(t.leaf) for t in model.trees) <= 16
    assert model.mapping()["extra_sentences"] < 0
    assert ranker.gate is not None and ranker.gate.names == GATE_FEATURES and 0.5 < ranker.threshold < 1
    # The linear ranker stays shipped beside it, for the ablation.
    assert not isinstance(load_ranker("sentence_ranker_linear.json").sentences, TreeModel)


GOOD_TREE = {"feature": [0], "threshold": [0.5], "left": [-1], "right": [-2], "leaf": [0.0, 1.0]}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"model": "forest"}, "'model' is 'forest'; it must be 'linear' or 'trees'"),
        ({"trees": []}, "needs a 'features' list and a non-empty 'trees' list"),
        ({"features": None}, "needs a 'features' list"),
        ({"features": ["no_such_feature"]}, "unknown features no_such_feature"),
        ({"trees": [{"feature": [0]}]}, "tree 0: needs feature, threshold, left, right and leaf lists"),
        ({"trees": [dict(GOOD_TREE, threshold=["x"])]}, "tree 0: needs feature"),
        ({"trees": [dict(GOOD_TREE, leaf=[1.0])]}, "tree 0: the lists' lengths do not make a tree"),
        ({"trees": [GOOD_TREE, dict(GOOD_TREE, right=[-5])]}, "tree 1: a child points outside the tree"),
        ({"trees": [dict(GOOD_TREE, feature=[99])]}, "tree 0: needs feature"),
    ],
)
def test_a_malformed_tree_file_is_a_clear_error(tmp_path, change, message):
    record = {"model": "trees", "weights": {}, "features": list(FEATURE_NAMES), "trees": [GOOD_TREE], **change}
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(RankerError, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        load_ranker(path)
    assert str(path) in str(raised.value)
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"answer:\n  sentence_ranker: {path}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="answer: "):
        load_settings(settings)


def test_a_missing_ranker_file_is_a_clear_error(tmp_path):
    with pytest.raises(RankerError, match="nowhere.json: cannot read the sentence ranker"):
        load_ranker(tmp_path / "nowhere.json")
    with pytest.raises(RankerError, match="no_such_ranker.json: cannot read the sentence ranker"):
        load_ranker("no_such_ranker.json")


def test_the_feature_cache_is_keyed_on_the_feature_code(tmp_path, monkeypatch):
    for name, text in {
        "retrieval/features.py": "A = 1\n",
        "retrieval/data/question_cues.yaml": "a: 1\n",
        "retrieval/data/sentence_ranker.json": "{}\n",
        "corpus/sentences.py": "B = 1\n",
        "retrieval/measure/reading.py": "C = 1\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    data = tmp_path / "set.json"
    data.write_text("{}", encoding="utf-8")
    monkeypatch.setattr(fit, "PROJECT_ROOT", tmp_path)
    config = load_settings().answer
    key = fit._cache_key(data, config)
    assert fit._cache_key(data, config) == key
    # A refitted ranker is not feature code: the cache survives a refit.
    (tmp_path / "retrieval/data/sentence_ranker.json").write_text('{"model": "trees"}\n', encoding="utf-8")
    assert fit._cache_key(data, config) == key
    for name in ("retrieval/features.py", "retrieval/data/question_cues.yaml", "corpus/sentences.py", "retrieval/measure/reading.py"):
        (tmp_path / name).write_text((tmp_path / name).read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
        changed = fit._cache_key(data, config)
        assert changed != key, f"a change to {name} kept the cached features"
        key = changed
