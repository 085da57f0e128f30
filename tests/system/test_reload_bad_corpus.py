"""Bad corpus files through an admin's /reload: each gets a clear error, and the old index keeps serving.

(The same files through the CLI are tested in tests/unit/corpus/test_corpus_loader.py.) One bot process
serves the module; each case breaks the corpus directory, asks for a reload, checks the error and that
a question still gets exactly the answer it got before, then repairs the directory.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from bot.texts import phrase

from bot_process import SessionRecord, copy_bundled_corpus, serving_settings
from fake_bot_api import FakeBotApi

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ADMIN = 4242
QUESTION = "河北取缔了多少家非法社会组织？"
WAIT = 30.0

BILLION_LAUGHS = "id: lol\ntitle: lol\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")
) + "paragraphs: *i\n"


def only_reply(api: FakeBotApi, message: dict[str, Any]) -> str:
    api.wait_for(lambda: api.replies_to(message), WAIT)
    time.sleep(0.1)
    replies = api.replies_to(message)
    assert len(replies) == 1, replies
    return replies[0]["text"]


def _truncated_yaml(corpus: Path) -> Path:
    whole = yaml.safe_dump({"id": "cut", "title": "截断", "paragraphs": ["第一段。", "第二段。"]}, allow_unicode=True, default_style='"')
    bad = corpus / "truncated.yaml"
    bad.write_text(whole[: whole.index("第二段")], encoding="utf-8")  # ends inside a quoted string
    return bad


def _invalid_utf8(corpus: Path) -> Path:
    bad = corpus / "latin1.yaml"
    bad.write_bytes("id: latin1\ntitle: 标题\nparagraphs:\n- ".encode() + "café".encode("latin-1") + b"\n")
    return bad


def _huge_single_line(corpus: Path) -> Path:
    bad = corpus / "huge.txt"
    with open(bad, "wb") as handle:
        handle.write(b"a" * (50 * 1024 * 1024))
    return bad


def _billion_laughs(corpus: Path) -> Path:
    bad = corpus / "laughs.yaml"
    bad.write_text(BILLION_LAUGHS, encoding="utf-8")
    return bad


def _duplicate_id(corpus: Path) -> Path:
    original = sorted(corpus.glob("*.yaml"))[0]
    bad = corpus / "zz-copy.yaml"
    shutil.copyfile(original, bad)
    return bad


def _empty_directory(corpus: Path) -> Path:
    aside = corpus.parent / "aside"
    aside.mkdir()
    for file in corpus.iterdir():
        file.rename(aside / file.name)
    return aside


def _deleted_while_loading(corpus: Path) -> Path:
    # Listed, then gone when read: a link to a file that no longer exists is exactly that, every time.
    bad = corpus / "gone.yaml"
    os.symlink(corpus.parent / "deleted.yaml", bad)
    return bad


def _repair(corpus: Path, made: Path) -> None:
    if made.name == "aside":
        for file in made.iterdir():
            file.rename(corpus / file.name)
        made.rmdir()
    else:
        made.unlink()


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "truncated YAML": (_truncated_yaml, "YAML syntax error"),
    "invalid UTF-8": (_invalid_utf8, "not valid UTF-8"),
    "50 MB single line": (_huge_single_line, "file too large"),
    "billion laughs": (_billion_laughs, "YAML aliases"),
    "duplicate id": (_duplicate_id, "duplicate article id"),
    "empty directory": (_empty_directory, "the corpus is empty"),
    "file deleted while loading": (_deleted_while_loading, "disappeared"),
}


@pytest.fixture(scope="module")
def bot(session_record: SessionRecord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeBotApi, Path, str]]:
    home = tmp_path_factory.mktemp("reload")
    corpus = copy_bundled_corpus(home)
    with session_record.serving(home, serving_settings(corpus, admins=[ADMIN])) as (api, running):
        baseline = only_reply(api, api.private_text(1, QUESTION))
        yield api, corpus, baseline
        assert running.process.poll() is None, "the bot died along the way"


@pytest.mark.parametrize("case", list(CASES))
def test_reload_refuses_a_bad_corpus_and_keeps_serving_the_old_one(bot: tuple[FakeBotApi, Path, str], case: str) -> None:
    api, corpus, baseline = bot
    breaker, expected = CASES[case]
    made = breaker(corpus)
    try:
        started = time.monotonic()
        error = only_reply(api, api.private_text(ADMIN, "/reload"))
        assert time.monotonic() - started < 15
        assert error.startswith(phrase("zh", "reload_failed", error="").split("<pre>")[0]), error
        assert expected in error, error
        if made.name != "aside":
            assert made.name in error, error  # the error names the file
        # The old index answers exactly as before.
        assert only_reply(api, api.private_text(100 + list(CASES).index(case), QUESTION)) == baseline
    finally:
        _repair(corpus, made)


def test_after_the_repairs_reload_succeeds_and_answers_are_unchanged(bot: tuple[FakeBotApi, Path, str]) -> None:
    api, _, baseline = bot
    assert only_reply(api, api.private_text(ADMIN, "/reload")).startswith(phrase("zh", "reloaded", articles=0, paragraphs=0, seconds=0)[:4])
    assert only_reply(api, api.private_text(2, QUESTION)) == baseline
