"""The sentence ranker: a fitted model over the features of each candidate sentence, and a gate that
shows a highlight only when it is likely right.

The features (``FEATURES``) are computed by ``retrieval.features``. A model is read from a JSON file
such as ``retrieval/data/sentence_ranker.json``, which also records what it was fitted on and with
which library versions (``qabot fit`` writes it). Two kinds:

- ``linear`` (``sentence_ranker_linear.json``): a weight per feature; the score is a dot product.
- ``trees`` (the shipped ``sentence_ranker.json``): the same linear part plus a few dozen shallow
  gradient-boosted trees fitted on top of its scores, stored as flat lists of split features,
  thresholds, children and leaf values. Scoring needs no fitting library: loading turns each tree into
  nested tuples walked in plain Python, and ``tests/unit/retrieval/test_tree_ranker.py`` holds the
  walk equal to LightGBM's own predictions.
"""

from __future__ import annotations

import json
import math
from operator import mul
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence, Union

from retrieval.highlight import HIGHLIGHT_FEATURES

# Each feature of a candidate sentence, in the order feature vectors hold them, with what it measures.
FEATURES: dict[str, str] = {
    "paragraph_score": "its paragraph's BM25 score over the best paragraph's (0..1; scaled down for English)",
    "passage_score": "the best BM25 score of a passage (or paragraph) holding it, over the best document's",
    "word_match": "question words it holds, each weighted by corpus idf and by its idf among the competing sentences, "
    "subject words discounted; share of the question's weight",
    "subject_credit": "the question's words its article title or heading holds, as a share of the question's weight",
    "proximity": "most question weight (subject aside) found within the proximity window, as a share",
    "char_match": "share of the question's other characters it holds",
    "bigram_match": "the question's character bigrams it holds, weighted by their idf (subject's discounted), as a share",
    "neighbour_match": "the word match of the better of the sentences before and after it",
    "novelty": "share of its content words the question does not hold, capped at 1 for 20 or more",
    "first_sentence": "1 when it starts its paragraph",
    "extra_sentences": "sentences beyond the first in a quote whose evidence runs across adjacent sentences (0 to 2)",
    "cue_how_many": "a how-many question, and it holds a count (in the measure asked, when given)",
    "cue_when": "a when question, and it holds a date",
    "cue_where": "a where question, and it holds a place",
    "cue_who": "a who question, and it holds a person",
    "answer_near": "a typed question, and an answer of its type stands close to the question words it holds",
    "numbers_match": "share of the question's numbers (years, counts) it holds; 0 when the question has none",
    "numbers_conflict": "the question has numbers, and it holds numbers, none of them the question's",
    "pronoun_start": "it opens with a word pointing back (他, 其, 这 ...): it needs the sentence before it",
    "paragraph_coverage": "share of the question's idf weight its paragraph (with title and heading) holds",
    "length": "its length in characters over 100, at most 1",
    "head_match": "a which/what question's noun (哪一个山脉), and it holds a word ending in it the question lacks",
    "paragraph_rank": "its paragraph's place among the competing paragraphs, best first (0, 1, 2 ...)",
    "position": "its place in its paragraph: 0 for the first sentence, 1 for the last",
    "passage_gap": "the best passage_score among the competing candidates less its own",
    "word_match_gap": "the best word_match among the competing candidates less its own",
    "proximity_gap": "the best proximity among the competing candidates less its own",
    "char_match_gap": "the best char_match among the competing candidates less its own",
    "bigram_match_gap": "the best bigram_match among the competing candidates less its own",
    "neighbour_gap": "the best neighbour_match among the competing candidates less its own",
    "answer_near_gap": "the best answer_near among the competing candidates less its own",
}
# Each gap feature and the feature it measures the candidate's distance from the best on.
GAP_FEATURES: dict[str, str] = {
    "passage_gap": "passage_score",
    "word_match_gap": "word_match",
    "proximity_gap": "proximity",
    "char_match_gap": "char_match",
    "bigram_match_gap": "bigram_match",
    "neighbour_gap": "neighbour_match",
    "answer_near_gap": "answer_near",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)


# What a highlight's confidence is judged by: the sentence ranker's lead of the quote over the best
# other sentence (/ 5, at most 1), whether the quote runs over several sentences, then what
# ``retrieval.highlight.HIGHLIGHT_FEATURES`` names.
GATE_FEATURES: tuple[str, ...] = ("quote_lead", "quote_multi", *HIGHLIGHT_FEATURES)


