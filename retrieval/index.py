"""An exact BM25Okapi index: rank-bm25's ranking, without its Python loop over paragraphs.

Each term's BM25 contribution to each paragraph that holds it is computed once, at build time, and
stored as one sparse column per term. A query is then the sum of its terms' columns and a partial sort.
Scores equal rank-bm25's ``BM25Okapi(...).get_scores`` (same idf with its epsilon floor, same k1 and b);
ties are broken by paragraph order.

The columns are plain arrays, saved as ``.npy`` files and memory-mapped on load, so opening even a
million-paragraph index reads almost nothing until a query touches it.

This is the only module that imports numpy.
"""

from __future__ import annotations

import math
import os
from array import array
from itertools import filterfalse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

# Terms are stored one per line, so a term may not hold the line separator (the tokenizer drops white
# space, so none does).
_TERMS_FILE = "terms.txt"
_ARRAYS = ("indptr", "doc_ids", "weights", "idf")


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25


class BM25Index:
    """Term columns of precomputed BM25 weights (CSC layout: ``indptr``, ``doc_ids``, ``weights``).

    Column ``t`` is ``doc_ids[indptr[t]:indptr[t + 1]]`` (ascending paragraph ids) with the matching
    ``weights``: idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len)).
    """

    def __init__(
        self,
        terms: Sequence[str],
        indptr: np.ndarray,
        doc_ids: np.ndarray,
        weights: np.ndarray,
        idf: np.ndarray,
        doc_count: int,
        params: BM25Params,
    ) -> None:
        self.terms = list(terms)
        self.term_ids = {term: i for i, term in enumerate(self.terms)}
        self.indptr = indptr
        self.doc_ids = doc_ids
        self.weights = weights
        self._idf = idf
        self.doc_count = doc_count
        self.params = params

    @classmethod
    def build(cls, docs: Iterable[Sequence[str]], params: BM25Params = BM25Params()) -> "BM25Index":
        """Index tokenized paragraphs, read once in order; paragraph i's id is i."""
        term_ids: dict[str, int] = {}
        flat = array("i")
        lengths = array("q")
        is_known = term_ids.__contains__
        for doc in docs:
            # This loop runs over every token of the corpus, so new terms are found and ids looked up
            # by C-level iterators. Ids follow first appearance, the order rank-bm25 sums idf in.
            for term in filterfalse(is_known, dict.fromkeys(doc)):
                term_ids[term] = len(term_ids)
            flat.extend(map(term_ids.__getitem__, doc))
            lengths.append(len(doc))
        doc_count, term_count = len(lengths), len(term_ids)
        if doc_count == 0:
            raise ValueError("cannot index an empty corpus")
        lengths_np = np.frombuffer(lengths, dtype=np.int64)

        # One (term, doc) key per token, term-major so that sorting puts them into columns; the
        # unique keys with their counts are the term frequencies.
        token_docs = np.repeat(np.arange(doc_count, dtype=np.int64), lengths_np)
        keys = np.frombuffer(flat, dtype=np.int32).astype(np.int64)
        del flat
        keys *= doc_count
        keys += token_docs
        del token_docs
        keys, tf = np.unique(keys, return_counts=True)
        key_terms, key_docs = np.divmod(keys, doc_count)
        del keys

        doc_freq = np.bincount(key_terms, minlength=term_count)
        idf = _okapi_idf(doc_freq, doc_count, params.epsilon)
        # A corpus whose paragraphs are all empty after tokenizing has no terms and so no weights.
        avg_len = lengths_np.sum() / doc_count or 1.0
        length_norm = params.k1 * (1 - params.b + params.b * lengths_np[key_docs] / avg_len)
        tf = tf.astype(np.float64)
        # Grouped as rank-bm25 groups it, so that equal scores come out bit-equal on both sides.
        weights = idf[key_terms] * (tf * (params.k1 + 1) / (tf + length_norm))

        indptr = np.zeros(term_count + 1, dtype=np.int64)
        np.cumsum(doc_freq, out=indptr[1:])
        return cls(list(term_ids), indptr, key_docs.astype(np.int32), weights, idf, doc_count, params)

    @property
    def postings(self) -> int:
        """How many (term, paragraph) pairs the index holds."""
        return int(self.indptr[-1])

    def idf(self, term: str) -> float:
        """The term's BM25Okapi idf (with the epsilon floor); 0 for a term no paragraph holds."""
        i = self.term_ids.get(term)
        return 0.0 if i is None else float(self._idf[i])

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every paragraph; a term repeated in the query counts each time, as in rank-bm25."""
        return self._scores(self._columns(query))[0]

    def closest_docs(self, query: Sequence[str], k: int = 10) -> tuple[list[int], list[float]]:
        """The k best paragraphs (ids, scores), best first; equal scores keep paragraph order."""
        k = min(k, self.doc_count)
        if k <= 0:
            return [], []
        columns = self._columns(query)
        scores, docs = self._scores(columns)
        top = _best_touched(scores, docs, k, len(columns))
        if top is None:
            top = best_of(scores, k)
        return top.tolist(), scores[top].tolist()

    def _scores(self, columns: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """Dense scores, and the paragraph ids of the columns summed (a paragraph once per column)."""
        if not columns:
            return np.zeros(self.doc_count), np.zeros(0, dtype=np.int32)
        docs = np.concatenate([self.doc_ids[start:end] for start, end in columns])
        weights = np.concatenate([self.weights[start:end] for start, end in columns])
        # bincount adds in array order: per paragraph, the query's terms in order, as rank-bm25 does.
        return np.bincount(docs, weights=weights, minlength=self.doc_count), docs

    def _columns(self, query: Sequence[str]) -> list[tuple[int, int]]:
        """(start, end) of each known query term's column, in query order, a repeated term repeated.

        Summing the columns in this order adds each paragraph's terms in rank-bm25's order, so scores
        that are mathematically equal are also equal in floating point, and ties break the same way.
        """
        columns = []
        for term in query:
            i = self.term_ids.get(term)
            if i is not None:
                columns.append((int(self.indptr[i]), int(self.indptr[i + 1])))
        return columns

    def save(self, directory: str | os.PathLike) -> dict:
        """Write the arrays as ``.npy`` files and the terms as UTF-8 lines into an existing directory.

        Returns what ``load`` needs besides the files (paragraph count and parameters), for the caller's
        own metadata file.
        """
        directory = Path(directory)
        if any("\n" in term for term in self.terms):
            raise ValueError("a term holds a line break and cannot be stored one per line")
        (directory / _TERMS_FILE).write_text("\n".join(self.terms), encoding="utf-8")
        for name in _ARRAYS:
            np.save(directory / f"{name}.npy", np.ascontiguousarray(getattr(self, _attribute(name))))
        return {
            "doc_count": self.doc_count,
            "term_count": len(self.terms),
            "postings": self.postings,
            "k1": self.params.k1,
            "b": self.params.b,
            "epsilon": self.params.epsilon,
        }

    @classmethod
    def load(cls, directory: str | os.PathLike, meta: dict) -> "BM25Index":
        """Open an index written by ``save``; the arrays are memory-mapped read-only, not read."""
        directory = Path(directory)
        text = (directory / _TERMS_FILE).read_text(encoding="utf-8")
        terms = text.split("\n") if text else []
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _ARRAYS}
        if len(arrays["indptr"]) != len(terms) + 1 or len(terms) != meta["term_count"]:
            raise ValueError(f"{directory}: terms and arrays do not match")
        params = BM25Params(meta["k1"], meta["b"], meta["epsilon"])
        return cls(terms, arrays["indptr"], arrays["doc_ids"], arrays["weights"], arrays["idf"], meta["doc_count"], params)


def _best_touched(scores: np.ndarray, docs: np.ndarray, k: int, columns: int) -> np.ndarray | None:
    """The k best paragraphs found among those the query's columns touched, or None when untouched
    paragraphs (score 0) could still be among them.

    Looking only at touched paragraphs avoids a partial sort over the whole corpus. A paragraph appears
    at most once per column, so the (k * columns)-th best of the touched scores, counted with
    repeats, is no better than the k-th best paragraph: everything at or above it is a safe shortlist.
    """
    touched = scores[docs]
    shortlist_size = k * columns
    if len(touched) > shortlist_size:
        floor = np.partition(touched, len(touched) - shortlist_size)[len(touched) - shortlist_size]
        shortlist = np.unique(docs[touched >= floor])
    else:
        shortlist = np.unique(docs)
    if len(shortlist) < k:
        return None
    top = shortlist[np.lexsort((shortlist, -scores[shortlist]))[:k]]
    return top if scores[top[-1]] > 0 else None


def best_of(scores: np.ndarray, k: int) -> np.ndarray:
    """The k best of all paragraphs of a dense score array (ours or rank-bm25's), ties in paragraph order."""
    n = len(scores)
    if k < n:
        # Take every paragraph tied with the k-th best, then order them stably.
        kth = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(n)
    return candidates[np.lexsort((candidates, -scores[candidates]))[:k]]


def _attribute(name: str) -> str:
    return "_idf" if name == "idf" else name


def disk_size(directory: str | os.PathLike) -> int:
    """Bytes taken by the files of a saved index."""
    return sum(entry.stat().st_size for entry in Path(directory).iterdir() if entry.is_file())


def _okapi_idf(doc_freq: np.ndarray, doc_count: int, epsilon: float) -> np.ndarray:
    """rank-bm25's BM25Okapi idf: negative values (terms in over half the paragraphs) floored at
    epsilon times the mean idf.

    Computed as rank-bm25 computes it, to the last bit: math.log per term (numpy's vectorised log may
    round differently) and the mean as a running sum in first-appearance order (cumsum adds in
    order; np.sum adds pairwise).
    """
    idf = np.array([math.log(doc_count - df + 0.5) - math.log(df + 0.5) for df in doc_freq.tolist()], dtype=np.float64)
    if len(idf):
        floor = epsilon * (np.cumsum(idf)[-1] / len(idf))
        idf = np.where(idf < 0, floor, idf)
    return idf


__all__ = ["BM25Index", "BM25Params", "best_of", "disk_size"]
