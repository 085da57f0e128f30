"""Fit the sentence ranker on one half of reading-comprehension sets; check on the other half.

    qabot fit                       # fit on the even halves, write the shipped trees
    qabot fit --model linear        # the linear model alone (sentence_ranker_linear.json)
    qabot fit --half odd --out /tmp/odd.json
    qabot fit --drop proximity      # what the fit loses without a feature
    qabot fit --compare-trees       # LightGBM's LambdaMART beside it

(``bot/cli/fit.py`` reads the command line and the settings; this module does the fitting.)

Every question of the fitting half becomes a group: the candidate sentences ``Answerer.candidates``
gives (the sentences of the best paragraphs, as the answer pipeline sees them), each labelled by
whether it holds a gold answer. The linear model is a conditional logit (a softmax over each group's
candidates, fitted by maximum likelihood with an L2 penalty): exactly what picking the best-scoring
sentence needs. The trees (LightGBM, a development dependency) are boosted on top of its scores with
the same objective, their size chosen by cross-validation inside the fit half; they are stored as
plain lists and walked in plain Python at answer time (``retrieval.ranker.TreeModel``). Questions none
of whose candidates holds an answer teach nothing and are left out of the fit, not of the check.

The sets default to CMRC 2018 trial and DRCD dev in ``../shared/data`` (each context one article, as
``qabot eval`` reads them). Feature vectors are cached in ``.cache/fit`` by a hash of the code that
computes them (``feature_code_files``), the settings and the data, so refitting or comparing is quick
after the first run.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Sequence

import numpy as np

from retrieval.measure.reading import HALVES, load_reading_set
from retrieval.ranker import FEATURE_NAMES, GATE_FEATURES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SETS = (
    PROJECT_ROOT.parent / "shared" / "data" / "cmrc2018" / "cmrc2018_trial.json",
    PROJECT_ROOT.parent / "shared" / "data" / "drcd" / "DRCD_dev.json",
)
DEFAULT_OUT = PROJECT_ROOT / "retrieval" / "data" / "sentence_ranker.json"
LINEAR_OUT = PROJECT_ROOT / "retrieval" / "data" / "sentence_ranker_linear.json"
CACHE_DIR = PROJECT_ROOT / ".cache" / "fit"
# What the feature vectors are computed by: a cached extraction is used only if none of it changed.
# Every module of the packages that read documents and questions counts (a change to the tokenizer,
# the index or a word list changes the features as surely as one to features.py), and so do their
# data files, except the fitted rankers this tool writes (candidates are extracted unscored) and the
# measuring tools other than the sets' reader.
_FEATURE_PACKAGES = ("corpus", "retrieval")
_NOT_FEATURE_CODE = ("sentence_ranker.json", "sentence_ranker_linear.json")


@dataclass
class Groups:
    """Candidate feature vectors of many questions: rows ``offsets[g]:offsets[g + 1]`` are question g's."""

    features: np.ndarray  # (rows, len(FEATURE_NAMES))
    labels: np.ndarray  # (rows,) 1 when the candidate holds a gold answer
    gold: np.ndarray  # (rows,) 1 when the candidate stands in the question's own paragraph
    offsets: np.ndarray  # (questions + 1,)
    article_index: np.ndarray  # (questions,) the question's SQuAD article: the halves split on it
    # (questions,) what each question weighs in the fit and in top-1 (``weigh_sets``); None: 1 each
    weight: np.ndarray | None = None

    def select(self, keep: np.ndarray) -> "Groups":
        """The groups where ``keep`` (one bool per question) is true."""
        rows = np.concatenate([np.arange(self.offsets[g], self.offsets[g + 1]) for g in np.flatnonzero(keep)] or [np.zeros(0, int)])
        sizes = np.diff(self.offsets)[keep]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        weight = None if self.weight is None else self.weight[keep]
        return Groups(self.features[rows], self.labels[rows], self.gold[rows], offsets, self.article_index[keep], weight)

    def half(self, half: str) -> "Groups":
        return self.select(self.article_index % 2 == HALVES.index(half))

    @property
    def count(self) -> int:
        return len(self.offsets) - 1

    @property
    def question_weights(self) -> np.ndarray:
        """What each question weighs: ``weight``, or 1 each when unweighted."""
        return np.ones(self.count) if self.weight is None else self.weight

    @property
    def total(self) -> float:
        """The questions' summed weight (their count when unweighted)."""
        return float(self.question_weights.sum())


