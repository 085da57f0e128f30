"""The index ranks exactly like rank-bm25's BM25Okapi: same scores to 1e-6, same top-10 (ties in
paragraph order), on the seed corpus, the CMRC 2018 trial contexts and generated corpora."""

from __future__ import annotations

import random

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from retrieval.index import BM25Index, BM25Params, best_of


def reference_top(reference: BM25Okapi, query: list[str], k: int = 10) -> tuple[list[int], np.ndarray]:
    """rank-bm25's own argsort is unstable on ties, so its scores are ordered stably here."""
    scores = reference.get_scores(query)
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    return order.tolist(), scores


def assert_same_ranking(docs: list[list[str]], queries: list[list[str]], params: BM25Params = BM25Params()) -> None:
    reference = BM25Okapi(docs, k1=params.k1, b=params.b, epsilon=params.epsilon)
    index = BM25Index.build(docs, params)
    for query in queries:
        expected_ids, expected_scores = reference_top(reference, query)
        ids, scores = index.closest_docs(query, 10)
        assert ids == expected_ids, query
        np.testing.assert_allclose(scores, expected_scores[expected_ids], rtol=1e-6, atol=0)
        np.testing.assert_allclose(index.scores(query), expected_scores, rtol=1e-6, atol=1e-12)


def test_seed_corpus_ranks_like_rank_bm25(tokenizer):
    from bot.settings import load_settings
    from corpus.loader import load_corpus

    corpus = load_corpus(load_settings().corpus.path)
    docs = [tokenizer.tokens(paragraph.text) for _, paragraph in corpus.paragraphs()]
    # Every sentence of the corpus asked back as a question, plus single words.
    queries = [tokenizer.tokens(s) for _, p in corpus.paragraphs() for s in p.sentences]
    queries += [[word] for word in sorted({w for doc in docs for w in doc})[:200]]
    assert len(docs) >= 10 and len(queries) >= 100
    assert_same_ranking(docs, queries)


def test_cmrc_trial_contexts_rank_like_rank_bm25(tokenizer, cmrc_trial):
    from retrieval.measure.evaluate import load_cmrc

    corpus, questions = load_cmrc(cmrc_trial)
    docs = [tokenizer.tokens(paragraph.text) for _, paragraph in corpus.paragraphs()]
    queries = [tokenizer.tokens(q.question) for q in questions]
    assert len(docs) == 256 and len(queries) > 1000
    assert_same_ranking(docs, queries)


