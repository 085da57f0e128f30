"""The stored corpus reads back exactly what was written, its blocks compressed with a preset dictionary
taken from the corpus' start; a file copied from a build with another dictionary is compressed again."""

from __future__ import annotations

import random

from corpus.model import Article, Paragraph
from corpus.stored import DICTIONARY_BYTES, StoredCorpus, StoredCorpusWriter

WORDS = ["社会组织", "专项行动", "民政厅", "取缔", "养老服务", "志愿者", "困难家庭", "防汛", "投资", "完工"]


def articles(seed: int, count: int) -> list[Article]:
    rng = random.Random(seed)
    out = []
    for a in range(count):
        paragraphs = []
        for p in range(rng.randint(1, 6)):
            sentences = tuple("".join(rng.choices(WORDS, k=rng.randint(3, 12))) + "。" for _ in range(rng.randint(1, 4)))
            paragraphs.append(Paragraph(f"s{seed}-{a}", p, rng.choice([None, "小标题"]), "".join(sentences), sentences))
        out.append(Article(f"s{seed}-{a}", f"标题{seed}-{a}", tuple(paragraphs), source=rng.choice([None, "新华社"])))
    return out


def record(name: str) -> dict:
    return {"path": name, "size": 1, "mtime_ns": 1, "sha256": name}


def paragraphs_of(corpus) -> list[tuple[str, str, tuple[str, ...], str | None]]:
    return [(info.id, p.text, p.sentences, p.heading) for info, p in corpus]


def test_blocks_read_back_and_shrink_with_the_dictionary(tmp_path):
    files = {name: articles(seed, 120) for seed, name in enumerate(["a.jsonl", "b.jsonl"])}
    first = tmp_path / "first"
    first.mkdir()
    writer = StoredCorpusWriter(first)
    for name, items in files.items():
        writer.add(record(name), items)
    writer.close()
    stored = StoredCorpus(first)
    expected = [(a.id, p.text, p.sentences, p.heading) for items in files.values() for a in items for p in a.paragraphs]
    assert paragraphs_of(stored) == expected
    assert len(stored.dictionary) == DICTIONARY_BYTES
    raw = sum(len(stored.decompress(stored.raw_block(b)[0])) for b in range(len(stored._block_first) - 1))
    assert (first / "corpus-paragraphs.bin").stat().st_size < raw / 3

    # A build keeping the first file but choosing its own dictionary (from another first file).
    second = tmp_path / "second"
    second.mkdir()
    writer = StoredCorpusWriter(second)
    writer.add(record("c.jsonl"), articles(7, 120))
    writer.copy(record("a.jsonl"), stored, 0)
    writer.close()
    rebuilt = StoredCorpus(second)
    assert rebuilt.dictionary != stored.dictionary
    kept = sum(len(a.paragraphs) for a in files["a.jsonl"])
    assert paragraphs_of(rebuilt)[-kept:] == expected[:kept]

    # A build given the previous dictionary copies the blocks byte for byte.
    third = tmp_path / "third"
    third.mkdir()
    writer = StoredCorpusWriter(third, stored.dictionary)
    writer.copy(record("a.jsonl"), stored, 0)
    writer.close()
    copied = StoredCorpus(third)
    blocks = stored.file_entry(0)["blocks"][1]
    assert [copied.raw_block(b) for b in range(blocks)] == [stored.raw_block(b) for b in range(blocks)]


def test_a_corpus_smaller_than_the_dictionary_reads_back(tmp_path):
    writer = StoredCorpusWriter(tmp_path)
    items = articles(3, 2)
    writer.add(record("small.jsonl"), items)
    writer.close()
    stored = StoredCorpus(tmp_path)
    assert 0 < len(stored.dictionary) < DICTIONARY_BYTES
    assert paragraphs_of(stored) == [(a.id, p.text, p.sentences, p.heading) for a in items for p in a.paragraphs]
