# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The index query's inner loops, compiled to C when the project is installed (Cython): a column decoded
in one pass, documents looked up in a few of its blocks, sorted arrays matched, BM25 weights worked out
and added up, each without the temporaries a numpy pass a step needs (a query is thousands of such steps
over arrays of a few thousand).

A weight is worked out in rank-bm25's order of operations, in C doubles, and built with
``-ffp-contract=off`` (``pyproject.toml``), so no multiply and add are fused: the same float as
``retrieval.postings.bm25_weights`` to the last bit (``tests/unit/retrieval/test_postings.py`` checks).
The module is a plain extension: importing it loads no compiler and compiles nothing, so a fresh
process pays nothing for it. Besides ``retrieval.postings``, ``retrieval.index`` and
``retrieval.index_build``, this is the only module that uses numpy.
"""

import numpy as np

from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

BLOCK = 128  # postings a skip entry covers (``retrieval.postings.BLOCK``)
cdef Py_ssize_t _BLOCK = BLOCK
NONE = np.zeros(0, dtype=np.int64)  # an empty patch table, or "every frequency is 1"
NONE.flags.writeable = False

ctypedef fused length_t:  # documents' lengths: ``retrieval.index.document_lengths`` narrows them
    uint16_t
    uint32_t
    int64_t


def length_norms(lengths, k1, b, avgdl):
    """What a document's length adds to the denominator of its BM25 weights, as ``bm25_weights``
    computes it: worked out once a document, it gives the same floats for each of its postings.

    >>> float(length_norms(10, 1.5, 0.75, 10.0))
    1.5
    """
    return k1 * (1 - b + b * lengths / avgdl)


def saturations(tf, norms, k1):
    """BM25 weights before the idf (or with an idf of 1), from the documents' ``length_norms``.

    >>> float(saturations(1, 1.5, 1.5))
    1.0
    """
    return tf * (k1 + 1) / (tf + norms)


cdef inline double _weight(double idf, int64_t tf, double length, double k1, double b, double avgdl) noexcept nogil:
    # ``bm25_weights`` of one posting, operation for operation: the frequency and the length as
    # doubles, as numpy takes them.
    cdef double f = <double>tf
    cdef double norm = k1 * (1 - b + b * length / avgdl)
    return idf * (f * (k1 + 1) / (f + norm))


cdef inline Py_ssize_t _first_not_below(const int64_t[:] ordered, Py_ssize_t lo, Py_ssize_t hi, int64_t value) noexcept nogil:
    # The first position of ``ordered[lo:hi]`` (ascending) whose value is not below ``value``; ``hi``
    # if there is none: numpy's ``searchsorted``, left side.
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if ordered[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline int64_t _packed(const uint64_t[::1] words, int64_t bit, uint64_t mask) noexcept nogil:
    # The value packed from bit ``bit`` of the 8-byte words on: the rest of its word and the start
    # of the next, read whether it runs into the next or not (no branch to mispredict; the stream's
    # tail keeps the next word in bounds). (A shift by 64 is undefined, hence the two shifts.)
    cdef int64_t at = bit >> 6
    cdef uint64_t low = <uint64_t>(bit & 63)
    cdef uint64_t high = (words[at + 1] << 1) << (63 - low)
    return <int64_t>(((words[at] >> low) | high) & mask)


cdef void _decode(int64_t[::1] out, const uint64_t[::1] words, int64_t byte, int64_t n, int64_t width, bint bitmap,
                  const int64_t[:] patch_index, const int64_t[:] patch_value, int64_t first, int64_t rank,
                  int64_t doc) noexcept nogil:
    # Postings ``first`` .. ``first + len(out) - 1`` of a column's ``n``, into ``out``, given the gaps
    # above 1 before them (``rank``) and the document before them (``doc``): its gaps packed at
    # ``byte`` (a word's first) of the ``gaps`` stream seen as 8-byte ``words``, first the bitmap of
    # its gaps above 1 if it has one, then the packed values (``retrieval.postings``), those the patch
    # table holds (``patch_index``, ranks ascending) taken from it. Branch-free but for the rare
    # patched value: gaps of 1 and gaps above it alternate unpredictably.
    cdef uint64_t mask = ((<uint64_t>1) << width) - 1
    cdef int64_t flags = byte >> 3
    cdef int64_t start = byte * 8 + ((((n + 63) >> 6) << 6) if bitmap else 0)
    cdef int64_t step = 2 if bitmap else 1
    cdef Py_ssize_t patches = patch_index.shape[0]
    cdef Py_ssize_t p = _first_not_below(patch_index, 0, patches, rank)
    cdef Py_ssize_t j
    cdef int64_t i, above, value, patched
    patched = patch_index[p] if p < patches else -1
    for j in range(out.shape[0]):
        i = first + j
        above = <int64_t>((words[flags + (i >> 6)] >> <uint64_t>(i & 63)) & 1) if bitmap else 1
        value = _packed(words, start + rank * width, mask)
        if rank == patched and above:
            value = patch_value[p]
            p += 1
            patched = patch_index[p] if p < patches else -1
        doc += 1 + above * (value + step - 1)
        rank += above
        out[j] = doc


def decode_docs(const uint64_t[::1] words, int64_t byte, int64_t n, int64_t width, bint bitmap,
                const int64_t[:] patch_index, const int64_t[:] patch_value):
    """A column's ``n`` documents (see ``_decode``)."""
    docs = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] out = docs
    with nogil:
        _decode(out, words, byte, n, width, bitmap, patch_index, patch_value, 0, 0, -1)
    return docs


