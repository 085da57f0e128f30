"""The bench's token cache filled from each unique sentence's words (retrieval/measure/bench_tokens.py):
the composed tokens and cuts are the tokenizer's, document by document, a joint that jieba could cut
across is tokenized whole, and an index built from the filled cache is the cold build's byte for byte."""

from __future__ import annotations

import filecmp
from pathlib import Path

import pytest

from bot.settings import load_settings
from corpus.loader import read_articles
from retrieval import store as store_module
from retrieval.measure.bench import generate_articles, load_sources, write_articles
from retrieval.measure.bench_tokens import Composer, fill_token_cache
from retrieval.sentence_cuts import cut_texts, paragraph_cuts
from retrieval.store import IndexStore
from retrieval.tokenize import Tokenizer


@pytest.fixture(scope="module")
def sentences(cmrc_trial) -> tuple[str, ...]:
    return load_sources(cmrc_trial).sentences


def write_generated(folder: Path, sentences, files: int, articles_a_file: int, seed: int) -> Path:
    folder.mkdir()
    articles = generate_articles(files * articles_a_file * 10, sentences, seed)
    for number in range(files):
        write_articles((a for _, a in zip(range(articles_a_file), articles)), folder / f"part-{number:05d}.jsonl")
    return folder


def test_composed_tokens_and_cuts_are_the_tokenizers(tmp_path, sentences):
    corpus = write_generated(tmp_path / "corpus", sentences, files=1, articles_a_file=40, seed=7)
    settings = load_settings()
    tokenizer = Tokenizer()
    composer = Composer(tokenizer, settings.answer)
    checked = 0
    for article, _ in read_articles(corpus / "part-00000.jsonl", corpus)[0]:
        for paragraph in article.paragraphs:
            whole, passages = composer.documents(article, paragraph)
            for text, head, parts in (whole, *passages):
                assert composer.tokens(text, head, parts) == tokenizer.tokens(text), text
                checked += 1
            texts = cut_texts(article.title, paragraph)
            assert composer.cuts(texts) == paragraph_cuts(texts)
    assert checked > 1000 and composer.whole < checked / 20  # composed, not tokenized whole


@pytest.mark.parametrize("parts", [
    ["我在北京", "大学读书。"],  # jieba cuts 北京大学 across the joint
    ["他用Py", "thon写代码。"],  # a Latin word across it
    ["一共二十", "四小时。"],  # a numeral across it
    ["第一句\r", "\n第二句。"],  # \r\n is one piece
    ["開會", "時間。"],  # Traditional: normalised after joining
    ["说cafe", "\u0301很好。"],  # NFKC composes e and the accent across it, which is no block character
])
def test_a_joint_jieba_could_cut_across_is_tokenized_whole(parts):
    tokenizer = Tokenizer()
    composer = Composer(tokenizer, load_settings().answer)
    text = "标题\n" + "".join(parts)
    # Each part's words one after the other would give other tokens (北京 大学 for 北京大学, 20 四 for
    # 24, …) but for \r\n, whose piece is dropped as white space anyway.
    assert composer.tokens(text, ["标题"], parts) == tokenizer.tokens(text)
    assert (composer.whole, composer.composed) == (1, 0)


def test_an_index_built_from_the_filled_cache_is_the_cold_builds_byte_for_byte(tmp_path, sentences, monkeypatch):
    # Small batches, so that the cache is filled over several gatherings and stores, as at 1M.
    monkeypatch.setattr(store_module, "_TOKENIZE_BATCH", 700)
    monkeypatch.setattr(store_module, "_PUT_BATCH", 300)
    corpus = write_generated(tmp_path / "corpus", sentences, files=3, articles_a_file=12, seed=11)
    config = load_settings().answer
    cold = IndexStore(tmp_path / "cold", config, workers=1, quiet=True)
    built = cold.open(corpus, force=True)
    filled_store = IndexStore(tmp_path / "filled", config, workers=1, quiet=True)
    filled = fill_token_cache(filled_store, corpus, 10**9)
    opened = filled_store.open(corpus, force=True)
    assert filled.composed > 0 and built.build.tokenized > 1000
    assert opened.build.tokenized == 0 and opened.build.cut == 0  # every token and cut was in the cache
    names = sorted(p.name for p in built.directory.iterdir() if p.name != "params.json")
    assert names == sorted(p.name for p in opened.directory.iterdir() if p.name != "params.json")
    match, mismatch, errors = filecmp.cmpfiles(built.directory, opened.directory, names, shallow=False)
    assert not mismatch and not errors and len(match) > 20
    cold.close()
    filled_store.close()
