"""An admin sends the bot a photo or a PDF of a newspaper page, through the stand-in Bot API server: the
bot reads it (OCR, or the PDF's text layer), replies with the articles it found, and answers questions
about the page at once. The page is one of our own (tests/data/pages/linjiang-p5.*, made by
tests/make_test_pages.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest

from bot.settings import PROJECT_ROOT
from bot_process import SessionRecord, copy_bundled_corpus, serving_settings
from fake_bot_api import FakeBotApi, make_user, private_chat
from traffic import one_reply

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

PAGES = PROJECT_ROOT / "tests" / "data" / "pages"
ADMIN = 4343
READING = 180.0  # seconds a page may take: OCR on two shared cores, the engine loaded on first use
TITLES = ("临江市社区食堂推行“一卡通”结算", "春季招聘会送岗位进社区！", "两部门联合开展冬春救助回访")


@pytest.fixture(scope="module")
def served(session_record: SessionRecord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FakeBotApi, Path]]:
    home = tmp_path_factory.mktemp("page-upload")
    corpus_dir = copy_bundled_corpus(home)
    with session_record.serving(home, serving_settings(corpus_dir, admins=[ADMIN])) as (api, _):
        yield api, corpus_dir


def report_of(api: FakeBotApi, message: dict) -> str:
    """The second reply to a page: the first says it is being read."""
    api.wait_for(lambda: len(api.replies_to(message)) >= 2, READING)
    first, second = api.replies_to(message)[:2]
    assert "正在识别" in first["text"]
    return second["text"]


def test_an_admins_photo_of_a_page_is_answered_with_its_articles_then_questions_about_it(served) -> None:
    api, corpus_dir = served
    admin = make_user(ADMIN)
    before = len(list(corpus_dir.glob("*.yaml")))
    photo = api.photo(private_chat(admin), admin, caption="临江日报 第5版", content=(PAGES / "linjiang-p5-photo.jpg").read_bytes())
    report = report_of(api, photo)
    assert "找到 3 篇文章" in report and "现在共有 7 篇文章" in report, report
    for title in TITLES:
        assert title in report, report
    assert re.search(r"《临江市社区食堂推行“一卡通”结算》4 段", report), report
    assert len(list(corpus_dir.glob("*.yaml"))) == before + 3
    answer = one_reply(api, api.private_text(4401, "临江市在多少个社区食堂推行一卡通结算？"))["text"]
    assert "86个" in answer and "临江市社区食堂推行" in answer, answer
    answer = one_reply(api, api.private_text(4401, "回访组共走访困难家庭多少户？"))["text"]
    assert "1240户" in answer and "两部门联合开展冬春救助回访" in answer, answer

    # The same page again, under the same caption, replaces its own files rather than adding a copy.
    again = api.photo(private_chat(admin), admin, caption="临江日报 第5版", content=(PAGES / "linjiang-p5-photo.jpg").read_bytes())
    assert "现在共有 7 篇文章" in report_of(api, again)
    assert len(list(corpus_dir.glob("*.yaml"))) == before + 3


def test_a_pdf_page_sent_as_a_file_is_read_too_and_only_admins_may_send_one(served) -> None:
    api, corpus_dir = served
    admin = make_user(ADMIN)
    pdf = (PAGES / "linjiang-p5.pdf").read_bytes()
    stranger = make_user(4402)
    refused = api.document(private_chat(stranger), stranger, "linjiang-p5.pdf", pdf, mime_type="application/pdf")
    assert "管理员" in one_reply(api, refused)["text"]
    sent = api.document(private_chat(admin), admin, "linjiang-p5.pdf", pdf, mime_type="application/pdf")
    report = report_of(api, sent)
    assert "已加入 linjiang-p5.pdf：找到 3 篇文章" in report, report
    assert len(list(corpus_dir.glob("linjiang-p5-0*.yaml"))) == 3
    # Not a page: the corpus stays as it was and the admin is told why.
    broken = api.document(private_chat(admin), admin, "blank.pdf", b"%PDF-1.4\n%%EOF\n", mime_type="application/pdf")
    failed = report_of(api, broken)
    assert "没有加入" in failed and "<pre>" in failed