def frequent_postings(const uint8_t[:] tf_gaps, const uint8_t[:] tf_values, const int64_t[:] gap_index,
                      const int64_t[:] gap_value, const int64_t[:] value_index, const int64_t[:] value_value):
    """The positions in its column of the postings whose frequency is not 1, and those frequencies,
    from a column's ``tf_gaps`` and ``tf_values`` and their patched values (indices ascending)."""
    cdef Py_ssize_t count = tf_gaps.shape[0]
    positions_array = np.empty(count, dtype=np.int64)
    values_array = np.empty(count, dtype=np.int64)
    cdef int64_t[::1] positions = positions_array
    cdef int64_t[::1] values = values_array
    cdef Py_ssize_t g = 0, v = 0, j
    cdef int64_t at = -1
    with nogil:
        for j in range(count):
            if g < gap_index.shape[0] and gap_index[g] == j:
                at += gap_value[g]
                g += 1
            else:
                at += tf_gaps[j]
            if v < value_index.shape[0] and value_index[v] == j:
                values[j] = value_value[v]
                v += 1
            else:
                values[j] = tf_values[j]
            positions[j] = at
    return positions_array, values_array


def spread_frequencies(int64_t n, const int64_t[:] positions, const int64_t[:] values):
    """A column's ``n`` frequencies: 1 but at ``positions``."""
    tf_array = np.ones(n, dtype=np.int64)
    cdef int64_t[::1] tf = tf_array
    cdef Py_ssize_t j
    with nogil:
        for j in range(positions.shape[0]):
            tf[positions[j]] = values[j]
    return tf_array


cdef Py_ssize_t _found_in(const int64_t[:] ordered, const int64_t[:] wanted, int64_t[::1] where, uint8_t[::1] hit) noexcept nogil:
    # ``found_in`` into ``where`` and ``hit`` (zeroed by the caller): a merge, or a binary search each
    # over what is left of ``ordered`` when the wanted are few. The number found.
    cdef Py_ssize_t m = wanted.shape[0], n = ordered.shape[0]
    cdef Py_ssize_t i, j = 0, found = 0
    cdef bint few = m * 16 < n
    cdef int64_t doc
    for i in range(m):
        doc = wanted[i]
        if few:
            j = _first_not_below(ordered, j, n, doc)
        else:
            while j < n and ordered[j] < doc:
                j += 1
        if j == n:
            break
        if ordered[j] == doc:
            hit[i] = 1
            where[i] = j
            found += 1
    return found


