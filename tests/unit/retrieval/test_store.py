"""The persisted index: reopened as it is while nothing changed, rebuilt (with the reason logged) when the
corpus, the tokenizer or the BM25 parameters change, never left half-written, and re-tokenizing only
new paragraphs."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from bot.settings import load_settings
from corpus.errors import CorpusError
from corpus.loader import load_corpus
from retrieval import store as store_module
from retrieval import tokenizing
from retrieval.documents import indexed_documents
from retrieval.index import BM25Index
from retrieval.store import IndexStore
from retrieval.token_cache import TokenCache, content_key
from retrieval.tokenizing import tokenize_texts
from retrieval.tokenize import Tokenizer

SENTENCES = [
    "省民政厅召开座谈会，研究部署下一步工作。",
    "会议指出，要扎实推进社会组织登记管理改革。",
    "今年以来，全市新建养老服务中心十二个。",
    "志愿者们走访了三百户困难家庭。",
    "该项目总投资二十四亿元，预计明年完工。",
    "专家建议加强基层防汛能力建设。",
]


def article(number: int, paragraphs: int = 3) -> dict:
    body = []
    for position in range(paragraphs):
        sentences = tuple(SENTENCES[(number + position + i) % len(SENTENCES)] for i in range(2)) + (f"编号{number}-{position}。",)
        body.append("".join(sentences))
    return {"id": f"a{number}", "title": f"标题{number}", "paragraphs": body}


def write_articles(path: Path, numbers, paragraphs: int = 3) -> Path:
    path.write_text(
        "".join(json.dumps(article(n, paragraphs), ensure_ascii=False) + "\n" for n in numbers), encoding="utf-8"
    )
    return path


@pytest.fixture
def config():
    return load_settings().answer


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_articles(folder / "articles.jsonl", range(4))
    return folder


def new_store(tmp_path: Path, config, **changes) -> IndexStore:
    return IndexStore(tmp_path / "cache", dataclasses.replace(config, **changes), workers=1, quiet=True)


def test_first_open_builds_and_second_reuses(tmp_path, config, corpus_dir):
    first = new_store(tmp_path, config).open(corpus_dir)
    assert first.build is not None and first.build.paragraphs == 12
    assert first.rebuilt_because[0].startswith("no index yet")
    second = new_store(tmp_path, config).open(corpus_dir)
    assert second.build is None and second.rebuilt_because == ()
    assert second.directory == first.directory
    query = Tokenizer().tokens(SENTENCES[2])
    assert second.index.closest_docs(query, 5) == first.index.closest_docs(query, 5)
    assert all(isinstance(array, np.memmap) for array in second.index.arrays.values())


def test_the_stored_corpus_reads_back_what_the_loader_reads(tmp_path, config, corpus_dir):
    write_articles(corpus_dir / "more.jsonl", range(10, 13), paragraphs=2)
    opened = new_store(tmp_path, config).open(corpus_dir)
    loaded = load_corpus(corpus_dir)
    assert len(opened.corpus) == loaded.paragraph_count == 18
    assert opened.corpus.article_count == len(loaded.articles)
    for (article, paragraph), (expected_article, expected) in zip(opened.corpus, loaded.paragraphs()):
        assert (article.id, article.title) == (expected_article.id, expected_article.title)
        assert (paragraph.text, paragraph.sentences, paragraph.heading) == (expected.text, expected.sentences, expected.heading)


def test_the_persisted_index_equals_a_fresh_one(tmp_path, config, corpus_dir):
    write_articles(corpus_dir / "articles.jsonl", range(6))
    opened = new_store(tmp_path, config).open(corpus_dir)
    texts = [document.text for document in indexed_documents(load_corpus(corpus_dir), config)]
    fresh = BM25Index.build([Tokenizer().tokens(text) for text in texts], new_store(tmp_path, config).params)
    assert opened.index.doc_count == len(texts)
    for sentence in SENTENCES:
        query = Tokenizer().tokens(sentence)
        assert opened.index.closest_docs(query, 10) == fresh.closest_docs(query, 10)


def test_a_changed_file_is_rebuilt_and_logged(tmp_path, config, corpus_dir, caplog):
    new_store(tmp_path, config).open(corpus_dir)
    write_articles(corpus_dir / "articles.jsonl", range(4), paragraphs=2)
    with caplog.at_level(logging.INFO, logger="retrieval.store"):
        reopened = new_store(tmp_path, config).open(corpus_dir)
    assert reopened.build is not None and len(reopened.corpus) == 8
    assert any("file changed" in reason and "articles.jsonl" in reason for reason in reopened.rebuilt_because)
    assert "file changed" in caplog.text


def test_touching_a_file_without_changing_it_does_not_rebuild(tmp_path, config, corpus_dir):
    new_store(tmp_path, config).open(corpus_dir)
    path = corpus_dir / "articles.jsonl"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert new_store(tmp_path, config).open(corpus_dir).build is None


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"k1": 1.2}, "k1 changed from 1.5 to 1.2"),
        ({"epsilon": 0.5}, "epsilon changed"),
    ],
)
def test_changed_bm25_parameters_rebuild(tmp_path, config, corpus_dir, change, reason):
    new_store(tmp_path, config).open(corpus_dir)
    reopened = new_store(tmp_path, config, **change).open(corpus_dir)
    assert reason in "; ".join(reopened.rebuilt_because)


def test_a_changed_stopword_list_rebuilds(tmp_path, config, corpus_dir):
    new_store(tmp_path, config).open(corpus_dir)
    tokenizer = Tokenizer(stopwords=Tokenizer().stopwords | {"会议"})
    store = IndexStore(tmp_path / "cache", config, tokenizer=tokenizer, workers=1, quiet=True)
    reopened = store.open(corpus_dir)
    assert any(reason.startswith("tokenizer changed") for reason in reopened.rebuilt_because)
    assert "会议" not in reopened.index.term_ids


def test_adding_a_file_reads_and_tokenizes_only_it(tmp_path, config, corpus_dir):
    first = new_store(tmp_path, config).open(corpus_dir)
    assert first.build.paragraphs == 12 and first.build.files_read == 1
    write_articles(corpus_dir / "more.jsonl", [99], paragraphs=2)
    second = new_store(tmp_path, config).open(corpus_dir)
    assert second.build.paragraphs == 14
    assert (second.build.files_read, second.build.files_reused) == (1, 1)
    # Two new paragraphs, and their passages; the other documents came from the previous build.
    assert 2 <= second.build.tokenized < first.build.tokenized
    # The index built from the previous one ranks like one built from scratch.
    fresh = new_store(tmp_path / "fresh", config).open(corpus_dir)
    for sentence in SENTENCES:
        query = Tokenizer().tokens(sentence)
        assert second.index.closest_docs(query, 10) == fresh.index.closest_docs(query, 10)


def test_a_crash_while_building_keeps_the_old_index(tmp_path, config, corpus_dir, monkeypatch):
    store = new_store(tmp_path, config)
    store.open(corpus_dir)
    link = store.link_for(corpus_dir)
    before = sorted(p.name for p in link.parent.iterdir())

    def crash(*args, **kwargs):
        raise OSError("disk full")

    import retrieval.index_build

    monkeypatch.setattr(retrieval.index_build, "build_index", crash)
    write_articles(corpus_dir / "articles.jsonl", range(6))
    with pytest.raises(OSError, match="disk full"):
        new_store(tmp_path, config).open(corpus_dir)
    monkeypatch.undo()
    assert sorted(p.name for p in link.parent.iterdir()) == before
    write_articles(corpus_dir / "articles.jsonl", range(4))
    reopened = new_store(tmp_path, config).open(corpus_dir)
    assert len(reopened.corpus) == 12


def test_an_unreadable_index_is_rebuilt(tmp_path, config, corpus_dir):
    opened = new_store(tmp_path, config).open(corpus_dir)
    (opened.directory / "idf.npy").write_bytes(b"not an array")
    reopened = new_store(tmp_path, config).open(corpus_dir)
    assert reopened.build is not None and "unreadable" in reopened.rebuilt_because[0]


def test_only_plain_files_are_written(tmp_path, config, corpus_dir):
    opened = new_store(tmp_path, config).open(corpus_dir)
    for path in opened.directory.iterdir():
        assert path.is_file()
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)
    record = json.loads((opened.directory / "params.json").read_text(encoding="utf-8"))
    assert record["format_version"] == store_module.FORMAT_VERSION
    assert (record["k1"], record["b"], record["epsilon"]) == (config.k1, config.b, config.epsilon)
    assert record["tokenizer"]["stopwords_sha256"] == Tokenizer().stopwords_hash
    [entry] = record["corpus"]["files"]
    path = corpus_dir / "articles.jsonl"
    assert entry["path"] == str(path.resolve()) and len(entry["sha256"]) == 64
    assert entry["size"] == path.stat().st_size and entry["mtime_ns"] == path.stat().st_mtime_ns
    assert record["library_version"]


def test_two_corpus_paths_get_two_indexes(tmp_path, config):
    store = new_store(tmp_path, config)
    assert store.link_for(tmp_path / "one") != store.link_for(tmp_path / "two")
    assert store.link_for(tmp_path / "one") == store.link_for(tmp_path / "x" / ".." / "one")


def test_token_cache_round_trip_and_shared_vocabulary(tmp_path):
    cache = TokenCache(tmp_path / "tokens.sqlite3")
    keys = [content_key("甲"), content_key("乙"), content_key("")]
    assert cache.missing(keys) == set(keys)
    cache.put([(keys[0], ["河北", "组织", "河北"]), (keys[2], [])])
    assert cache.missing(keys) == {keys[1]}
    assert list(cache.token_lists([keys[2], keys[0], keys[0]])) == [[], ["河北", "组织", "河北"], ["河北", "组织", "河北"]]
    # A second process adding terms meanwhile: both keep one vocabulary, ids never clash.
    other = TokenCache(tmp_path / "tokens.sqlite3")
    other.put([(keys[1], ["组织", "民政"])])
    cache.put([(content_key("丙"), ["民政", "救灾"])])
    assert list(cache.token_lists([keys[1], content_key("丙")])) == [["组织", "民政"], ["民政", "救灾"]]
    assert sorted(cache.vocabulary) == sorted(set(cache.vocabulary)) == sorted(["河北", "组织", "民政", "救灾"])
    cache.close()
    other.close()


def test_parallel_tokenizing_gives_the_same_tokens_in_order(monkeypatch):
    monkeypatch.setattr(tokenizing, "_PARALLEL_FROM", 0)
    texts = [SENTENCES[i % len(SENTENCES)] + f"第{i}段。" for i in range(200)]
    tokenizer = Tokenizer()
    parallel = list(tokenize_texts(texts, tokenizer, workers=2, quiet=True))
    assert parallel == [tokenizer.tokens(text) for text in texts]


def test_an_empty_corpus_is_refused(tmp_path, config, corpus_dir):
    (corpus_dir / "articles.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(CorpusError, match="empty"):
        new_store(tmp_path, config).open(corpus_dir)


def test_a_build_in_many_chunks_and_term_ranges_ranks_like_rank_bm25(tmp_path, config, corpus_dir, monkeypatch):
    """The bounded-memory build (runs spilled per chunk, merged a term range at a time, then a rebuild
    carrying the unchanged file's postings over) gives rank-bm25's ranking and scores."""
    import retrieval.index_build
    from rank_bm25 import BM25Okapi

    monkeypatch.setattr(retrieval.index_build, "CHUNK_DOCUMENTS", 7)
    monkeypatch.setattr(retrieval.index_build, "MERGE_POSTINGS", 40)
    monkeypatch.setattr(retrieval.index_build, "CODING_POSTINGS", 15)
    write_articles(corpus_dir / "articles.jsonl", range(12))
    new_store(tmp_path, config).open(corpus_dir)
    write_articles(corpus_dir / "more.jsonl", range(20, 25), paragraphs=4)
    opened = new_store(tmp_path, config).open(corpus_dir)
    assert opened.build.files_reused == 1
    texts = [document.text for document in indexed_documents(load_corpus(corpus_dir), config)]
    tokenizer = Tokenizer()
    params = new_store(tmp_path, config).params
    reference = BM25Okapi([tokenizer.tokens(text) for text in texts], k1=params.k1, b=params.b, epsilon=params.epsilon)
    assert opened.index.doc_count == len(texts)
    for sentence in SENTENCES + ["编号3-1。", "编号22-3，座谈会。"]:
        query = tokenizer.tokens(sentence)
        expected = reference.get_scores(query)
        order = sorted(range(len(texts)), key=lambda d: (-expected[d], d))[:10]
        ids, scores = opened.index.closest_docs(query, 10)
        assert ids == order
        assert np.allclose(scores, [expected[d] for d in order], rtol=0, atol=1e-6)


def test_an_update_writes_the_index_a_build_from_scratch_writes(tmp_path, config, corpus_dir, monkeypatch):
    """After a file is added, changed or deleted, the index carried over from the previous build (its
    postings decoded, renumbered, merged with the new documents' and encoded again) is the one a build
    from scratch writes, array for array: the same scores, bounds, ties and encoding."""
    import retrieval.index_build
    from retrieval.index import ARRAYS, TERMS

    # Several runs, many term ranges and pieces of them, as at a large corpus.
    monkeypatch.setattr(retrieval.index_build, "CHUNK_DOCUMENTS", 40)
    monkeypatch.setattr(retrieval.index_build, "MERGE_POSTINGS", 300)
    monkeypatch.setattr(retrieval.index_build, "CODING_POSTINGS", 70)

    def articles(path: Path, numbers, rare=()):
        # Columns of over 128 postings (skips), runs of neighbouring documents (bitmaps) and a word in
        # a cluster of documents and one far away (a gap too wide for its column: a patched value).
        lines = []
        for n in numbers:
            body = article(n, paragraphs=2 + n % 3)["paragraphs"]
            if n in rare:
                body[0] += "罕见词出现了。"
            lines.append(json.dumps({"id": f"a{n}", "title": f"标题{n}", "paragraphs": body}, ensure_ascii=False))
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    (corpus_dir / "articles.jsonl").unlink()
    articles(corpus_dir / "a.jsonl", range(0, 40), rare=range(0, 30))
    articles(corpus_dir / "b.jsonl", range(40, 80))
    articles(corpus_dir / "c.jsonl", range(80, 120), rare=(119,))
    store = new_store(tmp_path, config)
    store.open(corpus_dir)
    def documents_of(numbers, rare=()) -> int:
        """How many documents (paragraphs and passages) these articles make."""
        folder = tmp_path / f"alone-{min(numbers)}"
        folder.mkdir()
        articles(folder / "alone.jsonl", numbers, rare)
        return new_store(folder, config).open(folder).build.documents

    def append_again(path: Path, n: int) -> None:
        """Append a copy of article ``n`` under a new id: new documents, but no new term."""
        line = json.loads(path.read_text(encoding="utf-8").splitlines()[n])
        with path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({**line, "id": f"{line['id']}-again"}, ensure_ascii=False) + "\n")

    def replace_last(path: Path, n: int) -> None:
        """Replace the file's last article by a copy of article ``n`` under a new id."""
        lines = path.read_text(encoding="utf-8").splitlines()
        line = json.loads(lines[n])
        lines[-1] = json.dumps({**line, "id": f"{line['id']}-instead"}, ensure_ascii=False)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")

    changes = [
        # As /reload meets it: an article appended to the first file renumbers every later document.
        ("appended", lambda: append_again(corpus_dir / "a.jsonl", 5), documents_of([5], (5,))),
        # The appended article replaced by a shorter one: every later document's id goes down.
        ("shortened", lambda: replace_last(corpus_dir / "a.jsonl", 3), documents_of([3], (3,))),
        ("added", lambda: articles(corpus_dir / "d.jsonl", range(120, 150), rare=(140,)), documents_of(range(120, 150), (140,))),
        # Articles kept at the start and the end of a file, others replaced: only the new ones are indexed.
        ("changed", lambda: articles(corpus_dir / "b.jsonl", [*range(40, 50), *range(200, 230), *range(70, 80)], rare=(210, 211)),
         documents_of(range(200, 230), (210, 211))),
        ("deleted", lambda: (corpus_dir / "a.jsonl").unlink(), 0),
    ]
    # Columns the new documents do not touch are carried over with their encoding, not encoded again.
    encoded = []
    encode_columns = retrieval.index_build.encode_columns
    monkeypatch.setattr(retrieval.index_build, "encode_columns", lambda counts, *a: encoded.append(len(counts)) or encode_columns(counts, *a))
    exercised = set()
    for what, change, new_documents in changes:
        change()
        encoded.clear()
        updated = new_store(tmp_path, config).open(corpus_dir)
        assert updated.build.files_reused >= 2 and updated.build.files_read <= 1, what
        assert updated.build.inverted == new_documents, what
        if what in ("appended", "shortened"):
            # The new and the removed article's terms are about 60% of this small corpus' terms;
            # encoding again every column whose gaps the renumbering changes would be over 90%.
            assert sum(encoded) < 0.7 * updated.build.terms, f"{sum(encoded)} of {updated.build.terms} columns were encoded again"
        names = [f"{name}.npy" for name in ARRAYS] + [p.name for p in updated.directory.glob(f"{TERMS}.*")]
        kept = {name: (updated.directory / name).read_bytes() for name in names}
        scratch = new_store(tmp_path, config).open(corpus_dir, force=True)
        assert scratch.build.files_reused == 0, what
        for name in names:
            if name.endswith(".npy"):
                ours, theirs = np.load(io.BytesIO(kept[name])), np.load(scratch.directory / name)
                assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs), f"{what}: {name}"
            else:
                assert kept[name] == (scratch.directory / name).read_bytes(), f"{what}: {name}"
        arrays = scratch.index.arrays
        exercised |= {"skips"} if len(arrays["skip_last"]) else set()
        exercised |= {"patches"} if len(arrays["patch_keys"]) else set()
        exercised |= {"bitmaps"} if (np.asarray(arrays["width"]) & 0x80).any() else set()
    assert exercised == {"skips", "patches", "bitmaps"}


def test_an_index_split_by_another_sentence_rule_is_rebuilt_whole(tmp_path, config, corpus_dir, monkeypatch):
    """Stored sentences are the splitter's: an index whose record names another rule is rebuilt, and its
    parsed files are not carried into the new build."""
    from corpus import sentences

    opened = new_store(tmp_path, config).open(corpus_dir)
    assert json.loads((opened.directory / "params.json").read_text(encoding="utf-8"))["sentence_rule"] == sentences.RULE_VERSION
    monkeypatch.setattr(sentences, "RULE_VERSION", sentences.RULE_VERSION + 1)
    reopened = new_store(tmp_path, config).open(corpus_dir)
    assert reopened.build is not None
    assert f"sentence_rule changed from {sentences.RULE_VERSION - 1} to {sentences.RULE_VERSION}" in reopened.rebuilt_because
    assert reopened.build.files_reused == 0 and reopened.build.files_read == 1
    assert new_store(tmp_path, config).open(corpus_dir).build is None
