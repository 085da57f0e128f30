"""An exact BM25Okapi index: rank-bm25's ranking and scores, without its Python loop over documents.

Each term has a column: the documents holding it, with the term's frequency in each
(``retrieval.postings`` stores them compactly). A score is computed from frequencies, document lengths
and idf exactly as rank-bm25 computes it, in float64 and in the same order of operations, so equal
scores are equal to the last bit and ties break the same way (document order).

A query does not score every posting of its terms (MaxScore, as Lucene and PISA prune). Its rarest
terms are scored first, and the best documents they find are scored exactly: a floor under the k-th
best score. The terms with the most postings whose largest possible contributions add up to less than
that floor could not lift a document that none of the other terms holds into the top k: they are only
looked up for the documents the others found, and documents that can no longer reach the top k are
dropped as the look-ups go. The survivors are then scored exactly, term by term in the query's order,
as rank-bm25 adds them. Pruning only decides which documents are scored, with a safety margin far
above rounding error, so the top k and its scores are rank-bm25's (``tests/unit/retrieval/test_index.py``
checks it against rank-bm25 and against dense score arrays).

The arrays are plain ``.npy`` files, memory-mapped on load; the terms are a UTF-8 blob with a hash
table (``retrieval.term_table``), so opening a million-paragraph index reads almost nothing.
This module and ``retrieval.postings`` / ``retrieval.kernels`` / ``retrieval.index_build`` are the only
ones that use numpy.
"""

from __future__ import annotations

import math
import os
import threading
from array import array
from collections import Counter
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from retrieval.postings import BLOCK, OFFSETS, STREAMS, Columns, EncodedColumns, assemble_columns, bm25_weights, encode_columns, kernels, offsets_of
from retrieval.term_table import StringTable, write_strings

TERMS = "terms"  # terms.bin, terms.offsets, terms.slots
PER_TERM = ("df", "width", "max_weight", "idf", "first_doc", "first_pos", "source_ids")
PER_DOCUMENT = ("doc_lengths",)
VOCABULARY = ("vocab_words", "vocab_chars", "vocab_char_offsets", "vocab_char_words")
ARRAYS = PER_TERM + OFFSETS + PER_DOCUMENT + STREAMS + VOCABULARY
# Pruning keeps a document unless its best possible score falls short of the k-th best by more than
# this share: rounding differs between summation orders by about 1e-16.
_MARGIN = 1e-9
# The floor comes from the documents found by the units whose columns hold at most 1 / this share of
# all documents (at least the first unit, and until as many documents are found as are then scored
# exactly; a fixed number of postings suits one corpus size only) ...
_SEED_SHARE = 100
# ... of which this many, the best by those units, are scored exactly.
_FLOOR_DOCUMENTS = 80
# The floor decodes whole the other units' columns of up to 1 / this share of all documents (at least
# those its look-up would decode whole anyway): at a million paragraphs a look-up of its documents
# decodes as many blocks as a column of some 30,000 postings holds, and those columns are decoded
# whole later in most queries all the same (scored in full, or looked up for thousands of candidates).
_FLOOR_WHOLE_SHARE = 30
_SCRATCH_KEPT = 4  # score accumulators kept between queries (each 9 bytes a document)


@dataclass(frozen=True)
class BM25Params:
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25