def found_in(const int64_t[:] ordered, const int64_t[:] wanted):
    """For each of ``wanted`` (distinct, ascending), whether it is in ``ordered`` (distinct, ascending)
    and, where it is, its position there (elsewhere 0).

    >>> where, hit = found_in(np.array([2, 5, 9]), np.array([1, 5, 9, 12]))
    >>> where.tolist(), hit.tolist()
    ([0, 1, 2, 0], [False, True, True, False])
    """
    cdef Py_ssize_t m = wanted.shape[0]
    where_array = np.zeros(m, dtype=np.int64)
    hit_array = np.zeros(m, dtype=np.bool_)
    cdef int64_t[::1] where = where_array
    cdef uint8_t[::1] hit = hit_array.view(np.uint8)
    with nogil:
        _found_in(ordered, wanted, where, hit)
    return where_array, hit_array


def block_frequencies(const uint64_t[::1] words, int64_t byte, int64_t n, int64_t width, bint bitmap,
                      const int64_t[:] patch_index, const int64_t[:] patch_value, const int32_t[:] skip_last,
                      const int32_t[:] skip_others, const int64_t[:] docs, const int64_t[:] frequent_at,
                      const int64_t[:] frequent):
    """The column's frequency in each of the ascending ``docs``, 0 where it is absent, decoding only
    the blocks of ``BLOCK`` postings they could stand in (``skip_last``: each block's last document;
    ``skip_others``: the gaps above 1 before it; both the column's slices): 1 but at the positions
    ``frequent_at``, ascending, where it is ``frequent``."""
    cdef Py_ssize_t blocks = skip_last.shape[0], m = docs.shape[0]
    cdef Py_ssize_t most = min(m, blocks) * _BLOCK
    held_array = np.empty(most, dtype=np.int64)  # the blocks' documents, one block after another
    positions_array = np.empty(most, dtype=np.int64)  # and their positions in the column
    where_array = np.zeros(m, dtype=np.int64)
    hit_array = np.zeros(m, dtype=np.uint8)
    tf_array = np.zeros(m, dtype=np.int64)
    cdef int64_t[::1] held = held_array
    cdef int64_t[::1] positions = positions_array
    cdef int64_t[::1] where = where_array
    cdef uint8_t[::1] hit = hit_array
    cdef int64_t[::1] tf = tf_array
    cdef Py_ssize_t size = 0, block = 0, last = -1, i, k, count, f = 0
    cdef int64_t first, rank, before, doc, position
    with nogil:
        for i in range(m):
            doc = docs[i]
            while block < blocks and skip_last[block] < doc:
                block += 1
            if block == blocks:
                break
            if block != last:
                first = block * _BLOCK
                count = min(_BLOCK, n - first)
                rank = skip_others[block] if bitmap else first
                before = skip_last[block - 1] if block else -1
                _decode(held[size : size + count], words, byte, n, width, bitmap, patch_index, patch_value, first, rank, before)
                for k in range(count):
                    positions[size + k] = first + k
                size += count
                last = block
        _found_in(held[:size], docs, where, hit)
        for i in range(m):
            if not hit[i]:
                continue
            position = positions[where[i]]
            # The frequencies not 1 are few and ascending by position, as the documents are.
            f = _first_not_below(frequent_at, f, frequent_at.shape[0], position)
            tf[i] = frequent[f] if f < frequent_at.shape[0] and frequent_at[f] == position else 1
    return tf_array


def weights(double idf, const int64_t[:] tf, const length_t[:] lengths, const int64_t[:] docs, double k1, double b, double avgdl):
    """The term's BM25 weight in each of ``docs`` with these frequencies (``NONE``: all 1; 0 where the
    term is absent, weighing 0), ``lengths`` all documents'."""
    cdef Py_ssize_t m = docs.shape[0], i
    out_array = np.zeros(m)
    cdef double[::1] out = out_array
    cdef bint ones = tf.shape[0] == 0
    with nogil:
        for i in range(m):
            if ones or tf[i]:
                out[i] = _weight(idf, 1 if ones else tf[i], <double>lengths[docs[i]], k1, b, avgdl)
    return out_array


