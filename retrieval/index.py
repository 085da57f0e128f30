"""An exact BM25Okapi index: rank-bm25's ranking, without its Python loop over paragraphs.

Each term's BM25 contribution to each paragraph that holds it is computed once, at build time, and
stored as one sparse column per term. A query is then the sum of its terms' columns and a partial sort.
Scores equal rank-bm25's ``BM25Okapi(...).get_scores`` (same idf with its epsilon floor, same k1 and b);
ties are broken by paragraph order.

This is the only module that imports numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25


class BM25Index:
    """Term columns of precomputed BM25 weights (CSC layout: ``indptr``, ``doc_ids``, ``weights``)."""

    def __init__(
        self,
        terms: Sequence[str],
        indptr: np.ndarray,
        doc_ids: np.ndarray,
        weights: np.ndarray,
        doc_count: int,
        params: BM25Params,
    ) -> None:
        self.terms = list(terms)
        self.term_ids = {term: i for i, term in enumerate(self.terms)}
        self.indptr = indptr
        self.doc_ids = doc_ids
        self.weights = weights
        self.doc_count = doc_count
        self.params = params

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]], params: BM25Params = BM25Params()) -> "BM25Index":
        """Index tokenized paragraphs; ``docs[i]`` is paragraph i's token list."""
        term_ids: dict[str, int] = {}
        flat: list[int] = []
        lengths = np.zeros(len(docs), dtype=np.int64)
        for i, doc in enumerate(docs):
            flat.extend(term_ids.setdefault(token, len(term_ids)) for token in doc)
            lengths[i] = len(doc)
        doc_count, term_count = len(docs), len(term_ids)
        if doc_count == 0:
            raise ValueError("cannot index an empty corpus")

        # One (doc, term) key per token; unique keys with their counts are the term frequencies.
        token_docs = np.repeat(np.arange(doc_count, dtype=np.int64), lengths)
        keys = np.asarray(flat, dtype=np.int64) * doc_count + token_docs  # term-major: sorts into columns
        keys, tf = np.unique(keys, return_counts=True)
        key_terms, key_docs = np.divmod(keys, doc_count)

        doc_freq = np.bincount(key_terms, minlength=term_count)
        idf = _okapi_idf(doc_freq, doc_count, params.epsilon)
        # A corpus whose paragraphs are all empty after tokenizing has no terms and so no weights.
        avg_len = lengths.sum() / doc_count or 1.0
        length_norm = params.k1 * (1 - params.b + params.b * lengths[key_docs] / avg_len)
        tf = tf.astype(np.float64)
        weights = idf[key_terms] * tf * (params.k1 + 1) / (tf + length_norm)

        indptr = np.zeros(term_count + 1, dtype=np.int64)
        np.cumsum(doc_freq, out=indptr[1:])
        terms = [""] * term_count
        for term, i in term_ids.items():
            terms[i] = term
        return cls(terms, indptr, key_docs.astype(np.int32), weights, doc_count, params)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every paragraph; a term repeated in the query counts each time, as in rank-bm25."""
        columns, counts = [], []
        for term in query:
            i = self.term_ids.get(term)
            if i is not None:
                columns.append(i)
        if not columns:
            return np.zeros(self.doc_count)
        ids, counts = np.unique(np.asarray(columns), return_counts=True)
        parts = [(self.indptr[i], self.indptr[i + 1], c) for i, c in zip(ids, counts)]
        docs = np.concatenate([self.doc_ids[s:e] for s, e, _ in parts])
        weights = np.concatenate([self.weights[s:e] * c for s, e, c in parts])
        return np.bincount(docs, weights=weights, minlength=self.doc_count)

    def closest_docs(self, query: Sequence[str], k: int = 10) -> tuple[list[int], list[float]]:
        """The k best paragraphs (ids, scores), best first; equal scores keep paragraph order."""
        scores = self.scores(query)
        k = min(k, self.doc_count)
        if k <= 0:
            return [], []
        if k < self.doc_count:
            # Take every paragraph tied with the k-th best, then order them stably.
            kth = np.partition(scores, self.doc_count - k)[self.doc_count - k]
            candidates = np.flatnonzero(scores >= kth)
        else:
            candidates = np.arange(self.doc_count)
        order = np.lexsort((candidates, -scores[candidates]))[:k]
        top = candidates[order]
        return top.tolist(), scores[top].tolist()


def _okapi_idf(doc_freq: np.ndarray, doc_count: int, epsilon: float) -> np.ndarray:
    """rank-bm25's BM25Okapi idf: negative values (terms in over half the paragraphs) floored at
    epsilon times the mean idf."""
    idf = np.log(doc_count - doc_freq + 0.5) - np.log(doc_freq + 0.5)
    if len(idf):
        floor = epsilon * idf.mean()
        idf = np.where(idf < 0, floor, idf)
    return idf


__all__ = ["BM25Index", "BM25Params"]
