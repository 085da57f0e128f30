"""The text fixers: full-width Chinese punctuation survives NFKC, OCR spaces go, Latin spaces stay."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpus.text import CHINESE_PUNCTUATION_KEPT, clean, join_lines


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("引导登记 416 家，破获案件 11 起", "引导登记416家，破获案件11起"),
        ("发 展 的 责 任 使 命", "发展的责任使命"),
        ("慈善事业新活力; 四是坚持依法", "慈善事业新活力；四是坚持依法"),
        ("（据河北省民政厅）", "（据河北省民政厅）"),
        ("(据河北省民政厅)", "（据河北省民政厅）"),
        ("做到 “七个坚持” 。", "做到“七个坚持”。"),
        ("COVID 19 疫情", "COVID 19 疫情"),
        ("通过 Telegram Bot API 推送", "通过 Telegram Bot API 推送"),
        ("ＡＢＣ１２３　全角", "ABC123 全角"),
        ("7月初，河北省", "7月初，河北省"),
        ("Hello, world (really)!", "Hello, world (really)!"),
        ("a\x00b\x1bc", "abc"),
    ],
)
def test_clean(raw, expected):
    assert clean(raw) == expected


def test_every_kept_chinese_mark_survives():
    marks = CHINESE_PUNCTUATION_KEPT + "。、《》“”‘’【】「」『』—·"
    assert clean(f"甲{marks}乙") == f"甲{marks}乙"


def test_lines_join_without_space_in_chinese_and_with_one_in_latin():
    assert join_lines(["会组织 248家，", "引导登记 416 家"]) == "会组织248家，引导登记416家"
    assert join_lines(["接入了 COVID", "19 防控"]) == "接入了 COVID 19 防控"


_ANY_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)),
    max_size=200,
)
_CHINESE_MIX = st.lists(
    st.sampled_from(list("中文，。；;,:：（）() \u3000\t\n0123456789ABab…！?！“”\u0301\u200d👍\u05d0\x00")),
    max_size=60,
).map("".join)


@settings(max_examples=2000, deadline=None)  # 2,000 examples, as issue 6 asks of every property
@given(st.one_of(_ANY_TEXT, _CHINESE_MIX))
def test_clean_never_raises_and_is_idempotent(text):
    once = clean(text)
    assert clean(once) == once