@pytest.mark.parametrize("seed", range(5))
def test_generated_corpora_rank_like_rank_bm25(seed):
    """Small vocabularies make many ties, words in over half the paragraphs (the epsilon floor),
    repeated words, empty paragraphs and duplicate paragraphs."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(rng.choice([5, 30, 400]))]
    weights = [1 / (i + 1) for i in range(len(vocabulary))]
    docs = [rng.choices(vocabulary, weights, k=rng.randint(0, 40)) for _ in range(rng.randint(20, 600))]
    docs += docs[:5]
    queries = [rng.choices(vocabulary, k=rng.randint(1, 6)) for _ in range(60)]
    queries += [["unknown"], [], [vocabulary[0]] * 3]
    # b stays below 1: rank-bm25 divides 0 by 0 for an empty paragraph when b = 1 (NaN scores).
    params = BM25Params(k1=rng.choice([1.2, 1.5, 2.0]), b=rng.choice([0.5, 0.75, 0.9]), epsilon=rng.choice([0.1, 0.25]))
    assert_same_ranking(docs, queries, params)


def test_ties_keep_paragraph_order():
    docs = [["a", "b"], ["c"], ["a", "b"], ["a", "b"], ["d"]]
    index = BM25Index.build(docs)
    ids, scores = index.closest_docs(["a"], 3)
    assert ids == [0, 2, 3]
    assert scores[0] == scores[1] == scores[2]


def test_query_without_known_words_ranks_all_paragraphs_equal_in_order():
    index = BM25Index.build([["a"], ["b"], ["c"]])
    assert index.closest_docs(["zzz"], 2) == ([0, 1], [0.0, 0.0])
    assert index.closest_docs([], 5) == ([0, 1, 2], [0.0, 0.0, 0.0])


def test_k_larger_than_the_corpus_returns_every_paragraph():
    index = BM25Index.build([["a"], ["a", "b"], ["c"]])
    ids, scores = index.closest_docs(["b"], 10)
    assert ids == [1, 0, 2] and scores[0] > 0 == scores[1] == scores[2]


def test_empty_corpus_is_refused():
    with pytest.raises(ValueError, match="empty corpus"):
        BM25Index.build([])


def test_idf_matches_rank_bm25_with_its_epsilon_floor():
    docs = [["common", f"rare{i}"] for i in range(10)] + [["common"]]
    reference = BM25Okapi(docs)
    index = BM25Index.build(docs)
    for term in ("common", "rare3"):
        assert index.idf(term) == pytest.approx(reference.idf[term], rel=1e-12)
    assert index.idf("never seen") == 0.0


def test_every_idf_equals_rank_bm25_to_the_last_bit():
    """The epsilon floor is a mean over all terms, summed in the order rank-bm25 first meets them."""
    rng = random.Random(11)
    vocabulary = [f"w{i:04d}" for i in range(3000)]
    rng.shuffle(vocabulary)  # first-appearance order then differs from sorted and from id order
    weights = [1 / (i + 1) for i in range(len(vocabulary))]  # a few words in most paragraphs: floored
    docs = [rng.choices(vocabulary, weights, k=rng.randint(1, 60)) for _ in range(1500)]
    reference = BM25Okapi(docs)
    assert reference.epsilon * reference.average_idf in reference.idf.values()
    index = BM25Index.build(docs)
    assert {term: index.idf(term) for term in index.terms} == reference.idf


def test_best_of_orders_dense_scores_stably():
    scores = np.array([1.0, 3.0, 3.0, 2.0, 3.0])
    assert best_of(scores, 4).tolist() == [1, 2, 4, 3]


def test_saved_index_reopens_memory_mapped_with_the_same_ranking(tmp_path):
    rng = random.Random(7)
    docs = [rng.choices("abcdefghij", k=rng.randint(1, 15)) for _ in range(300)]
    built = BM25Index.build(docs)
    meta = built.save(tmp_path)
    loaded = BM25Index.load(tmp_path, meta)
    assert loaded.arrays and all(isinstance(array, np.memmap) for array in loaded.arrays.values())
    for query in (["a"], ["b", "c", "c"], ["j", "a", "x"]):
        assert loaded.closest_docs(query, 10) == built.closest_docs(query, 10)
        assert np.array_equal(loaded.scores(query), built.scores(query))
    assert list(loaded.terms) == list(built.terms)
    # Plain files only: every array loadable without pickle.
    for array in tmp_path.glob("*.npy"):
        np.load(array, allow_pickle=False)


def test_any_term_survives_saving(tmp_path):
    """Terms are stored as UTF-8 with offsets, so no character (a line break) can split one."""
    built = BM25Index.build([["a\nb", "c"], ["c"], ["d"]])
    loaded = BM25Index.load(tmp_path, built.save(tmp_path))
    assert "a\nb" in loaded.term_ids and loaded.closest_docs(["a\nb"], 1) == built.closest_docs(["a\nb"], 1)


def test_building_from_cached_term_ids_equals_building_from_token_lists():
    from array import array

    rng = random.Random(3)
    vocabulary = [f"v{i}" for i in range(40)]  # a token cache's vocabulary: more terms than one corpus uses
    docs = [rng.choices(vocabulary[5:25], k=rng.randint(0, 12)) for _ in range(9000)]  # several chunks
    ids = {term: i for i, term in enumerate(vocabulary)}
    from_ids = BM25Index.build_from_ids((array("i", map(ids.__getitem__, doc)).tobytes() for doc in docs), vocabulary)
    from_lists = BM25Index.build(docs)
    assert sorted(from_ids.terms) == sorted(from_lists.terms) == sorted(set(vocabulary[5:25]))
    for query in (["v5"], ["v7", "v24", "v7"], ["v0", "v13"]):
        assert from_ids.closest_docs(query, 10) == from_lists.closest_docs(query, 10)
        assert np.array_equal(from_ids.scores(query), from_lists.scores(query))


def _zipf_corpus(seed: int, documents: int, vocabulary: int) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 30, size=documents)
    words = np.minimum(rng.zipf(1.3, size=int(lengths.sum())), vocabulary) - 1
    cuts = np.cumsum(lengths)[:-1]
    return [[f"w{w}" for w in doc] for doc in np.split(words, cuts)]


def _pruned_against_dense(index: BM25Index, queries, k: int = 10) -> tuple[int, int, int]:
    """How many queries' pruned top-k differs from the dense one (ids or scores, to the bit), and the
    postings the pruned queries decoded in full against all their terms' postings."""
    from retrieval import index as index_module

    decoded = [0]
    column = index_module._Query.column

    def counting(self, term):
        if term not in self.decoded:
            decoded[0] += int(index._df[term])
        return column(self, term)

    differ = total = 0
    index_module._Query.column = counting
    try:
        for base, groups in queries:
            pruned = index.closest_combined(groups, k, base)
            base_ids = index._query_ids(base)
            group_ids = [[(index._query_ids(a), w) for a, w in group] for group in groups]
            dense = index._dense_combined(base_ids, group_ids, k)
            differ += pruned != dense
            terms = set(base_ids) | {t for group in group_ids for ids, _ in group for t in ids}
            total += sum(int(index._df[t]) for t in terms)
    finally:
        index_module._Query.column = column
    return differ, decoded[0], total


