"""The index query's inner loops, compiled with numba: a column decoded in one pass, documents looked up
in a few of its blocks, sorted arrays matched, BM25 weights worked out and added up, each without the
temporaries a numpy pass a step needs (a query is thousands of such steps over arrays of a few thousand).

The BM25 arithmetic is written once, as plain functions of numbers or numpy arrays alike
(``length_norms``, ``saturations``), and the kernels compile those same functions: a weight is the same
float whether numpy or a kernel works it out, to the last bit (no ``fastmath``, so nothing is reordered
or fused). Compiled code is cached beside this module (``cache=True``, numba's ``__pycache__`` files), so
only the first process after an install compiles. Besides ``retrieval.postings``, ``retrieval.index``
and ``retrieval.index_build``, this is the only module that uses numpy.
"""

from __future__ import annotations

import logging

import numba
import numpy as np

log = logging.getLogger(__name__)


def _kernel(function):
    """``function`` compiled on its first call, or loaded from numba's cache: beside this module, or
    (that folder read-only) in the user's cache folder or ``NUMBA_CACHE_DIR``. With no folder to
    write, numba refuses to cache; each process then compiles the kernels it calls (seconds)."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError as error:  # numba's "cannot cache function ...: no locator available"
        if not _uncached:
            log.warning("%s: the index query's kernels are compiled in each process", error)
        _uncached.append(function.__name__)
        return numba.njit(nogil=True)(function)


_uncached: list[str] = []  # the kernels numba could not cache


BLOCK = 128  # postings a skip entry covers (``retrieval.postings.BLOCK``)
NONE = np.zeros(0, dtype=np.int64)  # an empty patch table, or "every frequency is 1"
NONE.flags.writeable = False  # as the patch tables kept (one compiled kernel for both)


def length_norms(lengths, k1: float, b: float, avgdl: float):
    """What a document's length adds to the denominator of its BM25 weights, as ``bm25_weights``
    computes it: worked out once a document, it gives the same floats for each of its postings."""
    return k1 * (1 - b + b * lengths / avgdl)


def saturations(tf, norms, k1: float):
    """BM25 weights before the idf (or with an idf of 1), from the documents' ``length_norms``."""
    return tf * (k1 + 1) / (tf + norms)


_norm = numba.njit(length_norms, inline="always")
_saturation = numba.njit(saturations, inline="always")


@numba.njit(inline="always")
def _weight(idf, tf, length, k1, b, avgdl):
    # ``retrieval.postings.bm25_weights`` of one posting; the frequency as a float, as numpy takes it.
    return idf * _saturation(np.float64(tf), _norm(length, k1, b, avgdl), k1)


@numba.njit(inline="always")
def _packed(words, bit, mask):
    """The value (``mask``: its width's ones) packed from bit ``bit`` of the 8-byte words on: the
    rest of its word and the start of the next, read whether it runs into the next or not (no branch
    to mispredict; the stream's tail keeps the next word in bounds)."""
    at = bit >> 6
    low = np.uint64(bit & 63)
    high = (words[at + 1] << np.uint64(1)) << (np.uint64(63) - low)  # (a shift by 64 is undefined)
    return np.int64(((words[at] >> low) | high) & mask)


@numba.njit(inline="always")
def _decode(out, words, byte, n, width, bitmap, patch_index, patch_value, first, rank, doc):
    """Postings ``first`` .. ``first + len(out) - 1`` of a column's ``n``, into ``out``, given the
    gaps above 1 before them (``rank``) and the document before them (``doc``): its gaps packed at
    ``byte`` (a word's first) of the ``gaps`` stream seen as 8-byte ``words``, first the bitmap of its
    gaps above 1 if it has one, then the packed values (``retrieval.postings``), those the patch table
    holds (``patch_index``, ranks ascending) taken from it."""
    mask = np.uint64((1 << width) - 1)
    flags = byte >> 3
    start = byte * 8 + (((n + 63) >> 6) << 6 if bitmap else 0)
    step = 2 if bitmap else 1
    patches = len(patch_index)
    p = np.searchsorted(patch_index, rank) if patches else 0
    patched = patch_index[p] if p < patches else -1
    # Branch-free but for the rare patched value: gaps of 1 and gaps above it alternate unpredictably.
    for j in range(len(out)):
        i = first + j
        above = np.int64((words[flags + (i >> 6)] >> np.uint64(i & 63)) & np.uint64(1)) if bitmap else 1
        value = _packed(words, start + rank * width, mask)
        if rank == patched and above:
            value = patch_value[p]
            p += 1
            patched = patch_index[p] if p < patches else -1
        doc += 1 + above * (value + step - 1)
        rank += above
        out[j] = doc


