"""One tokenizer for paragraphs and questions: normalised, Simplified, numerals as digits, bigrams marked."""

from __future__ import annotations

import pytest

from retrieval.tokenize import BIGRAM_MARK, TOKENIZER_VERSION, Tokenizer, character_bigrams


def test_traditional_and_simplified_give_the_same_tokens(tokenizer):
    assert tokenizer.tokens("河北取締了多少家非法社會組織？") == tokenizer.tokens("河北取缔了多少家非法社会组织？")


def test_chinese_and_arabic_numerals_share_a_token(tokenizer):
    assert "24" in tokenizer.content_words("二十四小时值班")
    assert "24" in tokenizer.content_words("24小时值班")


def test_full_width_text_is_normalised(tokenizer):
    assert tokenizer.content_words("ＡＢＣ公司２４８家") == tokenizer.content_words("abc公司248家")


def test_stopwords_question_words_and_punctuation_are_dropped(tokenizer):
    words = tokenizer.content_words("河北取缔了多少家非法社会组织？！")
    assert "多少" not in words and "了" not in words and "？" not in words
    assert {"河北", "取缔", "非法"} <= set(words)


def test_index_tokens_add_marked_bigrams_after_the_words(tokenizer):
    words = tokenizer.content_words("河北省的社会组织")
    tokens = tokenizer.tokens("河北省的社会组织")
    assert tokens[: len(words)] == words
    assert BIGRAM_MARK + "河北" in tokens  # so a question's 河北 finds 河北省
    assert all(t.startswith(BIGRAM_MARK) for t in tokens[len(words) :])
    assert Tokenizer(char_bigrams=False).tokens("河北省的社会组织") == words


def test_bigrams_do_not_cross_numbers_or_latin_words():
    assert character_bigrams(["抓获", "8", "名"]) == [BIGRAM_MARK + "抓获"]
    assert character_bigrams(["abc", "组织"]) == [BIGRAM_MARK + "组织"]


def test_signature_names_everything_that_changes_the_tokens(tokenizer):
    signature = tokenizer.signature
    assert signature["version"] == TOKENIZER_VERSION
    assert signature["char_bigrams"] is True
    assert Tokenizer(char_bigrams=False).signature != signature
    assert Tokenizer(stopwords=frozenset({"的"})).signature["stopwords_sha256"] != signature["stopwords_sha256"]


@pytest.mark.parametrize("text", ["", "   ", "？！。", "\x00", "🙂"])
def test_text_without_words_has_no_tokens(tokenizer, text):
    assert tokenizer.tokens(text) == []


def test_the_fast_nfkc_is_unicodes_nfkc_beside_every_kind_of_neighbour():
    # Each full-width form and the ideographic space, before and after characters that compose,
    # reorder or decompose (a combining acute, a Hangul vowel, ﬁ, ½, a half-width voiced mark), and
    # inside Chinese text: the shortcut must give exactly what unicodedata gives.
    import unicodedata

    from retrieval.tokenize import nfkc

    wide = [chr(code) for code in (0x3000, *range(0xFF01, 0xFF5F))]
    neighbours = ["\u0301", "\u0327\u0301", "\u1161", "\uac00", "ﬁ", "½", "\uff9e", "e", "開", "", " ", "\u00a0"]
    texts = [a + w + b for w in wide for a in neighbours for b in neighbours]
    texts += ["浙江關停了１２０家，（ＡＢＣ）：２４小時\u3000Ｅ\u0301…", "".join(wide)]
    assert [nfkc(text) for text in texts] == [unicodedata.normalize("NFKC", text) for text in texts]


def test_normalise_keeps_short_texts_only_and_gives_what_it_worked_out():
    # A kept result must be the text's own normalisation (asked again, and beside other texts), and a
    # long text (a whole article) is not kept: the cache holds at most so many texts of a sentence's length.
    from retrieval import tokenize

    short = ["浙江關停了１２０家網吧", "ＡＢＣ 開會", "浙江关停了120家网吧"]
    long = "浙江關停了網吧。" * (tokenize._KEPT_LONGEST // 8 + 1)
    tokenize._normalised_kept.cache_clear()
    first = [tokenize.normalise(text) for text in short + [long]]
    assert tokenize._normalised_kept.cache_info().currsize == len(short)
    again = [tokenize.normalise(text) for text in reversed(short + [long])][::-1]
    assert first == again == [tokenize._normalised(text) for text in short + [long]]
    assert first[0] == first[2] == "浙江关停了120家网吧" and first[1] == "abc 开会"
    assert tokenize._normalised_kept.cache_info().hits == len(short)