def _pruning_queries(seed: int, vocabulary: int) -> list:
    """Queries of rare and common words, some with a group of weighted readings (as a question word
    the corpus lacks is asked)."""
    rng = random.Random(seed)
    word = lambda: f"w{min(int(rng.paretovariate(0.6)), vocabulary) - 1}"  # noqa: E731
    queries = []
    for n in range(120):
        base = [word() for _ in range(rng.randint(2, 12))]
        groups = []
        if n % 3 == 0:
            groups = [[([word()], 1.0)] + [([word(), word()], rng.choice([0.6, 0.8])) for _ in range(rng.randint(1, 4))]]
        queries.append((base, groups))
    return queries


def test_pruned_top_k_equals_the_dense_top_k_while_skipping_postings():
    """MaxScore's answer is the dense score arrays' to the bit (ties in document order) on a corpus
    large enough that it leaves most postings unread."""
    index = BM25Index.build(_zipf_corpus(5, 60_000, 3_000))
    differ, decoded, total = _pruned_against_dense(index, _pruning_queries(5, 3_000))
    assert differ == 0
    assert decoded < total / 2, (decoded, total)


def test_a_bound_below_the_true_largest_weight_is_caught():
    """The comparison above can fail: with every term's largest weight understated, pruning drops
    documents that rank."""
    index = BM25Index.build(_zipf_corpus(5, 60_000, 3_000))
    index._max_weight = index._max_weight * 0.9
    differ, _, _ = _pruned_against_dense(index, _pruning_queries(5, 3_000))
    assert differ > 0


def _misleading_seed_corpus(seed: int) -> tuple[list[list[str]], list[list[str]]]:
    """Documents where a query's rarest term (a bigram only the question holds, as 子发 of 町子发生)
    stands in documents holding none of its other terms, and the documents that rank hold the
    mid-frequency terms together: the floor the rarest term finds is low, and only the partial scores
    of the mid-frequency terms raise it. Returns the documents and the queries."""
    rng = random.Random(seed)
    docs = [[f"w{min(int(rng.paretovariate(0.8)), 2_000)}" for _ in range(rng.randint(3, 15))] for _ in range(60_000)]
    queries = []
    for q in range(6):
        rare, topic, common = f"rare{q}", [f"t{q}_{i}" for i in range(8)], [f"c{q}_{i}" for i in range(3)]
        for d in rng.sample(range(len(docs)), 100):
            docs[d].append(rare)
        for term in topic:
            for d in rng.sample(range(len(docs)), 2_500):
                docs[d].append(term)
        for d in rng.sample(range(len(docs)), 40):  # the documents that rank: all topic terms, some twice
            docs[d].extend(topic + rng.sample(topic, 2) + rng.sample(common, 2))
        for term in common:
            for d in rng.sample(range(len(docs)), 20_000):
                docs[d].append(term)
        queries.append([rare, *topic, *common])
    return docs, queries


