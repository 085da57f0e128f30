"""jieba reading its dictionary by first character from the mapped file cuts exactly as jieba does."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from retrieval.jieba_dictionary import PrefixDictionary, import_jieba, tags_without_hmm, use_dictionary, viterbi, write_dictionary

ROOT = Path(__file__).resolve().parents[3]
CMRC = ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json"
SEED = ROOT.parent / "shared" / "seed" / "newspaper-page.txt"


def _texts() -> list[str]:
    data = json.loads(CMRC.read_text(encoding="utf-8"))
    texts = [p["context"] for article in data["data"] for p in article["paragraphs"]][:50]
    texts += [q["question"] for article in data["data"] for p in article["paragraphs"] for q in p["qas"]][:200]
    texts += ["", "a", "ABC 123 x", "3.5GHz的CPU，\r\n  共2x3个", "a1b2 c_d e-f 12.5%", "iPhone 12 Pro Max发布", "河北省已取缔劝散非法社会组织248家", "石清理是谁？", "\u3400\U00020000㐀"]
    if SEED.is_file():
        texts.append(SEED.read_text(encoding="utf-8"))
    return texts


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """jieba's own tokenizer and tagger (the whole dictionary loaded) beside ours (the mapped file)."""
    jieba = import_jieba()
    from jieba import posseg

    path = tmp_path_factory.mktemp("jieba") / "dictionary.bin"
    write_dictionary(jieba, path)
    dictionary = PrefixDictionary(path)
    reference = jieba.Tokenizer()
    reference.tmp_dir = str(path.parent)
    reference.initialize()
    ours = jieba.Tokenizer()
    use_dictionary(ours, dictionary)
    reference_tagger = posseg.POSTokenizer(reference)
    our_tagger = posseg.POSTokenizer(ours)
    our_tagger.word_tag_tab = dictionary.tags
    return reference, ours, reference_tagger, our_tagger, dictionary


def test_the_same_cuts_and_tags_as_jieba(both):
    reference, ours, reference_tagger, our_tagger, dictionary = both
    texts = _texts()
    for text in texts:
        for hmm in (True, False):
            assert ours.lcut(text, HMM=hmm) == reference.lcut(text, HMM=hmm), text[:40]
            assert [tuple(p) for p in our_tagger.lcut(text, HMM=hmm)] == [tuple(p) for p in reference_tagger.lcut(text, HMM=hmm)], text[:40]
        assert tags_without_hmm(our_tagger, text) == [tuple(p) for p in reference_tagger.lcut(text, HMM=False)], text[:40]
        assert ours.lcut_for_search(text) == reference.lcut_for_search(text), text[:40]
    # Only the characters met were loaded, far fewer than the dictionary holds.
    assert 0 < dictionary.loaded_characters() < len(dictionary._shard_of)


def test_the_taggers_hmm_finds_what_jiebas_finds():
    """The tagger's HMM step (``viterbi``) gives jieba's route and log-probability to the last bit, on
    every run of Chinese characters of the texts (the tagger gives it only the runs its dictionary
    does not cut), each whole and in pieces of one to eight characters."""
    import_jieba()
    from jieba import posseg

    original = sys.modules["jieba.posseg.viterbi"].viterbi
    model = (posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P)
    runs = [run for text in _texts() for run in re.findall("[\u4E00-\u9FD5]+", text)]
    pieces = [run[i : i + size] for size in range(1, 9) for run in runs[:300] for i in range(0, len(run), size)]
    assert len(runs) > 1000
    for run in runs[:2000] + pieces:
        assert viterbi(run, *model) == original(run, *model), run[:40]
    # Characters outside the tagger's table (all states possible) and a route through them.
    for run in ("\u4E00\u9FD4\u9FD5", "\u9FD5" * 5, "石\u9FD5清理"):
        assert viterbi(run, *model) == original(run, *model), run


def test_the_same_entries_as_jieba(both):
    reference, _, reference_tagger, _, dictionary = both
    words = list(reference.FREQ)[::97]
    assert all(dictionary.freq[w] == reference.FREQ[w] and w in dictionary.freq for w in words)
    assert all(dictionary.tags.get(w, "x") == reference_tagger.word_tag_tab.get(w, "x") for w in words)
    assert dictionary.total == reference.total
    assert "不是一个词语吧" not in dictionary.freq and dictionary.freq.get("") is None


def test_a_stale_or_broken_file_is_made_again(tmp_path):
    from retrieval import jieba_dictionary

    jieba = import_jieba()
    saved = jieba.dt.tmp_dir
    jieba.dt.tmp_dir = str(tmp_path)
    try:
        path = jieba_dictionary.dictionary_path(jieba)
        path.write_bytes(b"not a dictionary")
        assert jieba_dictionary.open_dictionary(jieba).total > 0
        assert path.read_bytes().startswith(b"QAJD")
    finally:
        jieba.dt.tmp_dir = saved


def test_a_fresh_process_neither_loads_the_whole_dictionary_nor_imports_pkg_resources(tmp_path):
    """What start-up saves: jieba's whole prefix dict and tag table are never built."""
    code = (
        "import sys; from retrieval.tokenize import Tokenizer\n"
        "from retrieval.tokenizing import use_persistent_jieba_cache; from pathlib import Path\n"
        f"use_persistent_jieba_cache(Path({str(tmp_path)!r})); import jieba\n"
        "print(Tokenizer().tokens('河北省取缔了多少家非法社会组织'))\n"
        "from jieba import posseg; print(posseg.lcut('石清理主持了座谈会'))\n"
        "print(type(jieba.dt.FREQ).__name__, type(posseg.dt.word_tag_tab).__name__, 'pkg_resources' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert "'河北省'" in done.stdout and "pair(" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "_ByFirstCharacter _ByFirstCharacter False"
