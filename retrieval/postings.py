"""Term columns (posting lists) stored compactly: document-id gaps in one, two or four bytes, term
frequencies only where they are not 1, and a skip entry every ``BLOCK`` postings.

Each column lists the documents holding one term, ascending. What is stored per column:

- the gaps between successive document ids (the first counted from -1, so every gap is at least 1),
  each in the column's width of 1, 2 or 4 bytes, whichever makes the column smallest. A gap too large
  for the width is written as 0 and kept, in order, in ``gap_exceptions``;
- the postings whose term frequency is not 1, as (document id, frequency) pairs (``tf_docs``,
  ``tf_values``); on news text about 94% of frequencies are 1;
- for a column longer than ``BLOCK``, the last document id of each block of ``BLOCK`` postings and the
  number of gap exceptions before it, so that looking up a few documents decodes a few blocks only.

Scores are not stored: a BM25 weight is recomputed exactly, in float64, from the frequency, the
document's length and the term's idf (``bm25_weights``), so stored columns cost about 1.5 bytes a
posting instead of 12, and scores stay bit-identical to rank-bm25's. This module and ``retrieval.index``
are the only ones that use numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK = 128
# Per-term arrays (T entries, or T + 1 for offsets) and the streams they point into.
TERM_ARRAYS = ("df", "width", "gap_offsets", "exc_offsets", "tfx_offsets", "skip_offsets", "max_weight")
STREAMS = ("gaps", "gap_exceptions", "tf_docs", "tf_values", "skip_last", "skip_exc")


def bm25_weights(idf: float, tf, lengths, k1: float, b: float, avgdl: float):
    """BM25Okapi's weight of a term in documents of these lengths, with these frequencies: computed in
    exactly rank-bm25's order of operations, so equal scores are equal to the last bit."""
    return idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths / avgdl)))


@dataclass
class EncodedColumns:
    """A run of consecutive columns, encoded: per-term sizes and the streams, offsets relative to the run."""

    df: np.ndarray  # int32
    width: np.ndarray  # uint8
    gap_bytes: np.ndarray  # int64: bytes of each column's gaps
    exc_counts: np.ndarray  # int64
    tfx_counts: np.ndarray  # int64
    skip_counts: np.ndarray  # int64
    max_weight: np.ndarray  # float64
    streams: dict[str, np.ndarray]


def encode_columns(counts: np.ndarray, docs: np.ndarray, tf: np.ndarray, weights: np.ndarray) -> EncodedColumns:
    """Encode consecutive columns: column i holds ``counts[i]`` (at least 1) postings, and ``docs``
    (ascending within each column), ``tf`` and ``weights`` hold all postings, column after column."""
    counts = counts.astype(np.int64)
    n = len(counts)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    term = np.repeat(np.arange(n, dtype=np.int64), counts)
    docs = docs.astype(np.int64)
    previous = np.empty_like(docs)
    previous[1:] = docs[:-1]
    previous[starts] = -1
    gaps = docs - previous

    # The width that makes each column smallest: its gaps at that width plus 4 bytes per exception.
    over1 = np.bincount(term, weights=gaps >= 1 << 8, minlength=n).astype(np.int64)
    over2 = np.bincount(term, weights=gaps >= 1 << 16, minlength=n).astype(np.int64)
    sizes = np.stack([counts + 4 * over1, 2 * counts + 4 * over2, 4 * counts])
    width = np.array([1, 2, 4], dtype=np.int64)[np.argmin(sizes, axis=0)]
    posting_width = width[term]
    limit = np.where(posting_width == 4, 1 << 32, np.left_shift(1, 8 * posting_width))
    escaped = gaps >= limit
    values = np.where(escaped, 0, gaps)
    gap_bytes = counts * width
    byte_start = np.zeros(n, dtype=np.int64)
    np.cumsum(gap_bytes[:-1], out=byte_start[1:])
    position = byte_start[term] + (np.arange(len(docs), dtype=np.int64) - starts[term]) * posting_width
    stream = np.zeros(int(gap_bytes.sum()), dtype=np.uint8)
    for byte in range(4):
        wide = posting_width > byte
        stream[position[wide] + byte] = (values[wide] >> (8 * byte)) & 0xFF

    exc_counts = np.bincount(term[escaped], minlength=n).astype(np.int64)
    frequent = tf != 1
    tfx_counts = np.bincount(term[frequent], minlength=n).astype(np.int64)

    # Skips: the last document of each block of a column longer than one block, and the gap exceptions
    # of the column before the block starts.
    local = np.arange(len(docs), dtype=np.int64) - starts[term]
    long_column = counts[term] > BLOCK
    block_end = long_column & ((local % BLOCK == BLOCK - 1) | (local == counts[term] - 1))
    block_start = long_column & (local % BLOCK == 0)
    escaped_before = np.cumsum(escaped) - escaped
    skip_exc = escaped_before[block_start] - escaped_before[starts[term[block_start]]]
    skip_counts = np.bincount(term[block_end], minlength=n).astype(np.int64)

    return EncodedColumns(
        df=counts.astype(np.int32),
        width=width.astype(np.uint8),
        gap_bytes=gap_bytes,
        exc_counts=exc_counts,
        tfx_counts=tfx_counts,
        skip_counts=skip_counts,
        max_weight=np.maximum.reduceat(weights, starts) if n else np.zeros(0),
        streams={
            "gaps": stream,
            "gap_exceptions": gaps[escaped].astype(np.uint32),
            "tf_docs": docs[frequent].astype(np.int32),
            "tf_values": tf[frequent].astype(np.uint32),
            "skip_last": docs[block_end].astype(np.int32),
            "skip_exc": skip_exc.astype(np.int32),
        },
    )


