"""Fit the sentence ranker's weights on one half of reading-comprehension sets; check on the other half.

    python -m retrieval.measure.fit                       # fit on the even halves, write the shipped file
    python -m retrieval.measure.fit --half odd --out /tmp/odd.json
    python -m retrieval.measure.fit --drop proximity      # what the fit loses without a feature
    python -m retrieval.measure.fit --compare-trees       # LightGBM's LambdaMART beside the linear model

Every question of the fitting half becomes a group: the candidate sentences ``Answerer.candidates``
gives (the sentences of the best paragraphs, as the answer pipeline sees them), each labelled by
whether it holds a gold answer. The model is a conditional logit (a softmax over each group's
candidates, fitted by maximum likelihood with an L2 penalty): exactly what picking the best-scoring
sentence needs, and a dot product at answer time. Questions none of whose candidates holds an answer
teach nothing and are left out of the fit, not of the check.

The sets default to CMRC 2018 trial and DRCD dev in ``../shared/data`` (each context one article, as
``qabot eval`` reads them). Feature vectors are cached in ``.cache/fit`` by a hash of the code that
computes them, the settings and the data, so refitting or comparing is quick after the first run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Sequence

import numpy as np

from retrieval.measure.reading import HALVES, load_reading_set
from retrieval.ranker import FEATURE_NAMES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SETS = (
    PROJECT_ROOT.parent / "shared" / "data" / "cmrc2018" / "cmrc2018_trial.json",
    PROJECT_ROOT.parent / "shared" / "data" / "drcd" / "DRCD_dev.json",
)
DEFAULT_OUT = PROJECT_ROOT / "retrieval" / "data" / "sentence_ranker.json"
CACHE_DIR = PROJECT_ROOT / ".cache" / "fit"
# The code whose change changes the feature vectors: a cached extraction is used only if none changed.
_FEATURE_CODE = ("answer.py", "features.py", "highlight.py", "question.py", "tokenize.py", "documents.py", "ranker.py", "measure/fit.py")


@dataclass
class Groups:
    """Candidate feature vectors of many questions: rows ``offsets[g]:offsets[g + 1]`` are question g's."""

    features: np.ndarray  # (rows, len(FEATURE_NAMES))
    labels: np.ndarray  # (rows,) 1 when the candidate holds a gold answer
    gold: np.ndarray  # (rows,) 1 when the candidate stands in the question's own paragraph
    offsets: np.ndarray  # (questions + 1,)
    article_index: np.ndarray  # (questions,) the question's SQuAD article: the halves split on it

    def select(self, keep: np.ndarray) -> "Groups":
        """The groups where ``keep`` (one bool per question) is true."""
        rows = np.concatenate([np.arange(self.offsets[g], self.offsets[g + 1]) for g in np.flatnonzero(keep)] or [np.zeros(0, int)])
        sizes = np.diff(self.offsets)[keep]
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        return Groups(self.features[rows], self.labels[rows], self.gold[rows], offsets, self.article_index[keep])

    def half(self, half: str) -> "Groups":
        return self.select(self.article_index % 2 == HALVES.index(half))

    @property
    def count(self) -> int:
        return len(self.offsets) - 1


def extract(path: Path, config, quiet: bool = False) -> Groups:
    """Every question of the set as a group of candidate feature vectors (cached)."""
    key = _cache_key(path, config)
    cached = CACHE_DIR / f"{path.stem}-{key}.npz"
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
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cached, features=groups.features, labels=groups.labels, gold=groups.gold, offsets=groups.offsets,
                        article_index=groups.article_index)
    return groups


def _cache_key(path: Path, config) -> str:
    digest = hashlib.sha256()
    for name in _FEATURE_CODE:
        digest.update((PROJECT_ROOT / "retrieval" / name).read_bytes())
    digest.update(repr(config).encode())
    digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def concatenate(parts: Sequence[Groups]) -> Groups:
    offsets, shift = [np.zeros(1, np.int64)], 0
    for part in parts:
        offsets.append(part.offsets[1:] + shift)
        shift += part.offsets[-1]
    return Groups(
        np.concatenate([p.features for p in parts]),
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.gold for p in parts]),
        np.concatenate(offsets),
        np.concatenate([p.article_index for p in parts]),
    )


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

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = xr @ w
        top = np.full(n, -np.inf)
        np.maximum.at(top, group_of, s)
        e = np.exp(s - top[group_of])
        total = np.bincount(group_of, weights=e, minlength=n)
        good = np.bincount(group_of, weights=e * positive, minlength=n)
        loss = -np.sum(np.log(good) - np.log(total)) / n + l2 * w @ w
        # d/dw: sum over rows of (p_all - p_good) * x, p_all = e / total, p_good = e * positive / good
        coefficient = e / total[group_of] - np.where(positive, e / good[group_of], 0.0)
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
    """(share of questions whose best-scoring candidate holds an answer, share of those best
    candidates that run over more than one sentence)."""
    right = multi = 0
    extra = FEATURE_NAMES.index("extra_sentences")
    for g in range(groups.count):
        a, b = groups.offsets[g], groups.offsets[g + 1]
        if b > a:
            best = a + int(np.argmax(scores[a:b]))
            right += int(groups.labels[best])
            multi += groups.features[best, extra] > 0
    return (right / groups.count, multi / groups.count) if groups.count else (0.0, 0.0)


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


