"""The sentence cuts stored with the corpus (retrieval/sentence_cuts.py): answering over a stored corpus
reads the very words that cutting gives, without running jieba on a corpus sentence; the cuts come
from the token cache on a rebuild; and an index stored before the cuts existed is rebuilt, not misread."""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import pytest

from bot.settings import load_settings
from corpus.loader import load_corpus
from corpus.stored import STORED_FORMAT, MemoryCorpus, StoredCorpus
from retrieval import sentence_cuts
from retrieval.features import Matcher
from retrieval.jieba_dictionary import import_jieba
from retrieval.store import FORMAT_VERSION, IndexStore
from retrieval.tokenize import Tokenizer, cut, normalise, pieces_of

SHARED = Path(__file__).resolve().parents[3].parent / "shared"


def _articles() -> list[dict]:
    """Real contexts (CMRC 2018 trial) as articles, and one of the texts normalising changes or jieba
    cuts unusually: Traditional and full-width characters, numerals, Latin, a run longer than jieba's
    block limit, white space, a heading."""
    data = json.loads((SHARED / "data/cmrc2018/cmrc2018_trial.json").read_text(encoding="utf-8"))["data"]
    articles = [
        {"id": f"c{n}", "title": entry["title"], "paragraphs": [p["context"] for p in entry["paragraphs"]][:3]}
        for n, entry in enumerate(data[:25])
    ]
    articles.append({
        "id": "odd", "title": "浙江關停違規網吧",
        "paragraphs": [
            {"heading": "ＡＢＣ 專項行動", "text": "二十四小時內查處了三百家違規網吧。 Python 3.11 與 jieba 0.42 一起用。"},
            {"text": "字" * 1000 + "。" + "a1" * 300 + "。\t全角２４小时，\u3000一二三。"},
        ],
    })
    return articles


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    lines = [json.dumps(article, ensure_ascii=False) for article in _articles()]
    (folder / "a.jsonl").write_text("\n".join(lines[:10]) + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_text("\n".join(lines[10:]) + "\n", encoding="utf-8")
    return folder


def new_store(tmp_path: Path) -> IndexStore:
    return IndexStore(tmp_path / "cache", load_settings().answer, workers=1, quiet=True)


@pytest.fixture
def jieba_calls(monkeypatch) -> list[str]:
    """Every text jieba is asked to cut from now on."""
    jieba = import_jieba()
    cut("预热")  # jieba initialised before counting
    calls: list[str] = []
    real = jieba.lcut

    def counting(text, *args, **kwargs):
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(sys.modules["jieba"], "lcut", counting)
    return calls


def _all_words(matcher: Matcher, count: int):
    return [matcher.paragraph_words(i) for i in range(count)]


def test_a_stored_corpus_gives_the_words_cutting_gives_without_cutting_its_sentences(tmp_path, corpus_dir, jieba_calls):
    opened = new_store(tmp_path).open(corpus_dir)
    tokenizer = Tokenizer()
    assert all(paragraph.cuts for _, paragraph in opened.corpus)
    jieba_calls.clear()
    stored = _all_words(Matcher(opened.corpus, tokenizer, opened.index), len(opened.corpus))
    assert jieba_calls == []  # not one corpus sentence, subject or heading cut
    cutting = _all_words(Matcher(MemoryCorpus(load_corpus(corpus_dir)), tokenizer, opened.index), len(opened.corpus))
    assert len(jieba_calls) > len(opened.corpus)  # the count does see cutting: a corpus without cuts cuts
    assert stored == cutting
    assert any(words.sentences for words in stored) and any(words.subject[0] for words in stored)


def test_cuts_that_do_not_fit_the_text_are_not_used():
    text = "二十四小時內查處了三百家違規網吧。"
    lengths = [len(piece) for piece in cut(text)]
    assert pieces_of(text, lengths) == cut(text)
    assert pieces_of(text, lengths[:-1]) is None
    assert pieces_of(text + "。", lengths) is None
    assert sentence_cuts.decode(sentence_cuts.encode([lengths, [3]]), 3) is None  # for another number of texts
    assert Tokenizer().content_words(text, lengths[:-1]) == Tokenizer().content_words(text)


def test_a_rebuild_takes_the_cuts_from_the_token_cache(tmp_path, corpus_dir):
    first = new_store(tmp_path).open(corpus_dir)
    assert first.build.cut == len(first.corpus)
    again = new_store(tmp_path).open(corpus_dir, force=True)
    assert again.build.cut == 0
    assert [p.cuts for _, p in again.corpus] == [p.cuts for _, p in first.corpus]
    extra = _articles()[0] | {"id": "new", "paragraphs": ["新增的一段文字，只有它要切分。", "第二段。"]}
    (corpus_dir / "c.jsonl").write_text(json.dumps(extra, ensure_ascii=False) + "\n", encoding="utf-8")
    updated = new_store(tmp_path).open(corpus_dir)
    assert updated.build.cut == 2 and updated.build.files_reused == 2
    assert all(paragraph.cuts for _, paragraph in updated.corpus)


def _as_previous_format(folder: Path) -> None:
    """Rewrite a build as the previous format wrote it: blocks of [text, heading, lengths], no format
    in corpus-files.json, format_version 3 in params.json."""
    stored = StoredCorpus(folder)
    blocks, offsets = [], [0]
    for number in range(len(stored._block_offsets) - 1):
        data, _ = stored.raw_block(number)
        records = [json.loads(line) for line in stored.decompress(data).split(b"\n")]
        raw = json.dumps([record[:3] for record in records], ensure_ascii=False, separators=(",", ":")).encode()
        packer = zlib.compressobj(6, zdict=stored.dictionary)
        blocks.append(packer.compress(raw) + packer.flush())
        offsets.append(offsets[-1] + len(blocks[-1]))
    del stored
    (folder / "corpus-paragraphs.bin").write_bytes(b"".join(blocks))
    from array import array

    (folder / "corpus-blocks.bin").write_bytes(array("q", offsets).tobytes())
    files = json.loads((folder / "corpus-files.json").read_text(encoding="utf-8"))
    del files["format"]
    (folder / "corpus-files.json").write_text(json.dumps(files), encoding="utf-8")
    params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
    params["format_version"] = 3
    (folder / "params.json").write_text(json.dumps(params), encoding="utf-8")


def test_an_index_of_the_previous_format_is_rebuilt_not_misread(tmp_path, corpus_dir, caplog):
    store = new_store(tmp_path)
    first = store.open(corpus_dir)
    cuts = [p.cuts for _, p in first.corpus]
    _as_previous_format(first.directory)
    with pytest.raises(ValueError, match=f"format 1; this version reads format {STORED_FORMAT}"):
        StoredCorpus(first.directory)
    caplog.set_level("INFO", logger="retrieval.store")
    reopened = new_store(tmp_path).open(corpus_dir)
    assert reopened.build is not None
    assert f"format_version changed from 3 to {FORMAT_VERSION}" in "; ".join(reopened.rebuilt_because)
    assert "building the index" in caplog.text and "format_version changed" in caplog.text
    assert [p.cuts for _, p in reopened.corpus] == cuts


def _sentences() -> list[str]:
    """Every sentence of the test articles' paragraphs, and texts with what the marks must carry: a
    numeral read as digits, a run of marks longer than one dropped code, white space, Latin."""
    from corpus.sentences import split_sentences

    texts = [p if isinstance(p, str) else p["text"] for article in _articles() for p in article["paragraphs"]]
    return [s for text in texts for s in split_sentences(text)] + ["", "。" * 30 + "浙江", "的了", "三百家与 Python 3.11", "二十 二十四"]


def test_marked_cuts_give_the_content_words_and_slice_most_texts_without_cleaning_them():
    tokenizer = Tokenizer()
    sentences = _sentences()
    plain = sentence_cuts.encode([[len(piece) for piece in cut(text)] for text in sentences])
    marked = sentence_cuts.marked(sentences, plain, tokenizer.piece_word)
    cleaned: list[str] = []

    def content_words(text, lengths, normalised):
        cleaned.append(text)
        return tokenizer.content_words(text, lengths, normalised)

    normalised = [normalise(text) for text in sentences]
    assert sentence_cuts.stored_words(marked, sentences, normalised, content_words) == [tokenizer.content_words(t) for t in sentences]
    assert "二十 二十四" in cleaned and "。" * 30 + "浙江" not in cleaned  # a numeral read as digits is cleaned when read
    assert len(cleaned) < len(sentences) / 5
    # Cuts written for other texts, or for another number of them, are not read as theirs.
    assert sentence_cuts.stored_words(marked, sentences[1:], normalised[1:], content_words) == [tokenizer.content_words(t) for t in sentences[1:]]
    other = ["浙江关停了", "违规网吧"]
    assert sentence_cuts.stored_words(sentence_cuts.marked(other, plain, tokenizer.piece_word), other, other, content_words) == [tokenizer.content_words(t) for t in other]


def test_the_marks_follow_the_stopwords():
    text = ["浙江关停了违规网吧"]
    plain = sentence_cuts.encode([[len(piece) for piece in cut(text[0])]])
    fewer = Tokenizer(stopwords=frozenset())
    assert sentence_cuts.marked(text, plain, fewer.piece_word) != sentence_cuts.marked(text, plain, Tokenizer().piece_word)
    words = sentence_cuts.stored_words(sentence_cuts.marked(text, plain, fewer.piece_word), text, text, fewer.content_words)
    assert words == [fewer.content_words(text[0])] and "了" in words[0]