class Columns:
    """Decoding the columns of an index: whole columns, a few documents of a column, or a range of
    columns at once. ``arrays`` holds TERM_ARRAYS and STREAMS (memory-mapped or in memory)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.df = arrays["df"]
        self.width = arrays["width"]
        self.gap_offsets = arrays["gap_offsets"]
        self.exc_offsets = arrays["exc_offsets"]
        self.tfx_offsets = arrays["tfx_offsets"]
        self.skip_offsets = arrays["skip_offsets"]
        self.gaps = arrays["gaps"]
        self.gap_exceptions = arrays["gap_exceptions"]
        self.tf_docs = arrays["tf_docs"]
        self.tf_values = arrays["tf_values"]
        self.skip_last = arrays["skip_last"]
        self.skip_exc = arrays["skip_exc"]

    def _values(self, start: int, width: int, positions: np.ndarray | None, count: int) -> np.ndarray:
        """Stored gap values of a column whose gaps start at byte ``start``: postings ``positions``
        (or the first ``count``), as int64."""
        if positions is None:
            raw = self.gaps[start : start + count * width]
            view = raw if width == 1 else raw.view("<u2" if width == 2 else "<u4")
            return view.astype(np.int64)
        base = start + positions * width
        values = self.gaps[base].astype(np.int64)
        for byte in range(1, width):
            values |= self.gaps[base + byte].astype(np.int64) << (8 * byte)
        return values

    def column(self, term: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The documents holding ``term`` (int64, ascending) and their frequencies (None: all 1)."""
        n = int(self.df[term])
        gaps = self._values(int(self.gap_offsets[term]), int(self.width[term]), None, n)
        e0, e1 = int(self.exc_offsets[term]), int(self.exc_offsets[term + 1])
        if e1 > e0:
            gaps[gaps == 0] = self.gap_exceptions[e0:e1]
        gaps[0] -= 1
        docs = np.cumsum(gaps)
        return docs, self._frequencies(term, docs)

    def _frequencies(self, term: int, docs: np.ndarray) -> np.ndarray | None:
        """Frequencies of the (sorted) ``docs``, which the column holds; None when all are 1."""
        x0, x1 = int(self.tfx_offsets[term]), int(self.tfx_offsets[term + 1])
        if x1 == x0:
            return None
        frequent = self.tf_docs[x0:x1]
        # Search the shorter list in the longer: usually the few frequencies above 1 among the docs.
        few_frequent = len(frequent) < len(docs)
        where, hit = _found_in(docs, frequent) if few_frequent else _found_in(frequent, docs)
        if not hit.any():
            return None
        tf = np.ones(len(docs), dtype=np.int64)
        if few_frequent:
            tf[where[hit]] = self.tf_values[x0:x1][hit]
        else:
            tf[hit] = self.tf_values[x0:x1][where[hit]]
        return tf

    def lookup(self, term: int, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of the sorted, distinct ``docs`` hold ``term`` (a mask) and, for those, the frequency
        (int64). Decodes only the blocks those documents could stand in, unless that is most of them."""
        n = int(self.df[term])
        s0, s1 = int(self.skip_offsets[term]), int(self.skip_offsets[term + 1])
        blocks = s1 - s0
        found_docs = None
        if blocks and len(docs) * BLOCK * 3 < n:
            last = self.skip_last[s0:s1]
            block_of = np.searchsorted(last, docs)
            wanted = np.unique(block_of[block_of < blocks])
            if len(wanted) * 3 < blocks:
                found_docs = self._blocks(term, n, s0, wanted)
        if found_docs is None:
            found_docs, _ = self.column(term)
        where = np.searchsorted(found_docs, docs)
        where[where >= len(found_docs)] = 0
        hit = found_docs[where] == docs if len(found_docs) else np.zeros(len(docs), dtype=bool)
        held = docs[hit]
        tf = self._frequencies(term, held)
        return hit, np.ones(len(held), dtype=np.int64) if tf is None else tf

    def _blocks(self, term: int, n: int, s0: int, wanted: np.ndarray) -> np.ndarray:
        """The documents of the column's blocks ``wanted`` (ascending block numbers), ascending."""
        width = int(self.width[term])
        first = wanted * BLOCK
        lengths = np.minimum(BLOCK, n - first)
        starts = np.zeros(len(wanted), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        total = int(lengths.sum())
        block = np.repeat(np.arange(len(wanted)), lengths)
        positions = np.arange(total, dtype=np.int64) - starts[block] + first[block]
        gaps = self._values(int(self.gap_offsets[term]), width, positions, total)
        zero = gaps == 0
        if zero.any():
            rank = np.cumsum(zero) - zero
            rank -= rank[starts][block]
            exc = int(self.exc_offsets[term]) + self.skip_exc[s0 + wanted].astype(np.int64)
            gaps[zero] = self.gap_exceptions[(exc[block] + rank)[zero]]
        base = np.where(wanted > 0, self.skip_last[s0 + np.maximum(wanted - 1, 0)], -1).astype(np.int64)
        gaps[starts] += base
        sums = np.cumsum(gaps)
        return sums - np.repeat(sums[starts] - gaps[starts], lengths)

    def columns(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every posting of columns ``first`` .. ``stop - 1``: (column number relative to ``first``,
        document, frequency), column after column, documents ascending within each."""
        counts = self.df[first:stop].astype(np.int64)
        n = len(counts)
        if n == 0 or counts.sum() == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        term = np.repeat(np.arange(n, dtype=np.int64), counts)
        local = np.arange(int(counts.sum()), dtype=np.int64) - starts[term]
        width = self.width[first:stop].astype(np.int64)
        byte = self.gap_offsets[first:stop].astype(np.int64)[term] + local * width[term]
        values = self.gaps[byte].astype(np.int64)
        for shift in range(1, 4):
            wide = width[term] > shift
            values[wide] |= self.gaps[byte[wide] + shift].astype(np.int64) << (8 * shift)
        e0, e1 = int(self.exc_offsets[first]), int(self.exc_offsets[stop])
        if e1 > e0:
            values[values == 0] = self.gap_exceptions[e0:e1]
        values[starts] -= 1
        sums = np.cumsum(values)
        docs = sums - np.repeat(sums[starts] - values[starts], counts)
        tf = np.ones(len(docs), dtype=np.int64)
        x0, x1 = int(self.tfx_offsets[first]), int(self.tfx_offsets[stop])
        if x1 > x0:
            x_counts = np.diff(self.tfx_offsets[first : stop + 1].astype(np.int64))
            x_term = np.repeat(np.arange(n, dtype=np.int64), x_counts)
            key = term * (int(docs.max()) + 1) + docs
            x_key = x_term * (int(docs.max()) + 1) + self.tf_docs[x0:x1].astype(np.int64)
            tf[np.searchsorted(key, x_key)] = self.tf_values[x0:x1]
        return term, docs, tf


def _found_in(ordered: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``wanted``, its position in the sorted ``ordered`` (0 where past the end) and
    whether it is there."""
    where = np.searchsorted(ordered, wanted)
    where[where >= len(ordered)] = 0
    return where, ordered[where] == wanted