def found_weights(const int64_t[:] held, const int64_t[:] tf, const int64_t[:] docs, double idf, const length_t[:] lengths,
                  double k1, double b, double avgdl):
    """The term's BM25 weight in each of the ascending ``docs``, 0 where it is absent, from its
    column decoded whole (``held``, ``tf``; ``NONE``: every frequency 1)."""
    cdef Py_ssize_t m = docs.shape[0], i
    out_array = np.zeros(m)
    where_array = np.zeros(m, dtype=np.int64)
    hit_array = np.zeros(m, dtype=np.uint8)
    cdef double[::1] out = out_array
    cdef int64_t[::1] where = where_array
    cdef uint8_t[::1] hit = hit_array
    cdef bint ones = tf.shape[0] == 0
    with nogil:
        _found_in(held, docs, where, hit)
        for i in range(m):
            if hit[i]:
                out[i] = _weight(idf, 1 if ones else tf[where[i]], <double>lengths[docs[i]], k1, b, avgdl)
    return out_array


cdef inline Py_ssize_t _add(double[:] acc, int64_t doc, double value, int64_t[::1] new, Py_ssize_t count) noexcept nogil:
    # Add ``value`` to the sum of ``doc``, listing it in ``new[count]`` where the sum was 0; the number
    # of documents listed.
    cdef double before = acc[doc]
    acc[doc] = before + value
    if before == 0:
        new[count] = doc
        return count + 1
    return count


def add_up(double[:] acc, const int64_t[:] docs, const double[:] values):
    """Add ``values`` into the sums ``acc`` of ``docs``; the documents whose sum was 0 (new, every value
    being above 0), in the order given."""
    cdef Py_ssize_t m = docs.shape[0], i, count = 0
    new_array = np.empty(m, dtype=np.int64)
    cdef int64_t[::1] new = new_array
    with nogil:
        for i in range(m):
            count = _add(acc, docs[i], values[i], new, count)
    return new_array[:count]


def add_weights(double[:] acc, const int64_t[:] docs, const int64_t[:] tf, int64_t times, double idf,
                const length_t[:] lengths, double k1, double b, double avgdl):
    """``add_up`` of the term's BM25 weights in its column (``docs``, ``tf``; ``NONE``: every frequency
    1), each ``times`` over (a term repeated in the query), without an array of them."""
    cdef Py_ssize_t m = docs.shape[0], i, count = 0
    new_array = np.empty(m, dtype=np.int64)
    cdef int64_t[::1] new = new_array
    cdef bint ones = tf.shape[0] == 0
    cdef double weight
    with nogil:
        for i in range(m):
            weight = _weight(idf, 1 if ones else tf[i], <double>lengths[docs[i]], k1, b, avgdl)
            count = _add(acc, docs[i], weight if times == 1 else times * weight, new, count)
    return new_array[:count]


def take_best(double[:] best, const int64_t[:] docs, const double[:] values):
    """Raise the bests ``best`` of ``docs`` to ``values`` where these are higher; the documents whose
    best was 0 (new, every value being above 0), in the order given."""
    cdef Py_ssize_t m = docs.shape[0], i, count = 0
    new_array = np.empty(m, dtype=np.int64)
    cdef int64_t[::1] new = new_array
    cdef int64_t doc
    cdef double before
    with nogil:
        for i in range(m):
            doc = docs[i]
            before = best[doc]
            if values[i] > before:
                best[doc] = values[i]
            if before == 0:
                new[count] = doc
                count += 1
    return new_array[:count]


def same_run(const uint8_t[:] stream, int64_t a, int64_t b, int64_t length):
    """Whether ``stream[a : a + length]`` equals ``stream[b : b + length]``: two columns compared,
    without the slices and the comparison array numpy makes (thousands of pairs of rare terms,
    most differing early)."""
    cdef int64_t i
    for i in range(length):
        if stream[a + i] != stream[b + i]:
            return False
    return True