def versions() -> dict[str, str]:
    found = {"python": sys.version.split()[0]}
    for name in ("numpy", "scipy", "jieba", "lightgbm"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrieval.measure.fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", type=Path, metavar="FILE", help="SQuAD-format sets (default: CMRC 2018 trial and DRCD dev in ../shared/data)")
    parser.add_argument("--half", choices=HALVES, default="even", help="fit on this half (default: even); the other one checks")
    parser.add_argument("--out", type=Path, default=None, help=f"where to write the weights (default: {DEFAULT_OUT.relative_to(PROJECT_ROOT)})")
    parser.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    parser.add_argument("--drop", action="append", default=[], choices=FEATURE_NAMES, metavar="FEATURE", help="fit without this feature (repeatable)")
    parser.add_argument("--l2", type=float, default=1e-4, help="L2 penalty on the weights (default: %(default)s)")
    parser.add_argument("--max-multi", type=float, default=0.06, help="lower the weight of quotes longer than one sentence until at most this share of the fit half's best candidates are such quotes (default: %(default)s)")
    parser.add_argument("--compare-trees", action="store_true", help="also fit LightGBM LambdaMART and compare")
    parser.add_argument("--settings", metavar="FILE", help="a settings file merged over settings.yaml")
    args = parser.parse_args(argv)

    from bot.settings import load_settings
    from retrieval.ranker import load_ranker

    config = load_settings(args.settings).answer
    sets = args.sets or list(DEFAULT_SETS)
    missing = [str(p) for p in sets if not p.is_file()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)}")
    other = HALVES[1 - HALVES.index(args.half)]
    extracted = {path: extract(path, config) for path in sets}
    train = concatenate([g.half(args.half) for g in extracted.values()])
    weights = fit_linear(train, args.l2, args.drop)
    penalty = limit_runs(train, weights, args.max_multi)
    hand = np.array(load_ranker("sentence_ranker_hand.json").weights)

    print(f"fitted on the {args.half} halves: {train.count} questions, {len(train.labels)} candidate sentences")
    print(f"quotes of several sentences weighed down by {penalty:.2f} to keep them at most {args.max_multi:.0%} of the fit half's")
    print(f"{'top-1 holds an answer':<28}{'fit half':>10}{'check half':>12}   (hand weights: fit / check)")
    for path, groups in extracted.items():
        fit_half, check_half = groups.half(args.half), groups.half(other)
        print(
            f"{path.name:<28}{top1_right(fit_half, fit_half.features @ weights):>10.3f}"
            f"{top1_right(check_half, check_half.features @ weights):>12.3f}"
            f"   ({top1_right(fit_half, fit_half.features @ hand):.3f} / {top1_right(check_half, check_half.features @ hand):.3f})"
        )
    if args.compare_trees:
        model = fit_trees(train)
        for path, groups in extracted.items():
            fit_half, check_half = groups.half(args.half), groups.half(other)
            print(
                f"{'trees ' + path.name:<28}{top1_right(fit_half, model.predict(fit_half.features)):>10.3f}"
                f"{top1_right(check_half, model.predict(check_half.features)):>12.3f}"
            )
    print("weights:")
    for name, weight in zip(FEATURE_NAMES, weights):
        print(f"  {name:<18}{weight:>9.4f}")
    if args.dry_run:
        return 0
    out = args.out or DEFAULT_OUT
    record = {
        "note": "Weights of the sentence ranker (retrieval/ranker.py), a conditional logit fitted by "
        "`python -m retrieval.measure.fit`; see README 'Asking questions'.",
        "weights": {name: round(float(w), 6) for name, w in zip(FEATURE_NAMES, weights) if w != 0.0},
        "bias": 0.0,
        "features": list(FEATURE_NAMES),
        "fitted_on": {"sets": [p.name for p in sets], "half": args.half, "questions": train.count,
                      "candidates": int(len(train.labels)), "l2": args.l2, "dropped": sorted(args.drop),
                      "max_multi": args.max_multi, "run_penalty": round(penalty, 4)},
        "command": "python -m retrieval.measure.fit " + " ".join(argv if argv is not None else sys.argv[1:]),
        "versions": versions(),
    }
    out.write_text(json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
