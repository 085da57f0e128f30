"""The column encoding is lossless: every column decodes to its documents and frequencies, whole, by a
few of its documents (the blocks they stand in) and by ranges of columns, whatever the widths, gaps of
1, values too large to pack (gaps, frequencies, gaps between frequencies) and block boundaries."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.postings import BLOCK, STREAMS, Columns, assemble_columns, encode_columns


def random_columns(rng: np.random.Generator, doc_count: int, terms: int):
    """Columns of every shape: dense runs of consecutive documents, sparse ones, single postings,
    columns a few blocks long, and frequencies mostly 1 with some above 255."""
    columns = []
    for _ in range(terms):
        shape = rng.integers(0, 6)
        if shape == 0:
            docs = np.array([rng.integers(0, doc_count)])
        elif shape == 1:  # runs of neighbours: many gaps of 1
            starts = rng.choice(doc_count - 4, size=rng.integers(1, 200), replace=False)
            docs = np.unique(np.concatenate([starts + k for k in range(rng.integers(1, 4))]))
        elif shape == 2:  # long and dense
            docs = np.flatnonzero(rng.random(doc_count) < rng.choice([0.05, 0.3, 0.9]))
        elif shape == 3:  # sparse, with a few huge gaps
            docs = np.unique(np.concatenate([rng.integers(0, 50, size=20), rng.integers(doc_count - 50, doc_count, size=20)]))
        elif shape == 4:
            docs = np.unique(rng.integers(0, doc_count, size=rng.integers(1, 3 * BLOCK)))
        else:  # blocks of near neighbours far apart: a few gaps too large to pack in a long column
            docs = np.unique(np.concatenate([rng.integers(0, doc_count // 100) + s * (doc_count // 8) + np.arange(0, 600, 3) for s in range(5)]))
        if len(docs) == 0:
            docs = np.array([0])
        tf = np.ones(len(docs), dtype=np.int64)
        frequent = rng.random(len(docs)) < rng.choice([0.0, 0.002, 0.07, 0.6])
        tf[frequent] = rng.choice([2, 3, 7, 255, 256, 70_000], size=int(frequent.sum()), p=[0.6, 0.2, 0.1, 0.04, 0.03, 0.03])
        columns.append((docs.astype(np.int64), tf))
    return columns


def encoded_index(columns, runs: int) -> Columns:
    """The columns encoded in ``runs`` consecutive runs, as a build merging term ranges does."""
    cuts = np.linspace(0, len(columns), runs + 1).astype(int)
    parts = []
    for a, b in zip(cuts, cuts[1:]):
        part = columns[a:b]
        counts = np.array([len(d) for d, _ in part])
        docs = np.concatenate([d for d, _ in part])
        tf = np.concatenate([t for _, t in part])
        parts.append(encode_columns(counts, docs, tf, tf.astype(float), first_term=int(a)))
    arrays = assemble_columns(parts)
    assert set(STREAMS) <= set(arrays)
    return Columns(arrays)


@pytest.mark.parametrize("seed", range(4))
def test_columns_decode_to_what_was_encoded(seed):
    rng = np.random.default_rng(seed)
    doc_count = int(rng.choice([300, 5_000, 200_000]))
    columns = random_columns(rng, doc_count, 60)
    index = encoded_index(columns, runs=int(rng.integers(1, 4)))
    for term, (docs, tf) in enumerate(columns):
        got_docs, got_tf = index.column(term)
        np.testing.assert_array_equal(got_docs, docs)
        np.testing.assert_array_equal(np.ones(len(docs), dtype=np.int64) if got_tf is None else got_tf, tf)
        # A few documents, held or not: their blocks only when they are few; and documents past the
        # column's last one only, which stand in none of its blocks.
        past = np.arange(int(docs[-1]) + 1, int(docs[-1]) + 3)
        for asked in [np.unique(np.concatenate([rng.choice(docs, size=size), rng.integers(0, doc_count, size=size)]))
                      for size in (1, 3, len(docs) // 2 + 1)] + [past]:
            hit, frequencies = index.lookup(term, asked)
            expected = np.isin(asked, docs)
            np.testing.assert_array_equal(hit, expected)
            np.testing.assert_array_equal(frequencies, tf[np.searchsorted(docs, asked[expected])])
    for first, stop in ((0, len(columns)), (5, 17), (len(columns) - 1, len(columns))):
        term, docs, tf = index.columns(first, stop)
        np.testing.assert_array_equal(term, np.repeat(np.arange(stop - first), [len(d) for d, _ in columns[first:stop]]))
        np.testing.assert_array_equal(docs, np.concatenate([d for d, _ in columns[first:stop]]))
        np.testing.assert_array_equal(tf, np.concatenate([t for _, t in columns[first:stop]]))


def test_gaps_of_one_cost_a_bit_and_large_values_are_patched():
    """Consecutive documents cost about a bit each; one huge gap does not widen the whole column."""
    runs = np.concatenate([np.arange(10_000), [2_000_000_000]])
    spread = np.concatenate([np.arange(0, 30_000, 3), [2_000_000_000]])
    for docs, most_bytes in ((runs, len(runs) // 8 + 16), (spread, 2 * len(spread) // 8 + 16)):
        tf = np.ones(len(docs), dtype=np.int64)
        encoded = encode_columns(np.array([len(docs)]), docs, tf, tf.astype(float))
        assert encoded.sizes["gap_offsets"][0] <= most_bytes
        np.testing.assert_array_equal(Columns(assemble_columns([encoded])).column(0)[0], docs)
    assert len(encoded.streams["patch_keys"]) == 1


def test_long_columns_keep_their_frequencies_decoded_within_a_budget(monkeypatch):
    """The frequencies of a column with many above 1 are kept after the first look-up: later look-ups
    and whole columns decode the same, and the columns kept stay within the byte budget."""
    from retrieval import postings

    monkeypatch.setattr(postings, "_KEPT_FREQUENT_FROM", 1_000)
    rng = np.random.default_rng(11)
    columns = []
    for _ in range(4):
        docs = np.flatnonzero(rng.random(50_000) < 0.5)
        tf = np.where(rng.random(len(docs)) < 0.2, rng.choice([2, 3, 256, 70_000], size=len(docs)), 1)
        tf[rng.integers(0, len(docs), size=3)] = 1
        columns.append((docs, tf))
    index = encoded_index(columns, runs=2)
    one_column = 2 * 8 * max(int((tf != 1).sum()) for _, tf in columns)
    monkeypatch.setattr(postings, "_KEPT_FREQUENT_BYTES", 2 * one_column)
    for _ in range(2):
        for term, (docs, tf) in enumerate(columns):
            asked = np.unique(np.concatenate([rng.choice(docs, size=40), rng.integers(0, 50_000, size=40)]))
            hit, frequencies = index.lookup(term, asked)
            np.testing.assert_array_equal(hit, np.isin(asked, docs))
            np.testing.assert_array_equal(frequencies, tf[np.searchsorted(docs, asked[hit])])
            np.testing.assert_array_equal(index.column(term)[1], tf)
            assert 0 < index._kept_bytes <= 2 * one_column
    assert len(index._kept) == 2


def test_found_in_merges_or_searches_to_the_positions_a_binary_search_finds():
    """``kernels.found_in`` answers as numpy's binary search does whether it merges the two arrays
    (many looked up) or searches each (few), wanted documents before, among and after the ordered."""
    from retrieval.kernels import found_in

    rng = np.random.default_rng(3)
    for _ in range(300):
        ordered = np.unique(rng.integers(0, int(rng.choice([50, 5_000, 20_000])), size=rng.integers(0, 3_000)))
        wanted = np.unique(rng.integers(0, 20_000, size=rng.integers(0, 6_000)))
        where, hit = found_in(ordered, wanted)
        expected_where = np.minimum(np.searchsorted(ordered, wanted), max(len(ordered) - 1, 0))
        expected_hit = ordered[expected_where] == wanted if len(ordered) else np.zeros(len(wanted), dtype=bool)
        np.testing.assert_array_equal(hit, expected_hit)
        np.testing.assert_array_equal(where[hit], expected_where[expected_hit])


@pytest.mark.parametrize("length_type", [np.uint16, np.uint32])
def test_compiled_weights_equal_numpys_to_the_last_bit(length_type):
    """The kernels' BM25 weights are ``bm25_weights``' floats, bit for bit (the same functions compiled,
    nothing reordered or fused): the index's exact scores rest on it. ``weights`` reads the lengths of
    the documents given; ``found_weights`` those of the documents a column holds, 0 for the others."""
    from retrieval import kernels
    from retrieval.postings import bm25_weights

    rng = np.random.default_rng(5)
    lengths = rng.integers(1, 3_000, size=50_000).astype(length_type)
    docs = np.unique(rng.integers(0, len(lengths), size=20_000))
    tf = rng.choice([1, 2, 3, 17, 300], size=len(docs))
    for idf, k1, b, avgdl in ((7.3, 1.5, 0.75, 41.7), (0.0123, 1.2, 0.3, 1_000.9), (11.0, 2.0, 1.0, 3.0)):
        expected = bm25_weights(idf, tf, lengths[docs], k1, b, avgdl)
        assert kernels.weights(idf, tf, lengths, docs, k1, b, avgdl).tobytes() == expected.tobytes()
        ones = bm25_weights(idf, 1.0, lengths[docs], k1, b, avgdl)
        assert kernels.weights(idf, kernels.NONE, lengths, docs, k1, b, avgdl).tobytes() == ones.tobytes()
        held = docs[::3]
        found = kernels.found_weights(held, tf[::3], docs, idf, lengths, k1, b, avgdl)
        assert found[::3].tobytes() == expected[::3].tobytes() and not found[np.isin(docs, held, invert=True)].any()