def extract(path: Path, config, quiet: bool = False, cache_dir: Path = CACHE_DIR) -> Groups:
    """Every question of the set as a group of candidate feature vectors (cached in ``cache_dir``)."""
    import dataclasses

    # The features do not depend on the weights: any ranker file serves, the shipped one may not exist yet.
    config = dataclasses.replace(config, sentence_ranker="sentence_ranker_hand.json", ranker_off=())
    key = _cache_key(path, config)
    cached = cache_dir / f"{path.stem}-{key}.npz"
    if cached.exists():
        data = np.load(cached)
        return Groups(data["features"], data["labels"], data["gold"], data["offsets"], data["article_index"])
    from retrieval.answer import Answerer

    reading = load_reading_set(path)
    answerer = Answerer(reading.corpus, config)
    features, labels, gold, offsets, articles = [], [], [], [0], []
    started = time.perf_counter()
    for number, question in enumerate(reading.questions, 1):
        if not question.answerable:
            continue
        candidates = answerer.candidates(question.question)
        features.extend(c.features for c in candidates)
        labels.extend(1 if any(a in c.text for a in question.answers) else 0 for c in candidates)
        gold.extend(1 if c.paragraph_id == question.paragraph_id else 0 for c in candidates)
        offsets.append(len(features))
        articles.append(question.article_index)
        if not quiet and number % 500 == 0:
            print(f"  {path.name}: {number} of {len(reading.questions)} questions, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    groups = Groups(
        np.array(features, dtype=np.float64).reshape(-1, len(FEATURE_NAMES)),
        np.array(labels, dtype=np.int8),
        np.array(gold, dtype=np.int8),
        np.array(offsets, dtype=np.int64),
        np.array(articles, dtype=np.int64),
    )
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, features=groups.features, labels=groups.labels, gold=groups.gold, offsets=groups.offsets,
                        article_index=groups.article_index)
    return groups


def feature_code_files() -> list[Path]:
    """The source and data files the cached feature vectors depend on, in a stable order."""
    found = []
    for package in _FEATURE_PACKAGES:
        root = PROJECT_ROOT / package
        found.extend(p for p in root.rglob("*.py") if "__pycache__" not in p.parts and p.parent.name != "measure")
        found.extend(p for p in (root / "data").glob("*") if p.is_file() and p.name not in _NOT_FEATURE_CODE)
    # Of the measuring tools only the reader of the sets shapes what is extracted (``extract`` itself
    # only stores it).
    found.append(PROJECT_ROOT / "retrieval" / "measure" / "reading.py")
    return sorted(set(found))


def _cache_key(path: Path, config) -> str:
    """A hash of the data file, the settings, Python's and jieba's versions and every file of
    ``feature_code_files``: features computed by older code are never reused."""
    digest = hashlib.sha256()
    for file in feature_code_files():
        digest.update(str(file.relative_to(PROJECT_ROOT)).encode())
        digest.update(file.read_bytes())
    digest.update(repr(config).encode())
    digest.update(json.dumps({k: v for k, v in versions().items() if k in ("python", "jieba")}, sort_keys=True).encode())
    digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def concatenate(parts: Sequence[Groups]) -> Groups:
    offsets, shift = [np.zeros(1, np.int64)], 0
    for part in parts:
        offsets.append(part.offsets[1:] + shift)
        shift += part.offsets[-1]
    weights = None
    if any(p.weight is not None for p in parts):
        weights = np.concatenate([p.question_weights for p in parts])
    return Groups(
        np.concatenate([p.features for p in parts]),
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.gold for p in parts]),
        np.concatenate(offsets),
        np.concatenate([p.article_index for p in parts]),
        weights,
    )