class BM25Index:
    """Term columns of term frequencies with the documents' lengths and the terms' idf."""

    def __init__(self, arrays: dict[str, np.ndarray], terms: StringTable, meta: dict) -> None:
        self.arrays = arrays
        self.term_ids = terms  # term -> id, a read-only mapping read from files
        self.terms = terms.strings  # id -> term
        self.doc_count: int = meta["doc_count"]
        self.total_length: int = meta["total_length"]
        self.params = BM25Params(meta["k1"], meta["b"], meta["epsilon"])
        # As rank-bm25: the mean document length; 1 when every document is empty (no weights then).
        self.avgdl = self.total_length / self.doc_count or 1.0
        self.meta = meta
        # Plain ndarray views of the memory-mapped files: numpy's memmap subclass costs a Python call
        # on every element read and every slice, thousands of them a query.
        self.columns = Columns({name: np.asarray(values) for name, values in arrays.items()})
        self._idf = np.asarray(arrays["idf"])
        self._df = np.asarray(arrays["df"])
        self._max_weight = np.asarray(arrays["max_weight"])
        self._lengths = np.asarray(arrays["doc_lengths"])
        self._scratch_lock = threading.Lock()
        self._scratch_pool: list[tuple[np.ndarray, np.ndarray]] = []

    # --- building ------------------------------------------------------------------------------

    @classmethod
    def build(cls, docs: Iterable[Sequence[str]], params: BM25Params = BM25Params()) -> "BM25Index":
        """Index tokenized documents, read once in order; document i's id is i."""
        coder = _TermCoder()
        for chunk in _chunks(docs):
            coder.add(list(chain.from_iterable(chunk)), [len(doc) for doc in chunk])
        flat = np.concatenate(coder.parts) if coder.parts else np.zeros(0, dtype=np.int32)
        return cls.from_token_ids(flat, np.frombuffer(coder.lengths, dtype=np.int64), list(coder.term_ids), params)

    @classmethod
    def build_from_ids(cls, docs: Iterable[bytes], vocabulary: Sequence[str], params: BM25Params = BM25Params()) -> "BM25Index":
        """Index documents given as native int32 arrays (bytes) of ids into ``vocabulary``: a token
        cache's form, read without touching a single token string."""
        arrays = list(docs)
        lengths = np.fromiter(map(len, arrays), dtype=np.int64, count=len(arrays)) // 4
        flat = np.frombuffer(b"".join(arrays), dtype=np.int32)
        del arrays
        used = np.zeros(len(vocabulary), dtype=bool)
        used[flat] = True
        kept = np.flatnonzero(used)
        renumber = np.zeros(len(vocabulary), dtype=np.int32)
        renumber[kept] = np.arange(len(kept), dtype=np.int32)
        return cls.from_token_ids(renumber[flat], lengths, [vocabulary[i] for i in kept.tolist()], params, source_ids=kept)

    @classmethod
    def from_token_ids(
        cls, flat: np.ndarray, lengths: np.ndarray, terms: list[str], params: BM25Params, source_ids: np.ndarray | None = None
    ) -> "BM25Index":
        """The index held in memory of documents whose term ids, concatenated, are ``flat``: document i
        has ``lengths[i]`` of them and term t is ``terms[t]``."""
        doc_count = len(lengths)
        if doc_count == 0:
            raise ValueError("cannot index an empty corpus")
        term, docs, tf, first_doc, first_pos = invert(flat, lengths, len(terms))
        counts = np.bincount(term, minlength=len(terms)).astype(np.int64)
        order = np.lexsort((first_pos, first_doc))
        idf = okapi_idf(counts, doc_count, params.epsilon, order)
        total = int(lengths.sum())
        avgdl = total / doc_count or 1.0
        weights = bm25_weights(idf[term], tf, lengths[docs], params.k1, params.b, avgdl)
        encoded = encode_columns(counts, docs, tf, weights)
        per_term = {
            "idf": idf,
            "first_doc": first_doc.astype(np.int32),
            "first_pos": first_pos.astype(np.int32),
            "source_ids": (np.arange(len(terms)) if source_ids is None else source_ids).astype(np.int32),
        }
        arrays = assemble([encoded], per_term, document_lengths(lengths))
        arrays.update(vocabulary_arrays(terms, counts))
        meta = index_meta(doc_count, total, len(terms), params, int(counts.sum()))
        return cls(arrays, StringTable.of(terms), meta)

    @property
    def postings(self) -> int:
        """How many (term, document) pairs the index holds."""
        return int(self._df.sum())

    # --- terms ---------------------------------------------------------------------------------

    def idf(self, term: str) -> float:
        """The term's BM25Okapi idf (with the epsilon floor); 0 for a term no document holds."""
        i = self.term_ids.get(term)
        return 0.0 if i is None else float(self._idf[i])

    def document_frequency(self, term: str) -> int:
        i = self.term_ids.get(term)
        return 0 if i is None else int(self._df[i])

    def words_by_frequency(self) -> list[str]:
        """The all-Chinese words among the terms (no bigrams), most documents first, then by term."""
        return [self.terms[int(i)] for i in self.arrays["vocab_words"]]

    def words_containing(self, character: str) -> tuple[str, ...]:
        """Those words holding ``character``, in the same order."""
        chars = self.arrays["vocab_chars"]
        code = ord(character) if len(character) == 1 else -1
        at = int(np.searchsorted(chars, code))
        if at >= len(chars) or int(chars[at]) != code:
            return ()
        offsets = self.arrays["vocab_char_offsets"]
        positions = self.arrays["vocab_char_words"][int(offsets[at]) : int(offsets[at + 1])]
        words = self.arrays["vocab_words"]
        return tuple(self.terms[int(words[p])] for p in positions)

    # --- queries -------------------------------------------------------------------------------

    def _query_ids(self, query: Sequence[str]) -> list[int]:
        """Ids of the query's known terms, in query order, a repeated term repeated (rank-bm25 adds
        a repeated term's weight once per occurrence)."""
        get = self.term_ids.get
        return [i for i in map(get, query) if i is not None]

    def _weights(self, term: int, docs: np.ndarray, tf: np.ndarray | None) -> np.ndarray:
        """The term's weight in each of ``docs`` holding it with frequencies ``tf`` (None: all 1)."""
        p = self.params
        return kernels.weights(float(self._idf[term]), kernels.NONE if tf is None else tf, self._lengths, docs, p.k1, p.b, self.avgdl)

    def _found_weights(self, term: int, held: np.ndarray, tf: np.ndarray | None, docs: np.ndarray) -> np.ndarray:
        """The term's weight in each of the sorted ``docs``, 0 where absent, from its column ``held``
        (decoded whole) and its frequencies ``tf`` (None: all 1)."""
        p = self.params
        idf = float(self._idf[term])
        return kernels.found_weights(held, kernels.NONE if tf is None else tf, docs, idf, self._lengths, p.k1, p.b, self.avgdl)

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every document; a term repeated in the query counts each time, as in rank-bm25."""
        return self._dense(self._query_ids(query))

    def closest_docs(self, query: Sequence[str], k: int = 10) -> tuple[list[int], list[float]]:
        """The k best documents (ids, scores), best first; equal scores keep document order."""
        return self.closest_combined((), k, query)

    def closest_combined(
        self, groups: Sequence[Sequence[tuple[Sequence[str], float]]], k: int, base: Sequence[str] | None = None
    ) -> tuple[list[int], list[float]]:
        """The k best documents (ids, scores) by ``base``'s score plus, for each group of weighted
        alternative queries, the best of weight x score among them (a question word scoring by its best
        reading); best first, equal scores in document order. The same floats as adding up the dense
        score arrays (``scores``) in this order, computed for the documents that can rank only."""
        k = min(k, self.doc_count)
        base_ids = None if base is None else self._query_ids(base)
        group_ids = [[(self._query_ids(alternative), weight) for alternative, weight in group] for group in groups]
        group_ids = [group for group in group_ids if group]
        if k <= 0 or (base_ids is None and not group_ids):
            return [], []
        used = set(base_ids or ()) | {t for group in group_ids for ids, _ in group for t in ids}
        weights = [w for group in group_ids for _, w in group]
        if any(float(self._idf[t]) <= 0 for t in used) or any(w <= 0 for w in weights):
            return self._dense_combined(base_ids, group_ids, k)
        same = self._same_columns(used)
        if same:
            base_ids = None if base_ids is None else [same.get(t, t) for t in base_ids]
            group_ids = [[([same.get(t, t) for t in ids], weight) for ids, weight in group] for group in group_ids]
        query = _Query(self)
        units = []
        if base_ids:
            for term, count in Counter(base_ids).items():
                units.append(_TermUnit(query, term, count))
        units += [_GroupUnit(query, group) for group in group_ids]
        candidates = _candidates(query, units, k)
        total = None if base_ids is None else query.score(base_ids, candidates)
        for group in group_ids:
            best = None
            for ids, weight in group:
                scores = query.score(ids, candidates) * weight
                best = scores if best is None else np.maximum(best, scores)
            total = best if total is None else total + best
        top = np.lexsort((candidates, -total))[:k]
        doc_ids, doc_scores = candidates[top].tolist(), total[top].tolist()
        if len(doc_ids) < k:
            # Fewer documents hold a query term than k: the rest score 0, in document order.
            taken = set(doc_ids)
            zeros = [d for d in range(min(self.doc_count, k + len(taken))) if d not in taken][: k - len(doc_ids)]
            doc_ids += zeros
            doc_scores += [0.0] * len(zeros)
        return doc_ids, doc_scores

    def _same_columns(self, used: set[int]) -> dict[int, int]:
        """Each of the terms ``used`` whose column is another's, postings and idf alike, mapped to that
        one. Their weights are the same floats, so a query may score either in its place: a term met
        twice is one column decoded, one unit of the pruning (a term counted twice, ``_TermUnit``)."""
        by_df: dict[int, list[int]] = {}
        for term in sorted(used):
            by_df.setdefault(int(self._df[term]), []).append(term)
        same: dict[int, int] = {}
        for terms in by_df.values():
            for i, term in enumerate(terms[1:], 1):
                for first in terms[:i]:
                    if first not in same and self._idf[first] == self._idf[term] and self.columns.same_postings(first, term):
                        same[term] = first
                        break
        return same

    def _dense_combined(self, base_ids, group_ids, k) -> tuple[list[int], list[float]]:
        """``closest_combined`` over dense score arrays: for weights at or below zero (an idf floored
        below zero), where the bounds pruning relies on do not hold."""
        total = None if base_ids is None else self._dense(base_ids)
        for group in group_ids:
            best = None
            for ids, weight in group:
                scores = self._dense(ids) * weight
                best = scores if best is None else np.maximum(best, scores)
            total = best if total is None else total + best
        top = best_of(total, k)
        return top.tolist(), total[top].tolist()

    def _dense(self, ids: list[int]) -> np.ndarray:
        if not ids:
            return np.zeros(self.doc_count)
        decoded = {t: self.columns.column(t) for t in dict.fromkeys(ids)}
        weights = {t: self._weights(t, *decoded[t]) for t in decoded}
        docs = np.concatenate([decoded[t][0] for t in ids])
        # bincount adds in array order: per document, the query's terms in order, as rank-bm25 does.
        return np.bincount(docs, weights=np.concatenate([weights[t] for t in ids]), minlength=self.doc_count)

    def scratch(self) -> tuple[np.ndarray, np.ndarray]:
        """A zeroed score accumulator and seen-mask over all documents, lent to one query at a time and
        kept between queries (only the pages queries touch become resident); ``release_scratch`` gives
        it back, zeroed again."""
        with self._scratch_lock:
            if self._scratch_pool:
                return self._scratch_pool.pop()
        return np.zeros(self.doc_count), np.zeros(self.doc_count, dtype=bool)

    def release_scratch(self, acc: np.ndarray, seen: np.ndarray, parts: Sequence[np.ndarray]) -> None:
        """Give back what ``scratch`` lent, after zeroing the documents ``parts`` touched."""
        for docs in parts:
            acc[docs] = 0.0
            seen[docs] = False
        with self._scratch_lock:
            # A query lends four at most (its candidates' and, while a word of several readings is
            # scored in full, three more); more are kept only while threads query at once.
            if len(self._scratch_pool) < _SCRATCH_KEPT:
                self._scratch_pool.append((acc, seen))

    # --- files ---------------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> dict:
        """Write the arrays as ``.npy`` files and the terms as a UTF-8 blob with its hash table into an
        existing directory; returns what ``load`` needs besides the files, for the caller's metadata."""
        directory = Path(directory)
        write_strings(directory, TERMS, self.terms)
        for name in ARRAYS:
            np.save(directory / f"{name}.npy", np.ascontiguousarray(self.arrays[name]))
        return self.meta

    @classmethod
    def load(cls, directory: str | os.PathLike, meta: dict) -> "BM25Index":
        """Open an index written by ``save`` (or ``retrieval.index_build``); the arrays are
        memory-mapped read-only, not read."""
        directory = Path(directory)
        arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS}
        terms = StringTable.open(directory, TERMS)
        if len(terms) != meta["term_count"] or len(arrays["df"]) != len(terms) or len(arrays["doc_lengths"]) != meta["doc_count"]:
            raise ValueError(f"{directory}: terms and arrays do not match")
        return cls(arrays, terms, meta)