class RankerError(ValueError):
    """A ranker file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class LinearModel:
    """score = bias + sum of weight * feature, over ``names`` (names a file leaves out weigh 0)."""

    names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float = 0.0
    # Every weight non-zero: none is skipped, so the sum may run over all the products.
    _all_weigh: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_all_weigh", all(self.weights))

    @classmethod
    def from_mapping(cls, names: Sequence[str], weights: Mapping[str, float], bias: float = 0.0, where: str = "") -> "LinearModel":
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise RankerError(f"{where or 'ranker'}: unknown features {', '.join(unknown)}")
        return cls(tuple(names), tuple(float(weights.get(f, 0.0)) for f in names), float(bias))

    def without(self, off: Sequence[str]) -> "LinearModel":
        """The same model with the named features switched off (their weight 0)."""
        unknown = sorted(set(off) - set(self.names))
        if unknown:
            raise RankerError(f"cannot switch off unknown features {', '.join(unknown)}")
        return LinearModel(self.names, tuple(0.0 if f in off else w for f, w in zip(self.names, self.weights)), self.bias)

    def score(self, values: Sequence[float]) -> float:
        """The dot product of the weights and a feature vector in ``names`` order.

        >>> LinearModel(("a", "b"), (2.0, -1.0), 0.5).score([1.0, 1.0])
        1.5
        """
        if self._all_weigh:  # a fitted model: the products summed in the same order, at C speed
            return self.bias + sum(map(mul, self.weights, values))
        return self.bias + sum(w * v for w, v in zip(self.weights, values) if w)

    def mapping(self) -> dict[str, float]:
        return dict(zip(self.names, self.weights))


class Tree(NamedTuple):
    """One regression tree, as flat lists: internal node i sends a feature vector left when
    ``values[feature[i]] <= threshold[i]`` (LightGBM's rule), else right; a child below 0 is the leaf
    ``~child``. A tree with no internal node is its one leaf."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    leaf: tuple[float, ...]

    def value(self, values: Sequence[float]) -> float:
        """The leaf value reached by ``values``.

        >>> Tree((0,), (0.5,), (-1,), (-2,), (1.0, 2.0)).value([0.7])
        2.0
        """
        if not self.feature:
            return self.leaf[0]
        feature, threshold, left, right = self.feature, self.threshold, self.left, self.right
        node = 0
        while node >= 0:
            node = left[node] if values[feature[node]] <= threshold[node] else right[node]
        return self.leaf[~node]


@dataclass(frozen=True)
class TreeModel:
    """score = the linear part's score + the sum of the trees' leaves (gradient-boosted trees fitted on
    top of the linear model's scores). Features switched off (``off``, positions in ``names``) are
    read as 0 by the trees and weigh 0 in the linear part."""

    linear: LinearModel
    trees: tuple[Tree, ...]
    off: frozenset[int] = frozenset()
    # The trees as nested tuples, built once: a ranker scores every candidate sentence of every
    # question, and a node read as one tuple costs one step where the flat lists take four look-ups.
    _nested: tuple["Node", ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        nested = tuple(_nested(tree, self.off, 0) if tree.feature else tree.leaf[0] for tree in self.trees)
        object.__setattr__(self, "_nested", nested)

    @property
    def names(self) -> tuple[str, ...]:
        return self.linear.names

    @property
    def weights(self) -> tuple[float, ...]:
        return self.linear.weights

    def without(self, off: Sequence[str]) -> "TreeModel":
        linear = self.linear.without(off)
        return TreeModel(linear, self.trees, self.off | {self.names.index(f) for f in off})

    def trees_score(self, values: Sequence[float]) -> float:
        """The trees' part of the score: what LightGBM's ``predict(raw_score=True)`` gives, summed in
        the same order, so the two agree exactly."""
        total = 0.0
        for node in self._nested:
            while node.__class__ is tuple:
                feature, threshold, left, right = node
                node = left if values[feature] <= threshold else right
            total += node
        return total

    def score(self, values: Sequence[float]) -> float:
        return self.linear.score(values) + self.trees_score(values)

    def mapping(self) -> dict[str, float]:
        return self.linear.mapping()


# A tree node as nested tuples: (feature, threshold, left, right), down to a leaf's value.
Node = Union[tuple, float]


def _nested(tree: Tree, off: frozenset[int], node: int) -> Node:
    """``tree`` from ``node`` down as nested tuples. A switched-off feature reads as 0: its comparison
    is decided here, and only the branch taken is kept."""
    if node < 0:
        return tree.leaf[~node]
    feature, threshold = tree.feature[node], tree.threshold[node]
    if feature in off:
        return _nested(tree, off, tree.left[node] if 0.0 <= threshold else tree.right[node])
    return (feature, threshold, _nested(tree, off, tree.left[node]), _nested(tree, off, tree.right[node]))


@dataclass(frozen=True)
class SentenceRanker:
    """The sentence model, and the highlight gate: a highlight is shown only when the gate's
    probability (a logistic model over ``GATE_FEATURES``) reaches ``threshold``; no gate, always."""

    sentences: LinearModel | TreeModel
    gate: LinearModel | None = None
    threshold: float = 0.5
    name: str = ""

    def score(self, values: Sequence[float]) -> float:
        return self.sentences.score(values)

    def highlight_confidence(self, values: Sequence[float]) -> float:
        """The gate's probability that a highlight with these ``GATE_FEATURES`` is right (1 without a gate)."""
        if self.gate is None:
            return 1.0
        return 1.0 / (1.0 + math.exp(-self.gate.score(values)))

    def shows(self, values: Sequence[float]) -> bool:
        return self.gate is None or self.highlight_confidence(values) >= self.threshold


def load_ranker(name: str | Path, off: Sequence[str] = ()) -> SentenceRanker:
    """A ranker file (a path, or the name of a file shipped in ``retrieval/data``), with the named
    sentence features switched off."""
    path = Path(name)
    try:
        if path.is_absolute() or path.exists():
            text = path.read_text(encoding="utf-8")
        else:
            text = resources.files("retrieval").joinpath("data", str(name)).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise RankerError(f"{name}: cannot read the sentence ranker: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("weights"), dict):
        raise RankerError(f"{name}: a sentence ranker file needs a 'weights' mapping of feature names to numbers")
    try:
        sentences = LinearModel.from_mapping(FEATURE_NAMES, data["weights"], data.get("bias", 0.0), str(name))
        model = data.get("model", "linear")
        if model == "trees":
            sentences = TreeModel(sentences, _read_trees(data, str(name)))
        elif model != "linear":
            raise RankerError(f"{name}: 'model' is {model!r}; it must be 'linear' or 'trees'")
        gate, threshold = None, 0.5
        if isinstance(data.get("highlight"), dict):
            part = data["highlight"]
            gate = LinearModel.from_mapping(GATE_FEATURES, part.get("weights", {}), part.get("bias", 0.0), f"{name} highlight")
            threshold = float(part.get("threshold", 0.5))
    except (TypeError, ValueError, AttributeError) as exc:
        raise RankerError(f"{name}: {exc}") from None
    return SentenceRanker(sentences.without(off) if off else sentences, gate, threshold, str(name))


def _read_trees(data: dict, where: str) -> tuple[Tree, ...]:
    """The ``trees`` of a tree ranker file: each a mapping of ``feature`` (indices into the file's
    ``features`` list), ``threshold``, ``left``, ``right`` (one per internal node) and ``leaf``."""
    names = data.get("features")
    if not isinstance(names, list) or not isinstance(data.get("trees"), list) or not data["trees"]:
        raise RankerError(f"{where}: a tree ranker file needs a 'features' list and a non-empty 'trees' list")
    unknown = sorted(set(map(str, names)) - set(FEATURE_NAMES))
    if unknown:
        raise RankerError(f"{where}: unknown features {', '.join(unknown)}")
    position = [FEATURE_NAMES.index(n) for n in names]
    trees = []
    for number, part in enumerate(data["trees"]):
        try:
            feature = tuple(position[int(i)] for i in part["feature"])
            threshold = tuple(float(t) for t in part["threshold"])
            left, right = tuple(int(c) for c in part["left"]), tuple(int(c) for c in part["right"])
            leaf = tuple(float(v) for v in part["leaf"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise RankerError(f"{where}: tree {number}: needs feature, threshold, left, right and leaf lists ({exc!r})") from None
        inner = len(feature)
        if not leaf or len(threshold) != inner or len(left) != inner or len(right) != inner or len(leaf) != (inner + 1 if inner else 1):
            raise RankerError(f"{where}: tree {number}: the lists' lengths do not make a tree ({inner} splits, {len(leaf)} leaves)")
        children = left + right
        if any(c >= inner or ~c >= len(leaf) for c in children) or any(c == 0 for c in children):
            raise RankerError(f"{where}: tree {number}: a child points outside the tree")
        trees.append(Tree(feature, threshold, left, right, leaf))
    return tuple(trees)


@lru_cache(maxsize=8)
def cached_ranker(name: str, off: tuple[str, ...] = ()) -> SentenceRanker:
    """``load_ranker`` once per process for each (file, switched-off features)."""
    return load_ranker(name, off)
