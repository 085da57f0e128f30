"""`qabot index` and the runtime loader: build once, then reuse the persisted index until the corpus
changes."""

from __future__ import annotations

import dataclasses
import gc
import logging
import weakref

import numpy as np
import pytest

from bot.cli.main import main
from bot.runtime import YOUNG_GENERATION, load_answerer, settle
from bot.settings import load_settings, with_corpus_path
from bot.telegram.library import load_library

ARTICLE = """省民政厅召开养老服务工作推进会

会议指出，今年以来全省新建社区养老服务中心一百二十个，覆盖城乡老年人三十万人。

会议要求，各地要加快补齐农村养老服务短板，确保年底前完成全部建设任务。
"""

SECOND = """市防汛指挥部部署汛期安全工作

指挥部要求，各区县在六月底前完成所有水库和堤防的隐患排查。
"""


@pytest.fixture
def settings_path(settings_file):
    return settings_file(workers=1)


@pytest.fixture
def corpus_dir(tmp_path):
    directory = tmp_path / "articles"
    directory.mkdir()
    (directory / "yanglao.txt").write_text(ARTICLE, encoding="utf-8")
    return directory


def run(capsys, *argv) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_index_builds_then_reports_up_to_date(capsys, settings_path, corpus_dir):
    status, out, _ = run(capsys, "--settings", settings_path, "-q", "index", "--corpus", corpus_dir)
    assert status == 0
    assert out.startswith("index built (no index yet")
    assert "2 paragraphs" in out and "terms" in out and "on disk" in out and "tokenized 2 of 2 documents" in out

    status, out, _ = run(capsys, "--settings", settings_path, "-q", "index", "--corpus", corpus_dir)
    assert status == 0 and out.startswith("index up to date: 1 articles, 2 paragraphs")


def test_index_accepts_the_global_corpus_option_too(capsys, settings_path, corpus_dir):
    status, out, _ = run(capsys, "--settings", settings_path, "--corpus", corpus_dir, "-q", "index")
    assert status == 0 and "2 paragraphs" in out


def test_adding_an_article_rebuilds_tokenizing_only_it(capsys, settings_path, corpus_dir):
    run(capsys, "--settings", settings_path, "-q", "index", "--corpus", corpus_dir)
    (corpus_dir / "fangxun.txt").write_text(SECOND, encoding="utf-8")
    status, out, _ = run(capsys, "--settings", settings_path, "-q", "index", "--corpus", corpus_dir)
    assert status == 0
    assert "new file" in out and "fangxun.txt" in out
    assert "3 paragraphs" in out and "read 1 files (1 unchanged files taken from the previous build)" in out
    assert "tokenized 1 of 3 documents" in out


def test_a_missing_corpus_is_one_clear_error(capsys, settings_path, tmp_path):
    status, out, err = run(capsys, "--settings", settings_path, "index", "--corpus", tmp_path / "nowhere")
    assert status == 2 and out == ""
    assert err.startswith("qabot: error: ") and "nowhere" in err and len(err.strip().splitlines()) == 1


def test_runtime_opens_the_persisted_index_and_rebuilds_on_change(settings_path, corpus_dir, caplog):
    settings = with_corpus_path(load_settings(settings_path), corpus_dir)
    first = load_answerer(settings, quiet=True)
    assert first.answerer.index.doc_count == 2
    second = load_answerer(settings, quiet=True)
    assert second.opened.build is None
    assert all(isinstance(array, np.memmap) for array in second.answerer.index.arrays.values())

    (corpus_dir / "yanglao.txt").write_text(ARTICLE + "\n会议强调，要把安全放在首位。\n", encoding="utf-8")
    with caplog.at_level(logging.INFO, logger="retrieval.store"):
        third = load_answerer(settings, quiet=True)
    assert third.answerer.index.doc_count == 3
    assert "file changed" in caplog.text and "yanglao.txt" in caplog.text


def test_a_reload_lets_the_frozen_library_it_replaces_go(settings_path, corpus_dir):
    settings = with_corpus_path(load_settings(settings_path), corpus_dir)
    assert settings.index.freeze_loaded  # the default
    threshold = gc.get_threshold()
    try:
        serving = load_library(settings, in_child=False)
        settle(settings)
        serving.answerer.ask("全省新建社区养老服务中心多少个？")  # its caches filled, as a bot's are
        assert gc.get_freeze_count() > 0
        old = weakref.ref(serving.answerer)
        serving = load_library(settings, in_child=False, previous=serving)  # /reload, then the swap
        settle(settings)
        gc.collect()
        assert old() is None
        assert gc.get_freeze_count() > 0 and gc.get_threshold()[0] == YOUNG_GENERATION
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)  # the rest of the session collects as Python does


def test_the_policy_off_freezes_nothing(settings_path, corpus_dir):
    settings = with_corpus_path(load_settings(settings_path), corpus_dir)
    settings = dataclasses.replace(settings, index=dataclasses.replace(settings.index, freeze_loaded=False))
    threshold = gc.get_threshold()
    try:
        load_answerer(settings, quiet=True, settled=True)
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == threshold
    finally:
        gc.unfreeze()
