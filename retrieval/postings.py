"""Term columns (posting lists) stored compactly: document-id gaps bit-packed, with a bitmap for the
gaps of 1, term frequencies only where they are not 1, and a skip entry every ``BLOCK`` postings.

Each column lists the documents holding one term, ascending. The gaps between successive document ids
(the first counted from -1, so every gap is at least 1) are stored in the ``gaps`` byte stream as:

- a bitmap with one bit a posting, set where the gap is not 1 (omitted where it would not pay). A
  paragraph's passages are consecutive documents sharing most of its terms, so over a quarter of all
  gaps are 1;
- the other gaps, less 2 (less 1 without a bitmap), bit-packed at the column's width ``w`` (PFor, as
  PISA and Lucene pack blocks): the width that makes the column smallest, counting 12 bytes for a gap
  too large for it. Such a gap is stored as all ones and kept in ``patch_keys`` / ``patch_values``, a
  sorted table of the few values the packed streams cannot hold, keyed by (term, kind, index). The
  bitmap and the packed values each start on an 8-byte word, so that values are read with aligned
  loads;
- for a column longer than ``BLOCK``, the last document of each block of ``BLOCK`` postings and how
  many gaps above 1 precede the block, so that looking up a few documents decodes a few blocks only.

Frequencies other than 1 (about 7% on news text) are stored sparsely: each one's position in the
column as a gap from the previous one's (``tf_gaps``), and the frequency (``tf_values``), a byte each,
0 marking a value kept in the patch table.

Scores are not stored: a BM25 weight is recomputed exactly, in float64, from the frequency, the
document's length and the term's idf (``bm25_weights``), so stored columns cost about 1.4 bytes a
posting instead of 12, and scores stay bit-identical to rank-bm25's. A query's decoding (a column
whole, or the blocks a few documents stand in) is a compiled loop (``retrieval.kernels``, C built by Cython at install); a
range of columns at once (an index update's) is vectorised numpy. This module, ``retrieval.kernels``,
``retrieval.index`` and ``retrieval.index_build`` are the only ones that use numpy.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

try:
    from retrieval import kernels
except ImportError as error:  # a checkout whose compiled module was never built
    raise ImportError(
        "retrieval.kernels (retrieval/kernels.pyx) is not compiled: install the project with `make` "
        "or `pip install -e .`, which builds it (it needs a C compiler and the Python headers)"
    ) from error

NONE, length_norms, saturations = kernels.NONE, kernels.length_norms, kernels.saturations

BLOCK = kernels.BLOCK
# Per-term arrays (T entries, or T + 1 for offsets) and the streams they point into.
TERM_ARRAYS = ("df", "width", "gap_offsets", "tfx_offsets", "skip_offsets", "max_weight")
OFFSETS = ("gap_offsets", "tfx_offsets", "skip_offsets")
STREAM_TYPES = {
    "gaps": np.uint8,
    "tf_gaps": np.uint8,
    "tf_values": np.uint8,
    "skip_last": np.int32,
    "skip_others": np.int32,
    "patch_keys": np.int64,
    "patch_values": np.uint32,
}
STREAMS = tuple(STREAM_TYPES)
# Zero bytes after the last column of ``gaps``: a packed value is read from the two 8-byte words it
# overlaps, or the 8 bytes it starts in.
GAPS_TAIL = 16

# In ``width``, besides the width (the low 6 bits): the column has a bitmap of its gaps of 1, and
# values in the patch table (most columns have none, and skip looking).
_BITMAP, _PATCHED, _WIDTH = 0x80, 0x40, 0x3F
# The frequencies of columns with at least this many above 1 are kept decoded (``_frequent_kept``),
# up to this many bytes for all of them.
_KEPT_FREQUENT_FROM, _KEPT_FREQUENT_BYTES = 1 << 16, 48 << 20
_PATCHES_KEPT_BYTES = 8 << 20  # the columns' patched values kept (``Columns._term_patches``)
_PATCH_BITS = 96  # what a value in the patch table costs: an int64 key and a uint32 value
_GAP, _TF_GAP, _TF_VALUE = 0, 1, 2  # kinds of patched values


def bm25_weights(idf: float, tf, lengths, k1: float, b: float, avgdl: float):
    """BM25Okapi's weight of a term in documents of these lengths, with these frequencies: computed in
    exactly rank-bm25's order of operations, so equal scores are equal to the last bit."""
    return idf * saturations(tf, length_norms(lengths, k1, b, avgdl), k1)