class _Query:
    """One query's reading of the columns: a column decoded whole is kept, so each is read once."""

    def __init__(self, index: BM25Index) -> None:
        self.index = index
        self.decoded: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}  # the columns of units scored in full
        # Columns a look-up of many documents decoded whole: a query looks a term up again and again
        # (for the floor, for each narrowing, for the exact scores), and a column is decoded once.
        self.looked_up: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        # The weights last looked up for one array of documents: a term met again for the same
        # documents (in another reading of a group, or in the base query too) is not looked up again.
        self._memo_docs: np.ndarray | None = None
        self._memo: dict[int, np.ndarray] = {}
        # The floor's documents and the weights looked up for them, by term: the last look-ups, of the
        # few candidates left, are mostly of those documents, in blocks the floor decoded already.
        self._floor_docs: np.ndarray | None = None
        self._floor_weights: dict[int, np.ndarray] = {}

    def decode(self, term: int) -> None:
        """Decode the term's column whole now, for its look-ups and its scoring in full alike."""
        if term not in self.decoded and term not in self.looked_up:
            self.looked_up[term] = self.index.columns.column(term)

    def column(self, term: int) -> tuple[np.ndarray, np.ndarray | None]:
        if term not in self.decoded:
            self.decoded[term] = self.looked_up.get(term) or self.index.columns.column(term)
        return self.decoded[term]

    def weights(self, term: int, docs: np.ndarray) -> np.ndarray:
        """The term's exact weight in each of the sorted ``docs`` (0 where it is absent); callers do not
        change the array returned."""
        if docs is not self._memo_docs:
            self._memo_docs, self._memo = docs, {}
        elif term in self._memo:
            return self._memo[term]
        self._memo[term] = out = self._weights(term, docs)
        return out

    def narrow(self, docs: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """``docs[keep]``, the weights remembered for ``docs`` narrowed with them."""
        kept = docs[keep]
        if docs is self._memo_docs:
            self._memo_docs, self._memo = kept, {term: weights[keep] for term, weights in self._memo.items()}
        return kept

    def keep_floor(self, docs: np.ndarray) -> None:
        """Remember the weights looked up so far for ``docs`` (the floor's) for later look-ups."""
        if docs is self._memo_docs:
            self._floor_docs, self._floor_weights = docs, dict(self._memo)

    def _weights(self, term: int, docs: np.ndarray) -> np.ndarray:
        whole = self.decoded.get(term) or self.looked_up.get(term)
        if whole is None and term in self._floor_weights:
            where, hit = kernels.found_in(self._floor_docs, docs)
            known = self._floor_weights[term]
            held = np.flatnonzero(hit)
            if len(held) == len(docs):
                return known[where]
            out = np.zeros(len(docs))
            out[held] = known[where[held]]
            missing = np.flatnonzero(~hit)
            out[missing] = self._weights_of(term, docs[missing], None)
            return out
        return self._weights_of(term, docs, whole)

    def _weights_of(self, term: int, docs: np.ndarray, whole) -> np.ndarray:
        if whole is None:
            tf = self.index.columns.block_frequencies(term, docs)
            if tf is not None:
                return self.index._weights(term, docs, tf)
            whole = self.looked_up[term] = self.index.columns.column(term)
        return self.index._found_weights(term, *whole, docs)

    def score(self, ids: list[int], docs: np.ndarray) -> np.ndarray:
        """The exact scores of ``docs``: each term's weight added in query order, as rank-bm25 adds."""
        total = np.zeros(len(docs))
        for term in ids:
            total = total + self.weights(term, docs)
        return total


class _TermUnit:
    """A query term (``count`` times in the query) as a unit of pruning."""

    def __init__(self, query: _Query, term: int, count: int) -> None:
        self.query, self.term, self.count = query, term, count
        self.bound = count * float(query.index._max_weight[term])
        self.cost = int(query.index._df[term])

    def add_into(self, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add the unit's value in each of its documents into ``acc``: its documents, and those whose
        sum was 0."""
        docs, tf = self.query.column(self.term)
        index, p = self.query.index, self.query.index.params
        idf = float(index._idf[self.term])
        tf = kernels.NONE if tf is None else tf
        return docs, kernels.add_weights(acc, docs, tf, self.count, idf, index._lengths, p.k1, p.b, index.avgdl)

    def partial(self, docs: np.ndarray) -> np.ndarray:
        weights = self.query.weights(self.term, docs)
        return weights if self.count == 1 else self.count * weights

    def terms(self) -> list[int]:
        """The columns the unit reads."""
        return [self.term]


class _GroupUnit:
    """A question word with weighted alternative readings: it adds its best reading's score."""

    def __init__(self, query: _Query, alternatives: list[tuple[list[int], float]]) -> None:
        self.query, self.alternatives = query, alternatives
        index = query.index
        self.bound = max(weight * sum(float(index._max_weight[t]) for t in ids) for ids, weight in alternatives)
        self.cost = sum(int(index._df[t]) for ids, _ in alternatives for t in ids)

    def add_into(self, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Add the unit's value in each of its documents into ``acc`` (``_TermUnit.add_into``)."""
        docs, values = self.full()
        return docs, kernels.add_up(acc, docs, values)

    def full(self) -> tuple[np.ndarray, np.ndarray]:
        """Every document holding a reading (distinct, in no order) and its best weighted reading's
        score. Scores only choose candidates here (they are rescored exactly), so each reading's terms
        are added up in an accumulator over all documents rather than by sorting their columns, and
        the terms that all readings of one weight share (及后 of 及后第一, 及后第二, …) are added up
        once for them all: weight x (shared + the rest), the best of the rests taken per reading."""
        index = self.query.index
        (reading, unused), (best, in_best), (shared, unused_too) = index.scratch(), index.scratch(), index.scratch()
        touched: list[np.ndarray] = []
        # Readings of a word share terms (its own characters' words, a bigram): each term's weights are
        # worked out once.
        weights: dict[int, np.ndarray] = {}

        def add_up(terms: list[int], into: np.ndarray) -> np.ndarray | None:
            # Every weight is above 0 (the pruned path), so the documents whose sum was 0 are new.
            held = []
            for term in terms:
                docs, tf = self.query.column(term)
                if term not in weights:
                    weights[term] = index._weights(term, docs, tf)
                held.append(kernels.add_up(into, docs, weights[term]))
            return np.concatenate(held) if held else None

        for weight, common, rests in _shared_readings(self.alternatives):
            common_docs = add_up(common, shared)
            for rest in rests:
                docs = add_up(rest, reading)
                if docs is None:
                    continue
                touched.append(kernels.take_best(best, docs, (reading[docs] + shared[docs]) * weight))
                reading[docs] = 0.0
            if common_docs is not None:
                touched.append(kernels.take_best(best, common_docs, shared[common_docs] * weight))
                shared[common_docs] = 0.0
        docs = np.concatenate(touched) if touched else np.zeros(0, dtype=np.int64)
        values = best[docs]
        # (After an error the accumulators are simply not given back.)
        index.release_scratch(reading, unused, ())
        index.release_scratch(shared, unused_too, ())
        index.release_scratch(best, in_best, touched)
        return docs, values

    def terms(self) -> list[int]:
        """The columns the unit reads, each once."""
        return list(dict.fromkeys(t for ids, _ in self.alternatives for t in ids))

    def partial(self, docs: np.ndarray) -> np.ndarray:
        best = np.zeros(len(docs))
        for ids, weight in self.alternatives:
            best = np.maximum(best, self.query.score(ids, docs) * weight)
        return best


def _shared_readings(alternatives: Sequence[tuple[list[int], float]]) -> list[tuple[float, list[int], list[list[int]]]]:
    """A word's readings by weight (in order of first appearance): the terms every reading of that
    weight holds (as many times as each holds them) and what each holds beyond them.

    >>> _shared_readings([([1, 2], 1.0), ([3, 4, 5], 0.8), ([3, 4, 6], 0.8), ([], 0.8)])
    [(1.0, [], [[1, 2]]), (0.8, [3, 4], [[5], [6]])]
    """
    by_weight: dict[float, list[list[int]]] = {}
    for ids, weight in alternatives:
        if ids:
            by_weight.setdefault(weight, []).append(ids)
    classes = []
    for weight, readings in by_weight.items():
        common = Counter(readings[0])
        for ids in readings[1:]:
            common &= Counter(ids)
        if len(readings) < 2 or not common:
            classes.append((weight, [], readings))
            continue
        classes.append((weight, list(common.elements()), [list((Counter(ids) - common).elements()) for ids in readings]))
    return classes


def _candidates(query: _Query, units: list, k: int) -> np.ndarray:
    """The documents (ascending) that can be among the k best by the sum of the units' values: MaxScore
    with a floor found first and the costly units left out.

    The cheapest units (the rarest terms, usually with the highest bounds) are scored over all their
    documents first, and the best of those documents are scored exactly on every unit: the k-th best
    of these true scores is a floor under the k-th best of all. Then the other units are set aside,
    most postings first, while their bounds add up to less than that floor, a score no document they
    alone hold could reach; of the rest, the cheapest is scored over all its documents, whose partial
    scores may raise the floor, and the units are set aside again, until every unit is either scored
    or set aside. The units set aside are scored for the documents found only, cheapest first,
    dropping documents that can no longer reach the k-th best as it rises. Scores here only choose
    documents, so they may be added in any order; the margin covers rounding."""
    index = query.index
    for unit in units:
        unit.bound *= 1 + _MARGIN
    units = sorted(units, key=lambda u: u.cost)
    acc, seen = index.scratch()
    parts: list[np.ndarray] = []
    touched, floor = 0, 0.0
    skipped = []

    def score_fully(unit) -> np.ndarray:
        nonlocal touched
        # Every value is above 0 (the pruned path has positive weights only), so a document is new
        # where its sum is still 0: no mask of the documents found is kept beside the sums.
        docs, new = unit.add_into(acc)
        parts.append(new)
        touched += len(new)
        return docs

    try:
        seeds = 0
        for unit in units:
            if seeds and touched >= _FLOOR_DOCUMENTS and unit.cost > index.doc_count // _SEED_SHARE:
                break
            score_fully(unit)
            seeds += 1
        others = units[seeds:]
        if others and touched >= k:
            floor = _true_floor(acc, parts, others, k)
        # Most postings first: set aside every unit that still fits under the floor, and score the
        # cheapest of those that do not. Its documents' partial scores (each at most the document's
        # score) may raise the floor, and more units then fit under it: the floor the seeds find is
        # low when the rarest terms are bigrams only the question holds.
        pending = sorted(others, key=lambda u: -u.cost)
        while True:
            room = floor * (1 - _MARGIN)
            skipped, essential = [], []
            for unit in pending:
                if unit.bound < room:
                    room -= unit.bound
                    skipped.append(unit)
                else:
                    essential.append(unit)
            if not essential:
                break
            cheapest = essential[-1]
            docs = score_fully(cheapest)
            pending.remove(cheapest)
            if len(essential) > 1:
                floor = max(floor, _partial_floor(acc, docs, k))
        skipped.sort(key=lambda u: u.cost)
        rest = [0.0] * (len(skipped) + 1)  # rest[i]: the most skipped units i.. can add to any document
        for i in range(len(skipped) - 1, -1, -1):
            rest[i] = rest[i + 1] + skipped[i].bound
        candidates, partial, floor = _survivors(acc, seen, parts, floor, rest[0], k)
    finally:
        for docs in parts:
            acc[docs] = 0.0
        index.release_scratch(acc, seen, ())
    for j, unit in enumerate(skipped):
        partial += unit.partial(candidates)
        if len(candidates) > k:
            floor = max(floor, _kth_best(partial, k))
            keep = np.flatnonzero(partial + rest[j + 1] >= floor * (1 - _MARGIN))
            # The weights looked up so far stay remembered for the exact scores of the survivors.
            candidates, partial = query.narrow(candidates, keep), partial[keep]
    return candidates


def _true_floor(acc: np.ndarray, parts: list[np.ndarray], others: list, k: int) -> float:
    """A floor under the k-th best score of all: the k-th best true score among the documents best by
    the units scored so far (their values in ``acc``), the ``others`` looked up for them. The weights
    looked up are kept for the query's later look-ups of these documents (``_Query.keep_floor``)."""
    docs = np.concatenate(parts)
    values = acc[docs]
    if len(docs) > _FLOOR_DOCUMENTS:
        best = np.argpartition(values, len(docs) - _FLOOR_DOCUMENTS)[len(docs) - _FLOOR_DOCUMENTS :]
        docs, values = docs[best], values[best]
    order = np.argsort(docs)
    docs, values = docs[order], values[order]
    query = others[0].query
    whole = max(len(docs) * BLOCK * 3, query.index.doc_count // _FLOOR_WHOLE_SHARE)
    for unit in others:
        for term in unit.terms():
            if int(query.index._df[term]) <= whole:
                query.decode(term)
    for unit in others:
        values = values + unit.partial(docs)
    query.keep_floor(docs)
    return _kth_best(values, k)


def _partial_floor(acc: np.ndarray, docs: np.ndarray, k: int) -> float:
    """A floor under the k-th best score of all: the k-th best of these documents' partial scores (the
    units scored so far add up to no more than a document's score); 0 for fewer than k documents."""
    return _kth_best(acc[docs], k)


def _survivors(acc: np.ndarray, seen: np.ndarray, parts: list[np.ndarray], floor: float, rest: float, k: int):
    """The documents found (listed in ``parts``) whose partial score plus ``rest`` reaches the floor,
    raised to the k-th best partial score, and their partial scores, in ascending document order, and
    the floor raised. The documents are dropped before they are ordered: most are. ``seen``, a mask
    over all documents, is handed back cleared."""
    docs = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    values = acc[docs]
    if len(docs) > k:
        floor = max(floor, _kth_best(values, k))
    keep = np.flatnonzero(values + rest >= floor * (1 - _MARGIN))
    kept = len(keep)
    if kept * 64 > len(seen):  # many: read off the mask in order, a byte a document, not sorted
        seen[docs[keep]] = True
        found = np.flatnonzero(seen)
        seen[found] = False
        return found, acc[found], floor
    docs = np.sort(docs[keep])  # and the sums read again: half the time of an argsort and two gathers
    return docs, acc[docs], floor


def _kth_best(values: np.ndarray, k: int) -> float:
    if len(values) < k:
        return 0.0
    return float(np.partition(values, len(values) - k)[len(values) - k])


def best_of(scores: np.ndarray, k: int) -> np.ndarray:
    """The k best of all documents of a dense score array (ours or rank-bm25's), ties in document order."""
    n = len(scores)
    if k < n:
        # Take every document tied with the k-th best, then order them stably.
        kth = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= kth)
    else:
        candidates = np.arange(n)
    return candidates[np.lexsort((candidates, -scores[candidates]))[:k]]


def index_meta(doc_count: int, total_length: int, term_count: int, params: BM25Params, postings: int) -> dict:
    """What ``load`` needs besides the files (the caller keeps it in its own metadata file)."""
    return {
        "doc_count": doc_count,
        "total_length": total_length,
        "term_count": term_count,
        "postings": postings,
        "k1": params.k1,
        "b": params.b,
        "epsilon": params.epsilon,
    }


def invert(flat: np.ndarray, lengths: np.ndarray, term_count: int, first_doc_id: int = 0):
    """Documents' term ids (concatenated in ``flat``, document i has ``lengths[i]``) as postings:
    (term, document, frequency) sorted by term then document, and for every term of ``term_count``
    the first document holding it and its first position there (-1 for terms not held)."""
    doc_count = len(lengths)
    doc = np.repeat(np.arange(doc_count, dtype=np.int64), lengths)
    key = flat.astype(np.int64) * max(doc_count, 1) + doc
    first_doc = np.full(term_count, -1, dtype=np.int64)
    first_pos = np.full(term_count, -1, dtype=np.int64)
    if len(flat):
        held, first_index = np.unique(flat, return_index=True)
        starts = offsets_of(lengths)[:-1]
        first_doc[held] = doc[first_index] + first_doc_id
        first_pos[held] = first_index - starts[doc[first_index]]
    key, tf = np.unique(key, return_counts=True)
    term = key // max(doc_count, 1)
    docs = key - term * max(doc_count, 1) + first_doc_id
    return term, docs, tf.astype(np.int64), first_doc, first_pos


def okapi_idf(doc_freq: np.ndarray, doc_count: int, epsilon: float, order: np.ndarray) -> np.ndarray:
    """rank-bm25's BM25Okapi idf: negative values (terms in over half the documents) floored at
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


def document_lengths(lengths: np.ndarray) -> np.ndarray:
    """Token counts per document in the narrowest unsigned type that holds them."""
    top = int(lengths.max()) if len(lengths) else 0
    return lengths.astype(np.uint16 if top < 1 << 16 else np.uint32)


def assemble(parts: Sequence[EncodedColumns], per_term: dict[str, np.ndarray], doc_lengths: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays of an index from its columns encoded in consecutive runs."""
    arrays = assemble_columns(list(parts))
    arrays["doc_lengths"] = doc_lengths
    arrays.update(per_term)
    return arrays


def vocabulary_arrays(terms: Sequence[str], doc_freq: np.ndarray) -> dict[str, np.ndarray]:
    """Tables for matching question words the corpus lacks (``retrieval.typing_variants``): the
    all-Chinese word terms, most documents first then by term, and for each character the positions
    (in that order) of the words holding it."""
    import re

    chinese = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
    words = [i for i, term in enumerate(terms) if not term.startswith("#") and chinese.fullmatch(term)]
    words.sort(key=lambda i: (-int(doc_freq[i]), terms[i]))
    pairs = sorted((ord(ch), rank) for rank, i in enumerate(words) for ch in set(terms[i]))
    chars = np.array([c for c, _ in pairs], dtype=np.uint32)
    distinct, first = np.unique(chars, return_index=True)
    char_offsets = np.append(first, len(pairs)).astype(np.int64)
    return {
        "vocab_words": np.array(words, dtype=np.int32),
        "vocab_chars": distinct.astype(np.uint32),
        "vocab_char_offsets": char_offsets,
        "vocab_char_words": np.array([r for _, r in pairs], dtype=np.int32),
    }


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


def disk_size(directory: str | os.PathLike) -> int:
    """Bytes taken by the files of a saved index."""
    return sum(entry.stat().st_size for entry in Path(directory).iterdir() if entry.is_file())


__all__ = ["BM25Index", "BM25Params", "best_of", "disk_size"]