@_kernel
def decode_docs(words, byte, n, width, bitmap, patch_index, patch_value):
    """A column's ``n`` documents (see ``_decode``)."""
    docs = np.empty(n, dtype=np.int64)
    _decode(docs, words, byte, n, width, bitmap, patch_index, patch_value, 0, 0, np.int64(-1))
    return docs


@_kernel
def frequent_postings(tf_gaps, tf_values, gap_index, gap_value, value_index, value_value):
    """The positions in its column of the postings whose frequency is not 1, and those frequencies,
    from a column's ``tf_gaps`` and ``tf_values`` and their patched values (indices ascending)."""
    count = len(tf_gaps)
    positions = np.empty(count, dtype=np.int64)
    values = np.empty(count, dtype=np.int64)
    g, v, at = 0, 0, np.int64(-1)
    for j in range(count):
        if g < len(gap_index) and gap_index[g] == j:
            at += gap_value[g]
            g += 1
        else:
            at += tf_gaps[j]
        if v < len(value_index) and value_index[v] == j:
            values[j] = value_value[v]
            v += 1
        else:
            values[j] = tf_values[j]
        positions[j] = at
    return positions, values


@_kernel
def spread_frequencies(n, positions, values):
    """A column's ``n`` frequencies: 1 but at ``positions``."""
    tf = np.ones(n, dtype=np.int64)
    for j in range(len(positions)):
        tf[positions[j]] = values[j]
    return tf


@numba.njit
def _find_in_blocks(words, byte, n, width, bitmap, patch_index, patch_value, skip_last, skip_others, docs):
    """Which of the ascending ``docs`` a column holds and their positions in it, decoding only the
    blocks of ``BLOCK`` postings they could stand in (``skip_last``: each block's last document;
    ``skip_others``: the gaps above 1 before it; both the column's slices)."""
    blocks = len(skip_last)
    most = min(len(docs), blocks) * BLOCK
    held = np.empty(most, dtype=np.int64)  # the blocks' documents, one block after another
    positions = np.empty(most, dtype=np.int64)  # and their positions in the column
    size, block, last = 0, 0, -1
    for doc in docs:
        while block < blocks and skip_last[block] < doc:
            block += 1
        if block == blocks:
            break
        if block != last:
            first = block * BLOCK
            count = min(BLOCK, n - first)
            rank = np.int64(skip_others[block]) if bitmap else first
            before = np.int64(skip_last[block - 1]) if block else np.int64(-1)
            _decode(held[size : size + count], words, byte, n, width, bitmap, patch_index, patch_value, first, rank, before)
            positions[size : size + count] = np.arange(first, first + count)
            size += count
            last = block
    where, hit = found_in(held[:size], docs)
    for i in range(len(docs)):
        if hit[i]:
            where[i] = positions[where[i]]
    return where, hit


@_kernel
def block_frequencies(words, byte, n, width, bitmap, patch_index, patch_value, skip_last, skip_others, docs, frequent_at, frequent):
    """The column's frequency in each of the ascending ``docs``, 0 where it is absent, decoding the
    blocks they could stand in only (``_find_in_blocks``): 1 but at the positions ``frequent_at``,
    ascending, where it is ``frequent``."""
    where, hit = _find_in_blocks(words, byte, n, width, bitmap, patch_index, patch_value, skip_last, skip_others, docs)
    held = np.flatnonzero(hit)
    at, there = found_in(frequent_at, where[held])
    tf = np.zeros(len(docs), dtype=np.int64)
    for j in range(len(held)):
        tf[held[j]] = frequent[at[j]] if there[j] else 1
    return tf


