"""The sentence ranker: a fitted linear model over the features of each candidate sentence, and a
gate that shows a highlight only when it is likely right.

The features (``FEATURES``) are computed by ``retrieval.features``; a model is a weight per feature,
read from a JSON file such as ``retrieval/data/sentence_ranker.json``, which also records what it was
fitted on and with which library versions (``python -m retrieval.measure.fit`` writes it). Scoring is a
dot product in plain Python: answering needs no fitting library.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence

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
        return self.bias + sum(w * v for w, v in zip(self.weights, values) if w)

    def mapping(self) -> dict[str, float]:
        return dict(zip(self.names, self.weights))


@dataclass(frozen=True)
class SentenceRanker:
    """The sentence model, and the highlight gate: a highlight is shown only when the gate's
    probability (a logistic model over ``GATE_FEATURES``) reaches ``threshold``; no gate, always."""

    sentences: LinearModel
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
        gate, threshold = None, 0.5
        if isinstance(data.get("highlight"), dict):
            part = data["highlight"]
            gate = LinearModel.from_mapping(GATE_FEATURES, part.get("weights", {}), part.get("bias", 0.0), f"{name} highlight")
            threshold = float(part.get("threshold", 0.5))
    except (TypeError, ValueError, AttributeError) as exc:
        raise RankerError(f"{name}: {exc}") from None
    return SentenceRanker(sentences.without(off) if off else sentences, gate, threshold, str(name))


@lru_cache(maxsize=8)
def cached_ranker(name: str, off: tuple[str, ...] = ()) -> SentenceRanker:
    """``load_ranker`` once per process for each (file, switched-off features)."""
    return load_ranker(name, off)
