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
from itertools import chain, islice
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

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
        coder = _TermCoder()
        for chunk in _chunks(docs):
            coder.add(list(chain.from_iterable(chunk)), [len(doc) for doc in chunk])
        flat = np.concatenate(coder.parts) if coder.parts else np.zeros(0, dtype=np.int32)
        return cls._from_arrays(flat, np.frombuffer(coder.lengths, dtype=np.int64), list(coder.term_ids), params)

    @classmethod
    def build_from_ids(cls, docs: Iterable[bytes], vocabulary: Sequence[str], params: BM25Params = BM25Params()) -> "BM25Index":
        """Index paragraphs given as native int32 arrays (bytes) of ids into ``vocabulary``: a token
        cache's form, read without touching a single token string."""
        arrays = list(docs)
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays)) // 4
        flat = np.frombuffer(b"".join(arrays), dtype=np.int32)
        del arrays
        # The index numbers only the terms this corpus uses, in vocabulary order.
        used = np.zeros(len(vocabulary), dtype=bool)
        used[flat] = True
        kept = np.flatnonzero(used)
        renumber = np.zeros(len(vocabulary), dtype=np.int32)
        renumber[kept] = np.arange(len(kept), dtype=np.int32)
        return cls._from_arrays(renumber[flat], lengths, [vocabulary[i] for i in kept.tolist()], params)

    @classmethod
    def _from_arrays(cls, flat: np.ndarray, lengths: np.ndarray, terms: list[str], params: BM25Params) -> "BM25Index":
        """The index of paragraphs whose term ids, concatenated, are ``flat``; paragraph i has
        ``lengths[i]`` of them and term t is ``terms[t]``."""
        from scipy.sparse import csr_matrix

        doc_count, term_count = len(lengths), len(terms)
        if doc_count == 0:
            raise ValueError("cannot index an empty corpus")
        offsets = np.zeros(doc_count + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # Paragraph rows of term occurrences, turned into term columns: scipy's conversion is a linear
        # counting pass that keeps each column's paragraph ids ascending; the duplicates it then sums
        # (a term repeated in a paragraph) are the term frequencies.
        rows = csr_matrix((np.ones(len(flat), dtype=np.int32), flat, offsets), shape=(doc_count, term_count))
        columns = rows.tocsc()
        del rows
        columns.sum_duplicates()
        indptr = columns.indptr.astype(np.int64)
        key_docs = columns.indices.astype(np.int32)
        tf = columns.data.astype(np.float64)
        del columns

        doc_freq = np.diff(indptr)
        key_terms = np.repeat(np.arange(term_count, dtype=np.int32), doc_freq)
        order = _first_appearance(flat, lengths, key_docs[indptr[:-1]])
        del flat
        idf = _okapi_idf(doc_freq, doc_count, params.epsilon, order)
        # A corpus whose paragraphs are all empty after tokenizing has no terms and so no weights.
        avg_len = lengths.sum() / doc_count or 1.0
        length_norm = params.k1 * (1 - params.b + params.b * lengths[key_docs] / avg_len)
        # Grouped as rank-bm25 groups it, so that equal scores come out bit-equal on both sides.
        weights = idf[key_terms] * (tf * (params.k1 + 1) / (tf + length_norm))
        return cls(terms, indptr, key_docs, weights, idf, doc_count, params)

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


class _TermCoder:
    """Turns token chunks into int32 term ids (new terms of a chunk numbered in sorted order, so that
    the same corpus always gives the same index files)."""

    def __init__(self) -> None:
        self.term_ids: dict[str, int] = {}
        self.parts: list[np.ndarray] = []
        self.lengths = array("q")

    def add(self, tokens: list[str], lengths: Sequence[int]) -> None:
        for term in sorted(set(tokens).difference(self.term_ids)):
            self.term_ids[term] = len(self.term_ids)
        self.parts.append(np.fromiter(map(self.term_ids.__getitem__, tokens), dtype=np.int32, count=len(tokens)))
        self.lengths.extend(lengths)


def _chunks(items: Iterable, size: int = 4096) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last may be shorter)."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _attribute(name: str) -> str:
    return "_idf" if name == "idf" else name


def disk_size(directory: str | os.PathLike) -> int:
    """Bytes taken by the files of a saved index."""
    return sum(entry.stat().st_size for entry in Path(directory).iterdir() if entry.is_file())


def _first_appearance(flat: np.ndarray, lengths: np.ndarray, first_doc: np.ndarray) -> np.ndarray:
    """Term ids in the order the corpus first uses them (rank-bm25's dictionary order).

    ``first_doc[t]`` is the first paragraph holding term t; only the tokens of those paragraphs are
    searched for each term's first position, which avoids sorting every token of the corpus.
    """
    token_docs = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    positions = np.flatnonzero(token_docs == first_doc[flat])
    del token_docs
    _, first = np.unique(flat[positions], return_index=True)
    return np.argsort(positions[first], kind="stable")


def _okapi_idf(doc_freq: np.ndarray, doc_count: int, epsilon: float, order: np.ndarray) -> np.ndarray:
    """rank-bm25's BM25Okapi idf: negative values (terms in over half the paragraphs) floored at
    epsilon times the mean idf.

    Computed as rank-bm25 computes it, to the last bit: math.log per term (numpy's vectorised log may
    round differently) and the mean as a running sum in the terms' first-appearance ``order``
    (cumsum adds in order; np.sum adds pairwise).
    """
    idf = np.array([math.log(doc_count - df + 0.5) - math.log(df + 0.5) for df in doc_freq.tolist()], dtype=np.float64)
    if len(idf):
        floor = epsilon * (np.cumsum(idf[order])[-1] / len(idf))
        idf = np.where(idf < 0, floor, idf)
    return idf


__all__ = ["BM25Index", "BM25Params", "best_of", "disk_size"]