@_kernel
def found_in(ordered, wanted):
    """For each of ``wanted`` (distinct, ascending), whether it is in ``ordered`` (distinct, ascending)
    and, where it is, its position there (elsewhere 0): a merge of the two, or a binary search each
    (over what is left of ``ordered``) when they are few."""
    m, n = len(wanted), len(ordered)
    hit = np.zeros(m, dtype=np.bool_)
    where = np.zeros(m, dtype=np.int64)
    if n == 0 or m == 0:
        return where, hit
    if m * 16 < n:
        lo = 0
        for i in range(m):
            lo += np.searchsorted(ordered[lo:], wanted[i])
            if lo == n:
                break
            if ordered[lo] == wanted[i]:
                hit[i] = True
                where[i] = lo
        return where, hit
    j = 0
    for i in range(m):
        doc = wanted[i]
        while j < n and ordered[j] < doc:
            j += 1
        if j == n:
            break
        if ordered[j] == doc:
            hit[i] = True
            where[i] = j
    return where, hit


@_kernel
def weights(idf, tf, lengths, docs, k1, b, avgdl):
    """The term's BM25 weight in each of ``docs`` with these frequencies (``NONE``: all 1; 0 where the
    term is absent, weighing 0), ``lengths`` all documents'."""
    out = np.zeros(len(docs))
    ones = len(tf) == 0
    for i in range(len(docs)):
        if ones or tf[i]:
            out[i] = _weight(idf, 1 if ones else tf[i], lengths[docs[i]], k1, b, avgdl)
    return out


@_kernel
def found_weights(held, tf, docs, idf, lengths, k1, b, avgdl):
    """The term's BM25 weight in each of the ascending ``docs``, 0 where it is absent, from its
    column decoded whole (``held``, ``tf``; ``NONE``: every frequency 1)."""
    where, hit = found_in(held, docs)
    out = np.zeros(len(docs))
    ones = len(tf) == 0
    for i in range(len(docs)):
        if hit[i]:
            out[i] = _weight(idf, 1 if ones else tf[where[i]], lengths[docs[i]], k1, b, avgdl)
    return out


@numba.njit(inline="always")
def _add(acc, doc, value, new, count):
    """Add ``value`` to the sum of ``doc``, listing it in ``new[count]`` where the sum was 0; the number
    of documents listed."""
    before = acc[doc]
    acc[doc] = before + value
    if before == 0:
        new[count] = doc
        return count + 1
    return count


@_kernel
def add_up(acc, docs, values):
    """Add ``values`` into the sums ``acc`` of ``docs``; the documents whose sum was 0 (new, every value
    being above 0), in the order given."""
    new = np.empty(len(docs), dtype=np.int64)
    count = 0
    for i in range(len(docs)):
        count = _add(acc, docs[i], values[i], new, count)
    return new[:count]


@_kernel
def add_weights(acc, docs, tf, times, idf, lengths, k1, b, avgdl):
    """``add_up`` of the term's BM25 weights in its column (``docs``, ``tf``; ``NONE``: every frequency
    1), each ``times`` over (a term repeated in the query), without an array of them."""
    new = np.empty(len(docs), dtype=np.int64)
    ones = len(tf) == 0
    count = 0
    for i in range(len(docs)):
        weight = _weight(idf, 1 if ones else tf[i], lengths[docs[i]], k1, b, avgdl)
        count = _add(acc, docs[i], weight if times == 1 else times * weight, new, count)
    return new[:count]


@_kernel
def take_best(best, docs, values):
    """Raise the bests ``best`` of ``docs`` to ``values`` where these are higher; the documents whose
    best was 0 (new, every value being above 0), in the order given."""
    new = np.empty(len(docs), dtype=np.int64)
    count = 0
    for i in range(len(docs)):
        doc = docs[i]
        before = best[doc]
        if values[i] > before:
            best[doc] = values[i]
        if before == 0:
            new[count] = doc
            count += 1
    return new[:count]


@_kernel
def same_run(stream, a, b, length):
    """Whether ``stream[a : a + length]`` equals ``stream[b : b + length]``: two columns compared,
    without the slices and the comparison array numpy makes (thousands of pairs of rare terms,
    most differing early)."""
    for i in range(length):
        if stream[a + i] != stream[b + i]:
            return False
    return True