@dataclass
class EncodedColumns:
    """A run of consecutive columns, encoded: per-term values, the sizes the offsets (``OFFSETS``) are
    summed from, and the streams, offsets relative to the run."""

    df: np.ndarray  # int32
    width: np.ndarray  # uint8
    max_weight: np.ndarray  # float64
    sizes: dict[str, np.ndarray]  # int64, one per term, by offset name
    streams: dict[str, np.ndarray]


def _patch_key(term, kind: int, index):
    return ((np.asarray(term, dtype=np.int64) * 4 + kind) << 32) | np.asarray(index, dtype=np.int64)


def _bit_lengths(values: np.ndarray) -> np.ndarray:
    """Bits needed for each non-negative value below 2**53 (0 for 0): the binary exponent, exact."""
    return np.frexp(values.astype(np.float64))[1].astype(np.int64)


def _pack(stream: np.ndarray, bit: np.ndarray, values: np.ndarray, widths: np.ndarray) -> None:
    """OR ``values`` (below 2**32, each of at most ``widths`` bits) into the byte ``stream`` (a whole
    number of 8-byte words, with room for a word past the last value) at the ascending bit offsets
    ``bit``, low bits first, each value's bits before the next offset."""
    if not len(bit):
        return
    words = stream.view("<u8")
    low = (bit & 63).astype(np.uint64)
    at = bit >> 6
    shifted = values.astype(np.uint64) << low
    # The offsets ascend, so the values of each word are consecutive: one OR-reduction a word, where
    # OR-ing byte by byte with np.bitwise_or.at, then bincount, took a quarter of an index update.
    first = np.flatnonzero(np.concatenate(([True], at[1:] != at[:-1])))
    words[at[first]] |= np.bitwise_or.reduceat(shifted, first)
    # A value crossing into the next word: its high bits (one such value at most per word).
    crossing = np.flatnonzero(low + widths.astype(np.uint64) > np.uint64(64))
    if len(crossing):
        words[at[crossing] + 1] |= values[crossing].astype(np.uint64) >> (np.uint64(64) - low[crossing])


def _words_of(bits):
    """8-byte words holding this many bits."""
    return (bits + 63) >> 6