def test_partial_scores_raise_a_floor_the_rarest_term_found_too_low(monkeypatch):
    """Pruning scores fewer postings once the partial scores raise the floor, and the top k stays the
    dense one; a floor raised above the true k-th best (partial scores overstated) is caught."""
    from retrieval import index as index_module

    docs, queries = _misleading_seed_corpus(7)
    index = BM25Index.build(docs)
    cases = [(query, []) for query in queries]
    differ, decoded, _ = _pruned_against_dense(index, cases)
    assert differ == 0
    partial_floor = index_module._partial_floor
    monkeypatch.setattr(index_module, "_partial_floor", lambda acc, found, k: 0.0)
    differ_without, decoded_without, _ = _pruned_against_dense(index, cases)
    assert differ_without == 0 and decoded < decoded_without, (decoded, decoded_without)
    overstated = 0
    for query in queries:
        kth = index.closest_docs(query, 10)[1][-1]
        # A floor just above the true k-th best score, as a wrong partial score would give.
        monkeypatch.setattr(index_module, "_partial_floor", lambda acc, found, k: max(1.01 * kth, partial_floor(acc, found, k)))
        overstated += _pruned_against_dense(index, [(query, [])])[0]
    assert overstated > 0


def test_a_query_decodes_each_column_once():
    """A term looked up for many documents again and again (the floor, each narrowing, the exact
    scores) or scored in full after a look-up is decoded once a query, with the same top k."""
    index = BM25Index.build(_zipf_corpus(5, 20_000, 3_000))
    column = index.columns.column
    decoded: list[int] = []

    def recorded(term):
        decoded.append(term)
        return column(term)

    queries = _pruning_queries(5, 3_000)
    index.columns.column = recorded
    try:
        for base, groups in queries:
            decoded.clear()
            found = index.closest_combined(groups, 10, base)
            assert len(decoded) == len(set(decoded)), sorted(t for t in set(decoded) if decoded.count(t) > 1)
            base_ids = index._query_ids(base)
            group_ids = [[(index._query_ids(a), w) for a, w in group] for group in groups]
            index.columns.column = column
            assert found == index._dense_combined(base_ids, group_ids, 10)
            index.columns.column = recorded
    finally:
        del index.columns.column


def test_scores_equal_rank_bm25_to_the_last_bit():
    """The weights recomputed from frequencies, lengths and idf are rank-bm25's floats, for frequencies
    of 1 and above, in the dense scores and in the pruned top k: the scores are equal, not close."""
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(300)]
    weights = [1 / (i + 1) for i in range(len(vocabulary))]
    docs = [rng.choices(vocabulary, weights, k=rng.randint(1, 120)) for _ in range(2_000)]
    reference = BM25Okapi(docs)
    index = BM25Index.build(docs)
    for _ in range(40):
        query = rng.sample(vocabulary[:150], rng.randint(1, 5))
        expected = reference.get_scores(query)
        assert np.array_equal(index.scores(query), expected), query
        ids, scores = index.closest_docs(query, 10)
        assert scores == expected[ids].tolist(), query


def test_a_word_scored_in_full_by_its_readings_sharing_terms():
    """A word's readings of one weight sharing terms (及后 of 及后第一, 及后第二) are added up once for
    the shared terms: every document holding any reading is found, with its best weighted reading's
    score (the dense arrays', to rounding), whether it holds the shared terms, the rest or both."""
    from retrieval import index as index_module

    index = BM25Index.build(_zipf_corpus(11, 20_000, 400))
    group = [(["w3"], 1.0), (["w40", "w7", "w41"], 0.8), (["w40", "w7", "w42"], 0.8), (["w7", "w43"], 0.8), ([], 0.8), (["w44", "w44"], 0.6)]
    group_ids = [(index._query_ids(ids), weight) for ids, weight in group]
    assert index_module._shared_readings(group_ids)[1][1] == [index.term_ids["w7"]]
    docs, values = index_module._GroupUnit(index_module._Query(index), group_ids).full()
    dense = np.max([index._dense(ids) * weight for ids, weight in group_ids], axis=0)
    assert sorted(docs.tolist()) == np.flatnonzero(dense > 0).tolist()
    np.testing.assert_allclose(values, dense[docs], rtol=1e-12)


