"""The persisted index: reopened as it is while nothing changed, rebuilt (with the reason logged) when the
corpus, the tokenizer or the BM25 parameters change, never left half-written, and re-tokenizing only
new paragraphs."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path

import numpy as np
import pytest

from bot.settings import load_settings
from corpus.model import Article, Corpus, Paragraph
from retrieval import store as store_module
from retrieval import tokenizing
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


def article(number: int, paragraphs: int = 3) -> Article:
    article_id = f"a{number}"
    body = []
    for position in range(paragraphs):
        sentences = tuple(SENTENCES[(number + position + i) % len(SENTENCES)] for i in range(2)) + (f"编号{number}-{position}。",)
        body.append(Paragraph(article_id, position, None, "".join(sentences), sentences))
    return Article(article_id, f"标题{number}", tuple(body))


@pytest.fixture
def config():
    return load_settings().answer


@pytest.fixture
def corpus_file(tmp_path) -> Path:
    path = tmp_path / "corpus" / "articles.txt"
    path.parent.mkdir()
    path.write_text("placeholder: the fingerprint reads this file's bytes\n", encoding="utf-8")
    return path


def make_corpus(corpus_file: Path, count: int = 4) -> Corpus:
    return Corpus(tuple(article(i) for i in range(count)), (str(corpus_file),))


def new_store(tmp_path: Path, config, **changes) -> IndexStore:
    return IndexStore(tmp_path / "cache", dataclasses.replace(config, **changes), workers=1, quiet=True)


def test_first_open_builds_and_second_reuses(tmp_path, config, corpus_file):
    corpus = make_corpus(corpus_file)
    first = new_store(tmp_path, config).open(corpus, corpus_file.parent)
    assert first.build is not None and first.build.paragraphs == 12
    assert first.rebuilt_because[0].startswith("no index yet")
    second = new_store(tmp_path, config).open(corpus, corpus_file.parent)
    assert second.build is None and second.rebuilt_because == ()
    assert second.directory == first.directory
    query = Tokenizer().tokens(SENTENCES[2])
    assert second.index.closest_docs(query, 5) == first.index.closest_docs(query, 5)
    assert isinstance(second.index.weights, np.memmap)


def test_the_persisted_index_equals_a_fresh_one(tmp_path, config, corpus_file):
    corpus = make_corpus(corpus_file, 6)
    store = new_store(tmp_path, config)
    opened = store.open(corpus, corpus_file.parent)
    fresh = BM25Index.build(
        [Tokenizer().tokens(text) for text in store.texts(corpus)], store.params
    )
    for sentence in SENTENCES:
        query = Tokenizer().tokens(sentence)
        assert opened.index.closest_docs(query, 10) == fresh.closest_docs(query, 10)


def test_a_changed_file_is_rebuilt_and_logged(tmp_path, config, corpus_file, caplog):
    corpus = make_corpus(corpus_file)
    new_store(tmp_path, config).open(corpus, corpus_file.parent)
    corpus_file.write_text("different bytes, different length\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="retrieval.store"):
        reopened = new_store(tmp_path, config).open(corpus, corpus_file.parent)
    assert reopened.build is not None
    assert any("file changed" in reason and corpus_file.name in reason for reason in reopened.rebuilt_because)
    assert "file changed" in caplog.text


def test_touching_a_file_without_changing_it_does_not_rebuild(tmp_path, config, corpus_file):
    corpus = make_corpus(corpus_file)
    new_store(tmp_path, config).open(corpus, corpus_file.parent)
    stat = corpus_file.stat()
    os.utime(corpus_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert new_store(tmp_path, config).open(corpus, corpus_file.parent).build is None


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"k1": 1.2}, "k1 changed from 1.5 to 1.2"),
        ({"epsilon": 0.5}, "epsilon changed"),
    ],
)
def test_changed_bm25_parameters_rebuild(tmp_path, config, corpus_file, change, reason):
    corpus = make_corpus(corpus_file)
    new_store(tmp_path, config).open(corpus, corpus_file.parent)
    reopened = new_store(tmp_path, config, **change).open(corpus, corpus_file.parent)
    assert reason in "; ".join(reopened.rebuilt_because)


def test_a_changed_stopword_list_rebuilds(tmp_path, config, corpus_file):
    corpus = make_corpus(corpus_file)
    new_store(tmp_path, config).open(corpus, corpus_file.parent)
    tokenizer = Tokenizer(stopwords=Tokenizer().stopwords | {"会议"})
    store = IndexStore(tmp_path / "cache", config, tokenizer=tokenizer, workers=1, quiet=True)
    reopened = store.open(corpus, corpus_file.parent)
    assert any(reason.startswith("tokenizer changed") for reason in reopened.rebuilt_because)
    assert "会议" not in reopened.index.term_ids


def test_more_paragraphs_rebuild_even_from_the_same_files(tmp_path, config, corpus_file):
    new_store(tmp_path, config).open(make_corpus(corpus_file, 4), corpus_file.parent)
    reopened = new_store(tmp_path, config).open(make_corpus(corpus_file, 5), corpus_file.parent)
    assert "corpus paragraphs changed from 12 to 15" in reopened.rebuilt_because


def test_adding_an_article_tokenizes_only_its_paragraphs(tmp_path, config, corpus_file):
    store = new_store(tmp_path, config)
    first = store.build(make_corpus(corpus_file, 5), store.link_for(corpus_file.parent))
    assert first.tokenized == 15
    grown = Corpus(make_corpus(corpus_file, 5).articles + (article(99, paragraphs=2),), (str(corpus_file),))
    second = store.build(grown, store.link_for(corpus_file.parent))
    assert second.tokenized == 2 and second.paragraphs == 17


def test_a_crash_while_saving_keeps_the_old_index(tmp_path, config, corpus_file, monkeypatch):
    corpus = make_corpus(corpus_file)
    store = new_store(tmp_path, config)
    link = store.link_for(corpus_file.parent)
    store.build(corpus, link)
    before = sorted(p.name for p in link.parent.iterdir())

    def crash(self, directory):
        (Path(directory) / "terms.txt").write_text("half", encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(BM25Index, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        store.build(make_corpus(corpus_file, 6), link)
    monkeypatch.undo()
    assert sorted(p.name for p in link.parent.iterdir()) == before
    reopened = new_store(tmp_path, config).open(corpus, corpus_file.parent)
    assert reopened.build is None and reopened.index.doc_count == 12


def test_an_unreadable_index_is_rebuilt(tmp_path, config, corpus_file):
    corpus = make_corpus(corpus_file)
    opened = new_store(tmp_path, config).open(corpus, corpus_file.parent)
    (opened.directory / "weights.npy").write_bytes(b"not an array")
    reopened = new_store(tmp_path, config).open(corpus, corpus_file.parent)
    assert reopened.build is not None and "unreadable" in reopened.rebuilt_because[0]


def test_only_plain_files_are_written(tmp_path, config, corpus_file):
    opened = new_store(tmp_path, config).open(make_corpus(corpus_file), corpus_file.parent)
    names = sorted(p.name for p in opened.directory.iterdir())
    assert names == ["doc_ids.npy", "idf.npy", "indptr.npy", "params.json", "terms.txt", "weights.npy"]
    record = json.loads((opened.directory / "params.json").read_text(encoding="utf-8"))
    assert record["format_version"] == store_module.FORMAT_VERSION
    assert (record["k1"], record["b"], record["epsilon"]) == (config.k1, config.b, config.epsilon)
    assert record["tokenizer"]["stopwords_sha256"] == Tokenizer().stopwords_hash
    [entry] = record["corpus"]["files"]
    assert entry["path"] == str(corpus_file.resolve()) and len(entry["sha256"]) == 64
    assert entry["size"] == corpus_file.stat().st_size and entry["mtime_ns"] == corpus_file.stat().st_mtime_ns
    assert record["library_version"]


def test_two_corpus_paths_get_two_indexes(tmp_path, config, corpus_file):
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


def test_an_empty_corpus_is_refused(tmp_path, config, corpus_file):
    with pytest.raises(ValueError, match="no paragraphs"):
        new_store(tmp_path, config).open(Corpus((), (str(corpus_file),)), corpus_file.parent)
