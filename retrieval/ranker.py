"""The sentence ranker: a fitted linear model over the features of each candidate sentence.

The features (``FEATURES``) are computed by ``retrieval.features``; a model is a weight per feature,
read from a JSON file such as ``retrieval/data/sentence_ranker.json``, which also records what it was
fitted on and with which library versions (``python -m retrieval.measure.fit`` writes it). Scoring is a
dot product in plain Python: answering needs no fitting library.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence

# Each feature of a candidate sentence, in the order feature vectors hold them, with what it measures.
FEATURES: dict[str, str] = {
    "paragraph_score": "its paragraph's BM25 score over the best paragraph's (0..1; scaled down for English)",
    "paragraph_first": "1 when its paragraph is the best-ranked one",
    "passage_score": "the best BM25 score of a passage (or paragraph) holding it, over the best document's",
    "word_match": "question words it holds, each weighted by corpus idf and by its idf among the competing sentences, "
    "subject words discounted; share of the question's weight",
    "subject_credit": "the question's words its article title or heading holds, as a share of the question's weight",
    "proximity": "most question weight (subject aside) found within the proximity window, as a share",
    "char_match": "share of the question's other characters it holds",
    "bigram_match": "the question's character bigrams it holds, weighted by their idf (subject's discounted), as a share",
    "sentence_bm25": "BM25 of the question over the competing sentences (subject words discounted), over the best sentence's",
    "neighbour_match": "the word match of the better of the sentences before and after it",
    "novelty": "share of its content words the question does not hold, capped at 1 for 20 or more",
    "first_sentence": "1 when it starts its paragraph",
    "extra_sentences": "sentences beyond the first in a quote whose evidence runs across adjacent sentences (0 to 2)",
    "cue_how_many": "a how-many question, and it holds a count (in the measure asked, when given)",
    "cue_when": "a when question, and it holds a date",
    "cue_where": "a where question, and it holds a place",
    "cue_who": "a who question, and it holds a person",
    "answer_near": "a typed question, and an answer of its type stands close to the question words it holds",
    "slot_match": "the question words right before and after its question word stand in it with words the question lacks between or beside them",
    "numbers_match": "share of the question's numbers (years, counts) it holds; 0 when the question has none",
    "numbers_conflict": "the question has numbers, and it holds numbers, none of them the question's",
    "pronoun_start": "it opens with a word pointing back (他, 其, 这 ...): it needs the sentence before it",
    "common_run": "the longest run of the question's characters it holds verbatim, over 10 characters, at most 1",
    "terms_share": "share of the question's distinct words it holds, unweighted",
    "paragraph_coverage": "share of the question's idf weight its paragraph (with title and heading) holds",
    "length": "its length in characters over 100, at most 1",
    "head_match": "a which/what question's noun (哪一个山脉), and it holds a word ending in it the question lacks",
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)


class RankerError(ValueError):
    """A ranker file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class LinearRanker:
    """score = bias + sum of weight * feature, over ``FEATURE_NAMES`` (absent names weigh 0)."""

    weights: tuple[float, ...]  # one per FEATURE_NAMES entry
    bias: float = 0.0
    name: str = ""

    @classmethod
    def from_mapping(cls, weights: Mapping[str, float], bias: float = 0.0, name: str = "") -> "LinearRanker":
        unknown = sorted(set(weights) - set(FEATURE_NAMES))
        if unknown:
            raise RankerError(f"{name or 'ranker'}: unknown features {', '.join(unknown)}")
        return cls(tuple(float(weights.get(f, 0.0)) for f in FEATURE_NAMES), float(bias), name)

    def without(self, names: Sequence[str]) -> "LinearRanker":
        """The same model with the named features switched off (their weight 0)."""
        unknown = sorted(set(names) - set(FEATURE_NAMES))
        if unknown:
            raise RankerError(f"cannot switch off unknown features {', '.join(unknown)}")
        off = set(names)
        return LinearRanker(tuple(0.0 if f in off else w for f, w in zip(FEATURE_NAMES, self.weights)), self.bias, self.name)

    def score(self, values: Sequence[float]) -> float:
        """The dot product of the weights and a feature vector in ``FEATURE_NAMES`` order.

        >>> LinearRanker.from_mapping({"word_match": 2.0, "first_sentence": -1.0}).score(
        ...     [1.0 if f in ("word_match", "first_sentence") else 0.0 for f in FEATURE_NAMES])
        1.0
        """
        return self.bias + sum(w * v for w, v in zip(self.weights, values) if w)

    def mapping(self) -> dict[str, float]:
        return {f: w for f, w in zip(FEATURE_NAMES, self.weights)}


def load_ranker(name: str | Path) -> LinearRanker:
    """A ranker file: a path, or the name of a file shipped in ``retrieval/data``."""
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
        return LinearRanker.from_mapping(data["weights"], data.get("bias", 0.0), str(name))
    except (TypeError, ValueError) as exc:
        raise RankerError(f"{name}: {exc}") from None


@lru_cache(maxsize=8)
def cached_ranker(name: str, off: tuple[str, ...] = ()) -> LinearRanker:
    """``load_ranker`` once per process for each (file, switched-off features)."""
    ranker = load_ranker(name)
    return ranker.without(off) if off else ranker