def weigh_sets(parts: Sequence[Groups]) -> list[Groups]:
    """The same groups, each set's questions weighing so that every set weighs the same in the fit,
    together as many as its questions: a set of 510 questions fitted beside one of 1,749 would
    otherwise be ranked for mostly by the larger one's kind of text, while each set's floor counts
    on its own.

    >>> one = Groups(np.zeros((2, 1)), np.ones(2, np.int8), np.ones(2, np.int8), np.array([0, 1, 2]), np.arange(2))
    >>> three = one.select(np.array([True, True])); three = concatenate([three, one.select(np.array([True, False]))])
    >>> [g.weight.tolist() for g in weigh_sets([one, three])]
    [[1.25, 1.25], [0.8333333333333334, 0.8333333333333334, 0.8333333333333334]]
    """
    total = sum(p.count for p in parts)
    return [replace(p, weight=np.full(p.count, total / (len(parts) * p.count))) for p in parts]


def fit_linear(groups: Groups, l2: float = 1e-3, drop: Sequence[str] = ()) -> np.ndarray:
    """Weights of the conditional logit: maximise the mean over questions of log(sum of the softmax
    probabilities of the candidates that hold an answer), minus ``l2`` times the squared weights."""
    from scipy.optimize import minimize

    use = np.array([name not in drop for name in FEATURE_NAMES])
    x = groups.features[:, use]
    learnable = [g for g in range(groups.count) if groups.labels[groups.offsets[g] : groups.offsets[g + 1]].any()]
    if not learnable:
        raise ValueError("no question has a candidate holding its answer")
    starts = groups.offsets[learnable]
    ends = groups.offsets[np.array(learnable) + 1]
    # Rows of the learnable groups, and for each row its group number (for segment sums).
    rows = np.concatenate([np.arange(a, b) for a, b in zip(starts, ends)])
    group_of = np.repeat(np.arange(len(learnable)), ends - starts)
    xr, positive = x[rows], groups.labels[rows].astype(bool)
    n = len(learnable)
    weight = groups.question_weights[learnable] / groups.question_weights[learnable].mean()

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = xr @ w
        top = np.full(n, -np.inf)
        np.maximum.at(top, group_of, s)
        e = np.exp(s - top[group_of])
        total = np.bincount(group_of, weights=e, minlength=n)
        good = np.bincount(group_of, weights=e * positive, minlength=n)
        loss = -np.sum(weight * (np.log(good) - np.log(total))) / n + l2 * w @ w
        # d/dw: sum over rows of (p_all - p_good) * x, p_all = e / total, p_good = e * positive / good
        coefficient = (e / total[group_of] - np.where(positive, e / good[group_of], 0.0)) * weight[group_of]
        gradient = xr.T @ coefficient / n + 2 * l2 * w
        return loss, gradient

    result = minimize(objective, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    weights = np.zeros(len(FEATURE_NAMES))
    weights[use] = result.x
    return weights


def limit_runs(groups: Groups, weights: np.ndarray, max_multi: float) -> float:
    """Lower ``weights``' extra_sentences weight (in place) by the least multiple of 0.05 that keeps
    quotes of several sentences at most ``max_multi`` of the groups' best candidates: they are to be
    the exception, where the evidence really runs across sentences, not a way to quote more. Returns
    the amount taken off."""
    extra = FEATURE_NAMES.index("extra_sentences")
    start = weights[extra]
    penalty = 0.0
    while top1(groups, groups.features @ weights)[1] > max_multi and penalty < 20:
        penalty += 0.05
        weights[extra] = start - penalty
    return penalty


def top1_right(groups: Groups, scores: np.ndarray) -> float:
    """Share of questions whose best-scoring candidate (the first of equals) holds an answer; a
    question without candidates counts as wrong."""
    return top1(groups, scores)[0]


def top1(groups: Groups, scores: np.ndarray) -> tuple[float, float]:
    """(share of questions whose best-scoring candidate holds an answer, each question counted at its
    weight, share of those best candidates that run over more than one sentence)."""
    right = multi = 0.0
    extra = FEATURE_NAMES.index("extra_sentences")
    weight = groups.question_weights
    for g in range(groups.count):
        a, b = groups.offsets[g], groups.offsets[g + 1]
        if b > a:
            best = a + int(np.argmax(scores[a:b]))
            right += weight[g] * int(groups.labels[best])
            multi += groups.features[best, extra] > 0
    return (right / weight.sum(), multi / groups.count) if groups.count else (0.0, 0.0)


@dataclass(frozen=True)
class TreeParams:
    """The tree ranker's size and learning rate: few, shallow trees, chosen by cross-validation."""

    leaves: int = 8
    rounds: int = 100
    learning_rate: float = 0.1
    min_data_in_leaf: int = 100
    l2: float = 1.0


def conditional_logit_objective(groups: Groups):
    """LightGBM's custom objective for the conditional logit ``fit_linear`` fits: per question, minus
    the log of the softmax probability of the candidates that hold an answer. The trees then add to the
    linear model's scores on its own scale (a logit), so the margins read off scores elsewhere (the
    near-miss check's, the highlight gate's lead) keep their meaning. Returns (gradient, hessian) per
    row, the hessian its diagonal p(1 - p), floored."""
    sizes = np.diff(groups.offsets)
    group_of = np.repeat(np.arange(groups.count), sizes)
    positive = groups.labels.astype(bool)
    learnable = (np.bincount(group_of, weights=positive, minlength=groups.count) > 0)[group_of]
    weight = (groups.question_weights / groups.question_weights.mean())[group_of]

    def objective(scores: np.ndarray, _data) -> tuple[np.ndarray, np.ndarray]:
        top = np.full(groups.count, -np.inf)
        np.maximum.at(top, group_of, scores)
        e = np.exp(scores - top[group_of])
        total = np.bincount(group_of, weights=e, minlength=groups.count)
        good = np.bincount(group_of, weights=e * positive, minlength=groups.count)
        p = e / total[group_of]
        q = np.where(positive, e / np.maximum(good[group_of], 1e-300), 0.0)
        gradient = np.where(learnable, p - q, 0.0) * weight
        hessian = np.where(learnable, np.maximum(p * (1 - p), 1e-6), 1e-6) * weight
        return gradient, hessian

    return objective


def fit_boosted(train: Groups, base: np.ndarray, params: TreeParams, drop: Sequence[str] = (), seed: int = 0):
    """Gradient-boosted trees (LightGBM, a development dependency) fitted on top of the linear
    scores ``base`` with ``conditional_logit_objective``; dropped features are zeroed, so no tree
    splits on them."""
    import lightgbm

    x = train.features.copy()
    x[:, [FEATURE_NAMES.index(f) for f in drop]] = 0.0
    settings = {
        "objective": conditional_logit_objective(train), "learning_rate": params.learning_rate,
        "num_leaves": params.leaves, "min_data_in_leaf": params.min_data_in_leaf, "lambda_l2": params.l2,
        "min_sum_hessian_in_leaf": 1e-3, "seed": seed, "verbose": -1, "num_threads": 1, "deterministic": True,
    }
    data = lightgbm.Dataset(x, train.labels.astype(np.float64), group=np.diff(train.offsets), init_score=base)
    return lightgbm.train(settings, data, num_boost_round=params.rounds)


def run_penalty(groups: Groups, scores: np.ndarray, max_multi: float) -> float:
    """The least multiple of 0.05 that, taken off a candidate's score per extra sentence, keeps quotes
    of several sentences at most ``max_multi`` of the groups' best candidates."""
    extra = groups.features[:, FEATURE_NAMES.index("extra_sentences")]
    penalty = 0.0
    while top1(groups, scores - penalty * extra)[1] > max_multi and penalty < 20:
        penalty += 0.05
    return penalty


def tree_records(booster) -> list[dict]:
    """A fitted LightGBM booster's trees as the ranker file stores them (``retrieval.ranker.Tree``):
    flat lists, internal nodes numbered in pre-order, leaves by LightGBM's leaf index."""
    trees = []
    for info in booster.dump_model()["tree_info"]:
        record = {"feature": [], "threshold": [], "left": [], "right": [], "leaf": [0.0] * info["num_leaves"]}

        def visit(node: dict) -> int:
            if "leaf_value" in node:
                record["leaf"][node.get("leaf_index", 0)] = float(node["leaf_value"])
                return ~node.get("leaf_index", 0)
            if node["decision_type"] != "<=" or node["missing_type"] not in ("None", "NaN"):
                # Features are never missing: a split that treats 0 as missing would not be read right.
                raise ValueError(f"unsupported split: {node['decision_type']}, missing {node['missing_type']}")
            number = len(record["feature"])
            record["feature"].append(int(node["split_feature"]))
            record["threshold"].append(float(node["threshold"]))
            record["left"].append(0)
            record["right"].append(0)
            record["left"][number] = visit(node["left_child"])
            record["right"][number] = visit(node["right_child"])
            return number

        visit(info["tree_structure"])
        trees.append(record)
    return trees


def choose_tree_params(train: Groups, l2: float, max_multi: float, drop: Sequence[str] = (), folds: int = 3,
                       leaves: Sequence[int] = (4, 8), rounds: Sequence[int] = (25, 50, 100, 150), quiet: bool = False) -> TreeParams:
    """Cross-validation inside the fit half only: its SQuAD articles fall into ``folds`` folds; for
    each, the linear model and the trees are fitted on the other folds (runs weighed down there) and
    top-1 is measured on it. The smallest size within one standard error of the best mean wins."""
    fold_of = (train.article_index // 2) % folds
    right: dict[tuple[int, int], list[float]] = {}
    for fold in range(folds):
        inner, held = train.select(fold_of != fold), train.select(fold_of == fold)
        weights = fit_linear(inner, l2, drop)
        limit_runs(inner, weights, max_multi)
        for size in leaves:
            model = fit_boosted(inner, inner.features @ weights, TreeParams(leaves=size, rounds=max(rounds)), drop)
            for count in rounds:
                inner_scores = inner.features @ weights + model.predict(inner.features, raw_score=True, num_iteration=count)
                penalty = run_penalty(inner, inner_scores, max_multi)
                held_scores = held.features @ weights + model.predict(held.features, raw_score=True, num_iteration=count)
                held_scores -= penalty * held.features[:, FEATURE_NAMES.index("extra_sentences")]
                right.setdefault((size, count), []).append(top1_right(held, held_scores) * held.total)
        linear_right = top1_right(held, held.features @ weights) * held.total
        right.setdefault((0, 0), []).append(linear_right)
    table = {key: sum(values) / train.total for key, values in right.items()}
    if not quiet:
        print(f"cross-validation on the fit half ({folds} folds by article): top-1, linear alone {table[(0, 0)]:.3f}")
        for size in leaves:
            print(f"  {size:>2} leaves: " + "  ".join(f"{count} trees {table[(size, count)]:.3f}" for count in rounds))
    # The one-standard-error rule: the smallest model (leaves x trees) whose top-1 is within one
    # standard error of the best one's. The differences between sizes are mostly noise, and a smaller
    # model overfits these two sets' quirks less and is quicker to walk.
    sizes = [key for key in table if key != (0, 0)]
    best = max(table[key] for key in sizes)
    error = (best * (1 - best) / train.count) ** 0.5
    chosen = min((key for key in sizes if table[key] >= best - error), key=lambda key: (key[0] * key[1], -table[key]))
    if not quiet:
        print(f"  best {best:.3f}, one standard error {error:.3f}: the smallest model within it is {chosen[1]} trees of {chosen[0]} leaves")
    return TreeParams(leaves=chosen[0], rounds=chosen[1])


def fit_trees(train: Groups, seed: int = 0):
    """LightGBM's LambdaMART on the same groups (a development comparison only)."""
    import lightgbm

    params = {
        "objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 20,
        "bagging_fraction": 0.8, "bagging_freq": 1, "feature_fraction": 0.8, "seed": seed, "verbose": -1,
        "lambdarank_truncation_level": 3, "eval_at": [1], "num_threads": 1, "deterministic": True,
    }
    data = lightgbm.Dataset(train.features, train.labels.astype(np.float64), group=np.diff(train.offsets))
    return lightgbm.train(params, data, num_boost_round=300)


def gate_evidence(path: Path, config, ranker_file: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every answerable question of the set that gets a highlight before the gate: the gate's
    features, whether the highlight overlaps a gold answer in the quote, and the question's article."""
    import dataclasses

    from retrieval.answer import Answerer
    from retrieval.measure.reading import highlight_overlaps

    reading = load_reading_set(path)
    answerer = Answerer(reading.corpus, dataclasses.replace(config, sentence_ranker=str(ranker_file), ranker_off=()))
    rows, labels, articles = [], [], []
    for question in reading.questions:
        if not question.answerable:
            continue
        found = answerer.highlight_evidence(question.question)
        if found is None or found[1].text is None:
            continue
        best, choice, values = found
        rows.append(values)
        labels.append(1 if highlight_overlaps(best.text, choice.text, question.answers) else 0)
        articles.append(question.article_index)
    return np.array(rows, dtype=np.float64).reshape(-1, len(GATE_FEATURES)), np.array(labels), np.array(articles)


def fit_gate(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> tuple[np.ndarray, float]:
    """Logistic regression (weights, bias) of a highlight being right on the gate's features."""
    from scipy.optimize import minimize

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        p = 1 / (1 + np.exp(-(x @ w + b)))
        eps = 1e-12
        loss = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + l2 * w @ w
        g = p - y
        return loss, np.concatenate([x.T @ g / len(y) + 2 * l2 * w, [g.mean()]])

    result = minimize(objective, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
    return result.x[:-1], float(result.x[-1])


def gate_threshold(p: np.ndarray, y: np.ndarray, precision: float) -> float:
    """The lowest probability threshold at which the highlights shown are at least ``precision`` right
    (on the data it is chosen on); above 1 when none is.

    >>> gate_threshold(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 1, 0, 1]), 0.75)
    0.6
    """
    order = np.argsort(-p)
    right_share = np.cumsum(y[order]) / np.arange(1, len(p) + 1)
    good = np.flatnonzero(right_share >= precision)
    return float(p[order][good[-1]]) if len(good) else 1.01


def code_revision(root: Path = PROJECT_ROOT) -> dict | None:
    """The git commit of the code at ``root`` and whether its files differ from it, changed or new and
    not ignored by git (the fitted rankers this tool writes aside: they do not shape a fit); None when
    ``root`` is not the top of a git checkout or git is not installed. With the command and the
    versions, it says what refits a model file exactly."""
    import subprocess

    def git(*words: str) -> str:
        return subprocess.run(["git", "-C", str(root), *words], capture_output=True, text=True, check=True, timeout=60).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != root.resolve():
            return None  # the project sits inside some other repository
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--", ".",
                      *(f":(exclude)retrieval/data/{name}" for name in _NOT_FEATURE_CODE))
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(changed)}


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for name in ("numpy", "scipy", "jieba", "lightgbm"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def _fit_gate_on(sets: Sequence[Path], config, record: dict, parity: int, precision: float) -> dict:
    """Fit the highlight gate on the fit half's highlights (found with the weights in ``record``),
    print its effect on both halves, and return its part of the ranker file."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "ranker.json"
        plain.write_text(json.dumps(record), encoding="utf-8")
        evidence = {path: gate_evidence(path, config, plain) for path in sets}
    fit_x = np.concatenate([x[a % 2 == parity] for x, _, a in evidence.values()])
    fit_y = np.concatenate([y[a % 2 == parity] for _, y, a in evidence.values()])
    gate, bias = fit_gate(fit_x, fit_y)
    threshold = gate_threshold(1 / (1 + np.exp(-(fit_x @ gate + bias))), fit_y, precision)
    print(f"highlight gate: shown when its probability is {threshold:.3f} or more ({precision:.0%} precise on the fit half)")
    print(f"{'highlights right':<28}{'fit half':>24}{'check half':>24}   (before -> after the gate / share shown)")
    for path, (x, y, a) in evidence.items():
        cells = []
        for half_parity in (parity, 1 - parity):
            keep = a % 2 == half_parity
            shown = 1 / (1 + np.exp(-(x[keep] @ gate + bias))) >= threshold
            after = y[keep][shown].mean() if shown.any() else 0.0
            cells.append(f"{y[keep].mean() if keep.any() else 0:.3f} -> {after:.3f} / {shown.mean() if keep.any() else 0:.2f}")
        print(f"{path.name:<28}{cells[0]:>24}{cells[1]:>24}")
    return {
        "features": list(GATE_FEATURES),
        "weights": {name: round(float(w), 6) for name, w in zip(GATE_FEATURES, gate)},
        "bias": round(bias, 6),
        "threshold": round(threshold, 6),
        "precision_on_fit_half": precision,
        "highlights_on_fit_half": int(len(fit_y)),
    }


# How a model file says it was made: ``qabot fit``, or this module's old entry point for the files
# fitted before the command moved to the command line's room.
FITTING_COMMANDS = ("qabot fit", "python -m retrieval.measure.fit")


@dataclass(frozen=True)
class FitRequest:
    """What ``qabot fit`` was asked for: ``bot/cli/fit.py`` reads it off the command line, whose options
    hold the defaults."""

    sets: tuple[Path, ...]  # SQuAD-format sets; none: DEFAULT_SETS
    half: str  # fit on this half; the other one checks
    out: Path | None  # None: DEFAULT_OUT for trees, LINEAR_OUT for linear
    dry_run: bool
    drop: tuple[str, ...]
    l2: float
    max_multi: float
    model: str
    leaves: int | None
    rounds: int | None
    compare_trees: bool
    precision: float
    no_gate: bool
    cache_dir: Path
    command: str  # as typed, recorded in the model file
    weigh: str = "questions"  # "questions": each question weighs the same; "sets": each set does (``weigh_sets``)


class FitError(ValueError):
    """A fit that cannot start: a missing set, an unknown feature, LightGBM not installed."""


def fit(request: FitRequest, config) -> int:
    """Fit the ranker (and its highlight gate) on one half of the sets with the answer settings
    ``config``, print both halves' figures, and write the model file unless it is a dry run."""
    from retrieval.ranker import load_ranker

    unknown = sorted(set(request.drop) - set(FEATURE_NAMES))
    if unknown:
        raise FitError(f"no such feature: {', '.join(unknown)} (the features: {', '.join(FEATURE_NAMES)})")
    sets = list(request.sets) or list(DEFAULT_SETS)
    missing = [str(p) for p in sets if not p.is_file()]
    if missing:
        raise FitError(f"no such file: {', '.join(missing)}")
    if request.model == "trees" or request.compare_trees:
        try:
            import lightgbm  # noqa: F401
        except ImportError:
            raise FitError("the trees are fitted with LightGBM, a development dependency: pip install -e '.[dev]' (or --model linear)") from None
    # Read before fitting: the code may change while a fit runs for minutes.
    revision = code_revision()
    other = HALVES[1 - HALVES.index(request.half)]
    extracted = {path: extract(path, config, cache_dir=request.cache_dir) for path in sets}
    halves = [g.half(request.half) for g in extracted.values()]
    train = concatenate(weigh_sets(halves) if request.weigh == "sets" else halves)
    weights = fit_linear(train, request.l2, request.drop)
    penalty = limit_runs(train, weights, request.max_multi)
    linear = weights.copy()
    hand = np.array(load_ranker("sentence_ranker_hand.json").sentences.weights)
    booster, params, tree_penalty = None, None, 0.0
    if request.model == "trees":
        if request.leaves and request.rounds:
            params = TreeParams(leaves=request.leaves, rounds=request.rounds)
        else:
            params = choose_tree_params(train, request.l2, request.max_multi, request.drop)
        booster = fit_boosted(train, train.features @ linear, params, request.drop)
        tree_penalty = run_penalty(train, train.features @ linear + booster.predict(train.features, raw_score=True), request.max_multi)
        weights[FEATURE_NAMES.index("extra_sentences")] -= tree_penalty
        print(f"trees: {params.rounds} of {params.leaves} leaves, learning rate {params.learning_rate}, on top of the linear model; "
              f"quotes of several sentences weighed down by {tree_penalty:.2f} more")

    def scores(groups: Groups) -> np.ndarray:
        found = groups.features @ weights
        return found + booster.predict(groups.features, raw_score=True) if booster is not None else found

    print(f"fitted on the {request.half} halves: {train.count} questions, {len(train.labels)} candidate sentences")
    print(f"quotes of several sentences weighed down by {penalty:.2f} to keep them at most {request.max_multi:.0%} of the fit half's")
    print(f"{'top-1 holds an answer':<28}{'fit half':>10}{'check half':>12}   (linear alone: fit / check; hand weights: fit / check; multi-sentence share, check half)")
    for path, groups in extracted.items():
        fit_half, check_half = groups.half(request.half), groups.half(other)
        right_fit, right_check = top1_right(fit_half, scores(fit_half)), top1(check_half, scores(check_half))
        print(
            f"{path.name:<28}{right_fit:>10.3f}{right_check[0]:>12.3f}"
            f"   ({top1_right(fit_half, fit_half.features @ linear):.3f} / {top1_right(check_half, check_half.features @ linear):.3f};"
            f" {top1_right(fit_half, fit_half.features @ hand):.3f} / {top1_right(check_half, check_half.features @ hand):.3f}; {right_check[1]:.3f})"
        )
    if request.compare_trees:
        model = fit_trees(train)
        for path, groups in extracted.items():
            fit_half, check_half = groups.half(request.half), groups.half(other)
            print(
                f"{'trees ' + path.name:<28}{top1_right(fit_half, model.predict(fit_half.features)):>10.3f}"
                f"{top1_right(check_half, model.predict(check_half.features)):>12.3f}"
            )
    print("weights:")
    for name, weight in zip(FEATURE_NAMES, weights):
        print(f"  {name:<18}{weight:>9.4f}")
    out = request.out or (DEFAULT_OUT if request.model == "trees" else LINEAR_OUT)
    record = {
        "note": "The sentence ranker (retrieval/ranker.py): a conditional logit's weights"
        + (" and gradient-boosted trees fitted on top of its scores (LightGBM, same objective)" if booster else "")
        + ", fitted by `qabot fit`, and its highlight gate, a logistic regression; "
        "see README 'Asking questions'.",
        "model": request.model,
        # Exactly as fitted: the trees were fitted on top of these weights' scores.
        "weights": {name: float(w) for name, w in zip(FEATURE_NAMES, weights) if w != 0.0},
        "bias": 0.0,
        "features": list(FEATURE_NAMES),
        "fitted_on": {"sets": [p.name for p in sets], "half": request.half, "questions": train.count,
                      "candidates": int(len(train.labels)), "l2": request.l2, "dropped": sorted(request.drop),
                      "max_multi": request.max_multi, "run_penalty": round(penalty + tree_penalty, 4),
                      "weighed": request.weigh},
        "command": request.command,
        "versions": versions(),
    }
    if revision is not None:
        record["code"] = revision
    if booster is not None:
        record["fitted_on"]["trees"] = {
            "leaves": params.leaves, "rounds": params.rounds, "learning_rate": params.learning_rate,
            "min_data_in_leaf": params.min_data_in_leaf, "l2": params.l2,
            "chosen_by": "given" if request.leaves and request.rounds else "3-fold cross-validation by article on the fit half",
        }
        record["trees"] = tree_records(booster)
    if not request.no_gate:
        record["highlight"] = _fit_gate_on(sets, config, record, HALVES.index(request.half), request.precision)
    if request.dry_run:
        return 0
    out.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0