def _best_widths(key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``n`` columns, the width that packs its values smallest and that size in bits,
    given for each value ``key`` = column * 34 + the bits it needs (1 to 33; 0 marks a posting that is
    no value of the column, and is ignored). A value fits in w bits below 2**w - 1 (all ones marks a
    patched value); each patched value costs _PATCH_BITS. The best width is 0 or the bits some value
    of the column needs, the smallest of equals. A table of columns by widths is used where it is
    small; a range of rare terms has too many columns for one (hundreds of MB), and counts the keys
    present instead."""
    if n * 34 <= 4 * len(key) + 1_000_000:
        table = np.bincount(key, minlength=n * 34).reshape(n, 34)
        table[:, 0] = 0
        count = table.sum(axis=1)
        # cost[c, w]: w bits a value, and _PATCH_BITS for each value needing more. Between the widths
        # values need, the cost only grows, so the first smallest is the one the sparse count finds.
        cost = np.cumsum(table, axis=1)
        np.subtract(count[:, None], cost, out=cost)
        cost *= _PATCH_BITS
        cost += count[:, None] * np.arange(34)
        width = np.argmin(cost, axis=1)
        return width, cost[np.arange(n), width]
    keys, per_key = np.unique(key, return_counts=True)
    valued = keys % 34 > 0
    keys, per_key = keys[valued], per_key[valued]
    key_term, needed = keys // 34, keys % 34
    count = np.bincount(key_term, weights=per_key, minlength=n).astype(np.int64)
    # Values of the column needing more bits than this key's: what is left after it, column-wise.
    done = np.cumsum(per_key)
    column_done = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(count, out=column_done[1:])
    above = column_done[key_term + 1] - done
    cost = count[key_term] * needed + _PATCH_BITS * above
    width = np.zeros(n, dtype=np.int64)
    best = _PATCH_BITS * count  # width 0: every value patched
    order = np.lexsort((cost, key_term))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key_term[order][1:] != key_term[order][:-1]
    pick = order[first]
    better = cost[pick] < best[key_term[pick]]
    width[key_term[pick][better]] = needed[pick][better]
    best[key_term[pick][better]] = cost[pick][better]
    return width, best


def column_gaps(docs: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each posting's gap: its document less the one before it in its column, a column's first
    (``starts``) counted from -1.

    >>> column_gaps(np.array([3, 4, 9, 0, 2]), np.array([0, 3])).tolist()
    [4, 1, 5, 1, 2]
    """
    gaps = np.empty_like(docs)
    np.subtract(docs[1:], docs[:-1], out=gaps[1:])
    gaps[starts] = docs[starts] + 1
    return gaps


def packing_needs(gaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bits each gap's value needs (what ``packing_choice`` counts), packed without a bitmap and
    with one (0: no value, a gap of 1 the bitmap holds). A column whose gaps change but need what they
    needed is packed as it was.

    >>> [needs.tolist() for needs in packing_needs(np.array([1, 2, 3, 8, 9]))]
    [[1, 2, 2, 4, 4], [0, 1, 2, 3, 4]]
    """
    needs = _bit_lengths(gaps)
    return needs, needs - ((gaps & (gaps - 1)) == 0)


def packing_choice(counts: np.ndarray, gaps: np.ndarray, term: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each column's packed width and whether a bitmap holds its gaps of 1, given its ``counts[i]``
    gaps (a column's first counted from -1), column after column, and each gap's column ``term``.

    Each column is packed with a bitmap of its gaps of 1 or without, whichever is smaller. Without a
    bitmap a value is the gap less 1, needing the gap's bits; with one, the gap less 2 for gaps above
    1, needing one bit fewer at a power of 2 (and a gap of 1 is no value: 0 bits).

    >>> width, bitmap = packing_choice(np.array([4, 3]), np.array([1, 1, 1, 9, 3, 5, 6]), np.array([0, 0, 0, 0, 1, 1, 1]))
    >>> width.tolist(), bitmap.tolist()  # 8 bits with the bitmap against 4 values of 4 bits; 2, 4, 5 need 3
    ([4, 3], [True, False])
    """
    n = len(counts)
    key = term * 34
    needs, bitmap_needs = packing_needs(gaps)
    without = _best_widths(key + needs, n)
    with_bitmap = _best_widths(key + bitmap_needs, n)
    bitmap = with_bitmap[1] + counts < without[1]
    return np.where(bitmap, with_bitmap[0], without[0]), bitmap


def encode_columns(counts: np.ndarray, docs: np.ndarray, tf: np.ndarray, weights: np.ndarray, first_term=0) -> EncodedColumns:
    """Encode columns: column i holds ``counts[i]`` (at least 1) postings, and ``docs`` (ascending
    within each column), ``tf`` and ``weights`` hold all postings, column after column. The columns
    are terms ``first_term``, ``first_term + 1`` ... or, given an array, the terms it lists (ascending;
    an index update encodes the columns that changed between others it carries over)."""
    counts = counts.astype(np.int64)
    n = len(counts)
    starts = offsets_of(counts)[:-1]
    term = np.repeat(np.arange(n, dtype=np.int64), counts)
    local = np.arange(len(docs), dtype=np.int64) - starts[term]
    docs = np.asarray(docs, dtype=np.int64)
    tf = np.asarray(tf, dtype=np.int64)
    gaps = column_gaps(docs, starts)

    one = gaps == 1
    width, bitmap = packing_choice(counts, gaps, term)
    in_bitmap = bitmap[term]
    other = ~(one & in_bitmap)
    values = gaps - 1 - in_bitmap
    other_counts = np.bincount(term, weights=other, minlength=n).astype(np.int64)

    # Both parts start on 8-byte words, so that values are read with aligned loads.
    bitmap_bytes = np.where(bitmap, _words_of(counts) * 8, 0)
    packed_bytes = _words_of(other_counts * width) * 8
    gap_bytes = bitmap_bytes + packed_bytes
    byte_start = offsets_of(gap_bytes)[:-1]
    stream = np.zeros(int(gap_bytes.sum()) + GAPS_TAIL, dtype=np.uint8)

    flagged = other & in_bitmap
    flags = np.zeros(int(bitmap_bytes.sum()) * 8, dtype=bool)
    flag_start = offsets_of(bitmap_bytes * 8)[:-1]
    flags[(flag_start[term] + local)[flagged]] = True
    flag_bytes = np.packbits(flags, bitorder="little")
    bitmap_columns = np.flatnonzero(bitmap)
    stream[np.repeat(byte_start[bitmap_columns] - flag_start[bitmap_columns] // 8, bitmap_bytes[bitmap_columns]) + np.arange(len(flag_bytes))] = flag_bytes

    rank = np.cumsum(other) - other  # gaps above 1 before each posting, in the run
    rank -= rank[starts][term]  # ... in its column
    other_term = term[other]
    other_rank = rank[other]
    other_width = width[other_term]
    limit = (np.int64(1) << other_width) - 1
    other_values = values[other]
    patched = other_values >= limit
    stored = np.where(patched, limit, other_values)
    _pack(stream, (byte_start + bitmap_bytes)[other_term] * 8 + other_rank * other_width, stored, other_width)
    stream = stream[:-GAPS_TAIL]

    frequent = tf != 1
    tfx_counts = np.bincount(term[frequent], minlength=n).astype(np.int64)
    positions = local[frequent]
    frequent_term = term[frequent]
    position_gaps = positions.copy()
    position_gaps[1:] -= positions[:-1]
    first_of_column = np.ones(len(positions), dtype=bool)
    first_of_column[1:] = frequent_term[1:] != frequent_term[:-1]
    position_gaps[first_of_column] = positions[first_of_column] + 1
    x_rank = np.arange(len(positions), dtype=np.int64)
    x_rank -= np.repeat(offsets_of(tfx_counts)[:-1], tfx_counts)
    frequencies = tf[frequent]
    big_gap, big_tf = position_gaps > 255, frequencies > 255

    numbers = np.arange(n, dtype=np.int64) + first_term if np.ndim(first_term) == 0 else np.asarray(first_term, dtype=np.int64)
    keys = np.concatenate([
        _patch_key(numbers[other_term[patched]], _GAP, other_rank[patched]),
        _patch_key(numbers[frequent_term[big_gap]], _TF_GAP, x_rank[big_gap]),
        _patch_key(numbers[frequent_term[big_tf]], _TF_VALUE, x_rank[big_tf]),
    ])
    patch_values = np.concatenate([other_values[patched], position_gaps[big_gap], frequencies[big_tf]])
    order = np.argsort(keys, kind="stable")
    has_patches = np.zeros(n, dtype=bool)
    has_patches[other_term[patched]] = True
    has_patches[frequent_term[big_gap | big_tf]] = True

    # Skips: the last document of each block of a column longer than one block, and how many gaps of
    # the column above 1 come before the block.
    long_column = counts[term] > BLOCK
    in_block = local % BLOCK
    block_end = long_column & ((in_block == BLOCK - 1) | (local == counts[term] - 1))
    block_start = long_column & (in_block == 0)
    skip_counts = np.bincount(term[block_end], minlength=n).astype(np.int64)

    return EncodedColumns(
        df=counts.astype(np.int32),
        width=(width | np.where(bitmap, _BITMAP, 0) | np.where(has_patches, _PATCHED, 0)).astype(np.uint8),
        max_weight=np.maximum.reduceat(weights, starts) if n else np.zeros(0),
        sizes={"gap_offsets": gap_bytes, "tfx_offsets": tfx_counts, "skip_offsets": skip_counts},
        streams={
            "gaps": stream,
            "tf_gaps": np.where(big_gap, 0, position_gaps).astype(np.uint8),
            "tf_values": np.where(big_tf, 0, frequencies).astype(np.uint8),
            "skip_last": docs[block_end].astype(np.int32),
            "skip_others": rank[block_start].astype(np.int32),
            "patch_keys": keys[order],
            "patch_values": patch_values[order].astype(np.uint32),
        },
    )


def rewritten_gaps(columns: "Columns", first: int, stop: int, column: np.ndarray, located: np.ndarray, gap: np.ndarray,
                   grown: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gaps of columns ``first`` .. ``stop - 1`` widened in place, for an index update that inserts
    documents between a column's without adding to it: ``column`` (relative to ``first``), where the
    gap's value is packed (``Columns.columns(located=True)``), the gap (a column's first counted from
    -1) and how much it grows, each gap of a different posting. Returns which gaps fit, and the
    ``gaps`` stream of those columns (from ``gap_offsets[first]`` on, a copy) with the fitting ones
    rewritten.

    A gap fits if it changes, is packed (not a gap of 1 that only the bitmap holds, nor a patched
    value), and its new value is still a packed value: below the all-ones of its column's width (no
    patch), and not a gap of 1 where the bitmap holds those. A column whose widened gaps all fit is
    then encoded exactly as ``encode_columns`` would encode it: its width and bitmap were the
    smallest choice, and widening a gap that still fits leaves the chosen size as it was while every
    other choice's size can only grow; its bitmap, frequencies, patched values and skips' ranks stay
    as they were (only its skips' documents are renumbered). A narrowed gap can make another choice
    smaller, so a column with one is carried only where ``packing_choice`` of its new gaps is its old
    one (the caller checks)."""
    code = np.asarray(columns.width[first:stop], dtype=np.int64)[column]
    width = code & _WIDTH
    value = gap - 1 - ((code & _BITMAP) > 0)
    new_value = value + grown
    limit = (np.int64(1) << width) - 1
    fits = (located >= 0) & (grown != 0) & (value < limit) & (new_value >= 0) & (new_value < limit)
    start = int(columns.gap_offsets[first])
    gaps = np.array(columns.gaps[start : int(columns.gap_offsets[stop])])
    bit = located[fits] - start * 8
    flip = (value[fits] ^ new_value[fits]).astype(np.uint64)
    words = gaps.view("<u8")
    low = (bit & 63).astype(np.uint64)
    # XOR, unbuffered: two gaps rewritten may share a word.
    np.bitwise_xor.at(words, bit >> 6, flip << low)
    crossing = np.flatnonzero(low + width[fits].astype(np.uint64) > np.uint64(64))
    if len(crossing):
        np.bitwise_xor.at(words, (bit >> 6)[crossing] + 1, flip[crossing] >> (np.uint64(64) - low[crossing]))
    return fits, gaps


def keeps_packing(columns: "Columns", first: int, which: np.ndarray, counts: np.ndarray, docs: np.ndarray) -> np.ndarray:
    """Whether each of columns ``first + which`` would be packed as it is (same width, bitmap or none)
    holding these documents: ``counts[i]`` of them for column ``which[i]``, column after column."""
    code = np.asarray(columns.width[first:], dtype=np.int64)[which]
    gaps = column_gaps(docs, offsets_of(counts)[:-1])
    width, bitmap = packing_choice(counts, gaps, np.repeat(np.arange(len(counts), dtype=np.int64), counts))
    return (width == (code & _WIDTH)) & (bitmap == ((code & _BITMAP) > 0))


def offsets_of(sizes) -> np.ndarray:
    """Where each of consecutive pieces of these sizes starts, and where the last ends (int64).

    >>> offsets_of([3, 0, 2]).tolist()
    [0, 3, 3, 5]
    """
    out = np.zeros(len(sizes) + 1, dtype=np.int64)
    np.cumsum(sizes, out=out[1:])
    return out


def assemble_columns(parts: list[EncodedColumns]) -> dict[str, np.ndarray]:
    """The per-term arrays (but idf and the like) and streams of an index from its columns encoded in
    consecutive runs."""

    def offsets(sizes: list[np.ndarray]) -> np.ndarray:
        return offsets_of(np.concatenate(sizes) if sizes else np.zeros(0, dtype=np.int64))

    arrays = {
        "df": np.concatenate([p.df for p in parts]),
        "width": np.concatenate([p.width for p in parts]),
        "max_weight": np.concatenate([p.max_weight for p in parts]),
    }
    for name in OFFSETS:
        arrays[name] = offsets([p.sizes[name] for p in parts])
    for name in STREAMS:
        arrays[name] = np.concatenate([p.streams[name] for p in parts])
    arrays["gaps"] = np.concatenate([arrays["gaps"], np.zeros(GAPS_TAIL, dtype=np.uint8)])
    return arrays


class Columns:
    """Decoding the columns of an index: whole columns, a few documents of a column, or a range of
    columns at once. ``arrays`` holds TERM_ARRAYS and STREAMS (memory-mapped or in memory)."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.df = arrays["df"]
        self.width = arrays["width"]
        self.gap_offsets = arrays["gap_offsets"]
        self.tfx_offsets = arrays["tfx_offsets"]
        self.skip_offsets = arrays["skip_offsets"]
        self.gaps = arrays["gaps"]
        self.tf_gaps = arrays["tf_gaps"]
        self.tf_values = arrays["tf_values"]
        self.skip_last = arrays["skip_last"]
        self.skip_others = arrays["skip_others"]
        self.patch_keys = arrays["patch_keys"]
        self.patch_values = arrays["patch_values"]
        if len(self.gaps) < GAPS_TAIL or len(self.gaps) % 8:
            raise ValueError("the gaps stream lacks its tail")
        # The gaps as little-endian 8-byte words: packed values are read from the words they overlap.
        self._aligned = self.gaps.view("<u8")
        self._kept: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._kept_bytes = 0
        self._kept_lock = threading.Lock()
        self._patches_kept: dict[int, tuple[tuple[np.ndarray, np.ndarray], ...]] = {}  # see ``_term_patches``
        self._patches_bytes = 0

    # --- pieces ----------------------------------------------------------------------------------

    def _gather(self, bit: np.ndarray, mask) -> np.ndarray:
        """The values starting at these bits of the gaps, masked, as int64."""
        at = bit >> 6
        low = (bit & 63).astype(np.uint64)
        out = self._aligned[at] >> low
        out |= self._aligned[at + 1] << (np.uint64(64) - low)
        out &= mask
        return out.view(np.int64)

    def _patches(self, first: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Patched values of terms ``first`` .. ``stop - 1``: keys and values."""
        lo, hi = np.searchsorted(self.patch_keys, [first << 34, stop << 34])
        return self.patch_keys[lo:hi], self.patch_values[lo:hi].astype(np.int64)

    def _term_patches(self, term: int) -> tuple[tuple[np.ndarray, np.ndarray], ...] | None:
        """A column's patched values, of each kind: (indices, values), int64 arrays, indices ascending;
        None when it has none. A long column of a large corpus has thousands (a gap of over 255 between
        frequencies above 1), so they are sorted out as arrays, not read one by one."""
        if not int(self.width[term]) & _PATCHED:
            return None
        kept = self._patches_kept.get(term)
        if kept is not None:
            return kept
        kept = self._read_patches(term)
        size = sum(array.nbytes for pair in kept for array in pair)
        with self._kept_lock:
            # Kept for the terms queries meet again (a query reads a column's patches for its decoding,
            # each look-up and the frequencies): 10 us each time against a dict read. The oldest go.
            if term not in self._patches_kept:
                self._patches_kept[term] = kept
                self._patches_bytes += size
            while self._patches_bytes > _PATCHES_KEPT_BYTES and len(self._patches_kept) > 1:
                dropped = self._patches_kept.pop(next(iter(self._patches_kept)))
                self._patches_bytes -= sum(array.nbytes for pair in dropped for array in pair)
        return kept

    def _read_patches(self, term: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        lo, hi = self.patch_keys.searchsorted([term << 34, (term + 1) << 34]).tolist()
        keys = self.patch_keys[lo:hi]
        values = self.patch_values[lo:hi].astype(np.int64)
        index = keys & 0xFFFFFFFF
        # Keys sort by kind, then index: each kind is one slice.
        bounds = np.searchsorted((keys >> 32) & 3, [_GAP, _TF_GAP, _TF_VALUE, _TF_VALUE + 1]).tolist()
        kinds = tuple((index[a:b], values[a:b]) for a, b in zip(bounds, bounds[1:]))
        for pair in kinds:
            for array in pair:
                array.flags.writeable = False
        return kinds

    def _frequent(self, term: int, patches) -> tuple[np.ndarray, np.ndarray] | None:
        """Positions in the column of the postings whose frequency is not 1, and those frequencies;
        None when there are none."""
        x0, x1 = int(self.tfx_offsets[term]), int(self.tfx_offsets[term + 1])
        if x1 == x0:
            return None
        gap_patches = value_patches = (NONE, NONE)
        if patches is not None:
            gap_patches, value_patches = patches[_TF_GAP], patches[_TF_VALUE]
        frequent = kernels.frequent_postings(self.tf_gaps[x0:x1], self.tf_values[x0:x1], *gap_patches, *value_patches)
        for values in frequent:  # (read-only whether kept or not: one compiled kernel reads both)
            values.flags.writeable = False
        return frequent

    def _frequent_kept(self, term: int, patches) -> tuple[np.ndarray, np.ndarray] | None:
        """``_frequent``, kept for the longest columns. Their positions are gaps summed from the
        column's start, so a look-up of a few documents sums them all: 1.4 million for 年 in a
        million paragraphs, 4 ms of every look-up of it, where its blocks take 0.2 ms. A column's
        are kept once worked out (read-only), the least recently used dropped beyond
        ``_KEPT_FREQUENT_BYTES``."""
        count = int(self.tfx_offsets[term + 1]) - int(self.tfx_offsets[term])
        if count < _KEPT_FREQUENT_FROM:
            return self._frequent(term, patches)
        with self._kept_lock:
            kept = self._kept.get(term)
            if kept is not None:
                self._kept.move_to_end(term)
                return kept
        kept = self._frequent(term, patches)
        with self._kept_lock:
            if term not in self._kept:
                self._kept[term] = kept
                self._kept_bytes += kept[0].nbytes + kept[1].nbytes
            while self._kept_bytes > _KEPT_FREQUENT_BYTES and len(self._kept) > 1:
                _, dropped = self._kept.popitem(last=False)
                self._kept_bytes -= dropped[0].nbytes + dropped[1].nbytes
        return kept

    # --- queries ---------------------------------------------------------------------------------

    def same_postings(self, a: int, b: int) -> bool:
        """Whether columns ``a`` and ``b`` are encoded alike, byte for byte (their gaps, frequencies and
        patched values), and so hold the same documents with the same frequencies. A question's word of
        two characters is also its character bigram, and where the two characters stand together
        only as that word, the two columns are the same postings; a query then decodes and weighs
        one of them."""
        if a == b:
            return True
        if int(self.df[a]) != int(self.df[b]) or int(self.width[a]) != int(self.width[b]):
            return False
        spans = ((self.gaps, self.gap_offsets), (self.tf_gaps, self.tfx_offsets), (self.tf_values, self.tfx_offsets))
        for stream, offsets in spans:
            a0, a1, b0, b1 = int(offsets[a]), int(offsets[a + 1]), int(offsets[b]), int(offsets[b + 1])
            if a1 - a0 != b1 - b0 or not kernels.same_run(stream, a0, b0, a1 - a0):
                return False
        if int(self.width[a]) & _PATCHED:
            for (ia, va), (ib, vb) in zip(self._term_patches(a), self._term_patches(b)):
                if not (np.array_equal(ia, ib) and np.array_equal(va, vb)):
                    return False
        return True

    def column(self, term: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The documents holding ``term`` (int64, ascending) and their frequencies (None: all 1)."""
        n = int(self.df[term])
        code = int(self.width[term])
        patches = self._term_patches(term)
        docs = kernels.decode_docs(self._aligned, int(self.gap_offsets[term]), n, code & _WIDTH, code & _BITMAP > 0, *self._gap_patches(patches))
        frequent = self._frequent_kept(term, patches)
        if frequent is None:
            return docs, None
        return docs, kernels.spread_frequencies(n, *frequent)

    @staticmethod
    def _gap_patches(patches) -> tuple[np.ndarray, np.ndarray]:
        return (NONE, NONE) if patches is None else patches[_GAP]

    def lookup(self, term: int, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which of the sorted, distinct ``docs`` hold ``term`` (a mask) and, for those, the frequency
        (int64): from the blocks they stand in (``block_frequencies``), or the column decoded whole
        where they are many."""
        tf = self.block_frequencies(term, docs)
        if tf is None:
            found, frequencies = self.column(term)
            where, hit = kernels.found_in(found, docs)
            held = np.flatnonzero(hit)
            return hit, np.ones(len(held), dtype=np.int64) if frequencies is None else frequencies[where[held]]
        hit = tf > 0
        return hit, tf[np.flatnonzero(hit)]

    def block_frequencies(self, term: int, docs: np.ndarray) -> np.ndarray | None:
        """The term's frequency in each of the sorted, distinct ``docs`` (0 where absent), from the
        blocks they stand in; None when they are so many that decoding the column whole costs less
        (at least a third of its blocks could be wanted)."""
        n = int(self.df[term])
        s0, s1 = int(self.skip_offsets[term]), int(self.skip_offsets[term + 1])
        if s1 == s0 or len(docs) * BLOCK * 3 >= n:
            return None
        code = int(self.width[term])
        patches = self._term_patches(term)
        frequent = self._frequent_kept(term, patches) or (NONE, NONE)
        return kernels.block_frequencies(
            self._aligned, int(self.gap_offsets[term]), n, code & _WIDTH, code & _BITMAP > 0, *self._gap_patches(patches),
            self.skip_last[s0:s1], self.skip_others[s0:s1], docs, *frequent,
        )

    def columns(self, first: int, stop: int, located: bool = False) -> tuple[np.ndarray, ...]:
        """Every posting of columns ``first`` .. ``stop - 1``: (column number relative to ``first``,
        document, frequency), column after column, documents ascending within each. ``located`` adds
        where each posting's gap is packed: its bit in ``gaps``, -1 for a gap of 1 that only the
        bitmap holds (an index update rewrites a few gaps in place, ``retrieval.index_build``)."""
        counts = self.df[first:stop].astype(np.int64)
        n = len(counts)
        if n == 0 or counts.sum() == 0:
            empty = np.zeros(0, dtype=np.int64)
            return (empty, empty, empty, empty) if located else (empty, empty, empty)
        starts = offsets_of(counts)[:-1]
        total = int(counts.sum())
        term = np.repeat(np.arange(n, dtype=np.int64), counts)
        local = np.arange(total, dtype=np.int64) - starts[term]
        code = self.width[first:stop].astype(np.int64)
        width = code & _WIDTH
        bitmap = (code & _BITMAP) > 0
        byte = self.gap_offsets[first:stop].astype(np.int64)
        other = np.ones(total, dtype=bool)
        flagged = bitmap[term]
        other[flagged] = ((self.gaps[(byte[term] + (local >> 3))[flagged]] >> (local[flagged] & 7)) & 1) > 0
        rank = np.cumsum(other) - other
        rank -= rank[starts][term]
        packed_at = byte + np.where(bitmap, _words_of(counts) * 8, 0)
        other_term = term[other]
        other_width = width[other_term]
        bit = packed_at[other_term] * 8 + rank[other] * other_width
        mask = ((np.int64(1) << other_width) - 1).astype(np.uint64)
        values = self._gather(bit, mask)
        keys, patched = self._patches(first, stop)
        patch_term = (keys >> 34) - first
        kind = (keys >> 32) & 3
        index = keys & 0xFFFFFFFF
        is_gap = kind == _GAP
        if is_gap.any():
            other_start = offsets_of(np.bincount(other_term, minlength=n))[:-1]
            values[other_start[patch_term[is_gap]] + index[is_gap]] = patched[is_gap]
        gaps = np.ones(total, dtype=np.int64)
        gaps[other] = values + 1 + bitmap[other_term]
        gaps[starts] -= 1
        sums = np.cumsum(gaps)
        docs = sums - np.repeat(sums[starts] - gaps[starts], counts)
        tf = np.ones(total, dtype=np.int64)
        x0, x1 = int(self.tfx_offsets[first]), int(self.tfx_offsets[stop])
        if x1 > x0:
            x_counts = np.diff(self.tfx_offsets[first : stop + 1].astype(np.int64))
            x_term = np.repeat(np.arange(n, dtype=np.int64), x_counts)
            x_start = offsets_of(x_counts)[:-1]
            tf_gaps = self.tf_gaps[x0:x1].astype(np.int64)
            values = self.tf_values[x0:x1].astype(np.int64)
            for which, target in ((_TF_GAP, tf_gaps), (_TF_VALUE, values)):
                pick = kind == which
                target[x_start[patch_term[pick]] + index[pick]] = patched[pick]
            sums = np.cumsum(tf_gaps)
            before = np.concatenate([[0], sums])[x_start]
            positions = sums - np.repeat(before, x_counts) - 1
            tf[starts[x_term] + positions] = values
        if located:
            where = np.full(total, -1, dtype=np.int64)
            where[other] = bit
            return term, docs, tf, where
        return term, docs, tf