def test_a_term_with_another_terms_postings_is_decoded_once():
    """Two terms with the same postings (a two-character word and its character bigram, in most
    corpora) are decoded and weighed once a query, with the dense top k to the bit; a term with one
    posting more, or one frequency other, is a column of its own."""
    docs = _zipf_corpus(13, 20_000, 2_000)
    rng = random.Random(13)
    for doc in docs:
        for word in list(doc):
            if word in ("w20", "w30", "w200"):  # twins: every occurrence doubled by its own term
                doc.append(f"twin-{word}")
    docs[7].append("twin-w20")  # one frequency other than w20's
    near = [i for i, doc in enumerate(docs) if "w30" not in doc][:1]
    docs[near[0]].append("twin-w30")  # one posting more than w30's
    index = BM25Index.build(docs)
    ids = {term: index.term_ids[term] for term in ("w20", "twin-w20", "w30", "twin-w30", "w200", "twin-w200")}
    assert index.columns.same_postings(ids["w200"], ids["twin-w200"])
    assert not index.columns.same_postings(ids["w20"], ids["twin-w20"])
    assert not index.columns.same_postings(ids["w30"], ids["twin-w30"])
    same = index._same_columns(set(ids.values()))
    assert len(same) == 1 and set(same.items()) <= {(ids["twin-w200"], ids["w200"]), (ids["w200"], ids["twin-w200"])}, same
    pair = set(same.items()).pop()
    assert all(index._idf[term] > 0 for term in ids.values())  # the pruned path, not the dense one
    column = index.columns.column
    decoded: list[int] = []
    index.columns.column = lambda term: decoded.append(term) or column(term)
    queries = []
    for _ in range(60):
        base = [rng.choice(["w200", "twin-w200", "w20", "twin-w20", "w30", "twin-w30"]) for _ in range(rng.randint(1, 4))]
        base += [f"w{rng.randint(20, 1_999)}" for _ in range(rng.randint(1, 6))]
        groups = [[(["w200", "twin-w200"], 1.0), (["twin-w200", f"w{rng.randint(20, 99)}"], 0.8)]] if rng.random() < 0.3 else []
        queries.append((base, groups))
    try:
        for base, groups in queries:
            decoded.clear()
            found = index.closest_combined(groups, 10, base)
            assert not set(pair) <= set(decoded), (base, groups)
            base_ids = index._query_ids(base)
            group_ids = [[(index._query_ids(a), w) for a, w in group] for group in groups]
            assert found == index._dense_combined(base_ids, group_ids, 10), (base, groups)
    finally:
        del index.columns.column


def test_the_floors_weights_serve_the_last_look_ups(monkeypatch):
    """The weights the floor looked up for its documents in the long columns (decoded block by block,
    not whole) are used again for the few candidates left at the end, which are mostly those
    documents: fewer documents are looked up, and the top k stays the dense one to the bit. Weights
    remembered wrong (1% high) change the top k's scores: the comparison can fail."""
    from retrieval import index as index_module

    index = BM25Index.build(_zipf_corpus(5, 60_000, 3_000))
    queries = _pruning_queries(5, 3_000)
    weights_of = index_module._Query._weights_of
    looked_up = [0]

    def counting(self, term, docs, whole):
        if whole is None:  # looked up in the column's blocks, or by decoding it whole now
            looked_up[0] += len(docs)
        return weights_of(self, term, docs, whole)

    monkeypatch.setattr(index_module._Query, "_weights_of", counting)
    differ, _, _ = _pruned_against_dense(index, queries)
    with_floor = looked_up[0]
    assert differ == 0
    keep_floor = index_module._Query.keep_floor
    monkeypatch.setattr(index_module._Query, "keep_floor", lambda self, docs: None)
    looked_up[0] = 0
    differ, _, _ = _pruned_against_dense(index, queries)
    assert differ == 0 and with_floor < looked_up[0], (with_floor, looked_up[0])

    def overstated(self, docs):
        keep_floor(self, docs)
        self._floor_weights = {term: weights * 1.01 for term, weights in self._floor_weights.items()}

    monkeypatch.setattr(index_module._Query, "keep_floor", overstated)
    differ, _, _ = _pruned_against_dense(index, queries)
    assert differ > 0
