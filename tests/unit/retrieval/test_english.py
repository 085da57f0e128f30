"""English questions through CC-CEDICT: base forms, phrases, synonyms and the cached reverse index."""

from __future__ import annotations


import pytest

from retrieval.bucket_file import BucketTable
from retrieval.english import CACHE_FILE, Dictionary, base_forms, english_data, load_dictionary


@pytest.fixture(scope="module")
def dictionary() -> Dictionary:
    return load_dictionary()


def chinese(translation: list[tuple[str, float]]) -> list[str]:
    return [word for word, _ in translation]


@pytest.mark.parametrize("word, base", [("organizations", "organization"), ("arrested", "arrest"), ("banned", "ban"), ("cities", "city"), ("held", "hold")])
def test_base_forms_undo_plurals_and_verb_endings(word, base):
    assert base in base_forms(word)


def test_question_words_are_translated_and_function_words_dropped(dictionary):
    terms = dict(dictionary.translate("How many illegal organizations did Hebei ban?", 12))
    assert list(terms) == ["illegal", "organizations", "hebei", "ban"]
    assert "非法" in chinese(terms["illegal"]) and "组织" in chinese(terms["organizations"])
    assert chinese(terms["hebei"])[0] == "河北"
    # 取缔 is glossed "to prohibit", not "to ban": it is reached through 禁止, whose glosses hold both.
    assert "取缔" in chinese(terms["ban"])


def test_a_phrase_is_one_term_backed_by_its_words(dictionary):
    terms = dict(dictionary.translate("criminal suspects", 12))
    assert list(terms) == ["criminal suspects"]
    assert "嫌疑人" in chinese(terms["criminal suspects"])


def test_weights_are_scaled_to_the_best_translation(dictionary):
    for _, translations in dictionary.translate("flood safety meeting", 8):
        weights = [w for _, w in translations]
        assert max(weights) == 1.0 and all(0 < w <= 1 for w in weights)


def test_adjectives_also_read_as_their_nouns_and_adverbs_as_their_adjectives(dictionary):
    terms = dict(dictionary.translate("social publicly", 12))
    # CC-CEDICT glosses "social" only as 社会性 and similar; texts write 社会.
    assert "社会" in chinese(terms["social"])
    assert "公开" in chinese(terms["publicly"])  # through "public"


def test_the_head_noun_of_an_x_of_y_gloss_is_a_reading(dictionary):
    assert "名单" in chinese(dict(dictionary.translate("list", 12))["list"])  # 名单 is a "list of names"


def test_an_x_of_y_question_phrase_is_read_as_the_compound_its_gloss_names(dictionary):
    # CC-CEDICT glosses 民政厅 "provincial department of civil affairs"; a question says it either way.
    for asked in ("department of civil affairs", "civil affairs department"):
        terms = dict(dictionary.translate(f"Who heads the {asked}?", 12, known=lambda word: True))
        assert list(terms) == ["heads", asked] and chinese(terms[asked])[0] == "民政厅"


def test_an_x_of_y_compound_the_corpus_lacks_keeps_its_words_apart(dictionary):
    # "France capital" names 巴黎; a corpus without 巴黎 must still be asked for both words, not
    # answered by any sentence holding 首都.
    def known(word: str) -> bool:
        return word != "巴黎"

    assert list(dict(dictionary.translate("What is the capital of France?", 8, known))) == ["capital", "france"]


def test_a_phrase_the_corpus_cannot_hold_counts_its_words_fully(dictionary):
    def known(word: str) -> bool:
        return word != "示众"

    both = dict(dictionary.translate("publicly exposed", 12))["publicly exposed"]
    corpus = dict(dictionary.translate("publicly exposed", 12, known))["publicly exposed"]
    assert dict(corpus)["曝光"] == pytest.approx(2 * dict(both)["曝光"])


def test_unknown_words_are_kept_without_translations(dictionary):
    assert dictionary.translate("zzqx", 8) == [("zzqx", [])]


def test_the_reverse_index_is_cached_and_a_bad_cache_is_rebuilt(tmp_path, dictionary):
    built = load_dictionary(tmp_path)
    cache = tmp_path / CACHE_FILE
    load_dictionary.cache_clear()
    mapped = load_dictionary(tmp_path)
    assert isinstance(mapped.entries, BucketTable)  # opened from the file, not rebuilt
    assert mapped.entries["illegal"] == built.entries["illegal"] and "illegal" in mapped.entries
    assert mapped.glosses_of("取缔") == built.glosses_of("取缔") and mapped.glosses_of("取缔")
    assert mapped.translate("how many illegal organizations did Hebei ban", 8) == built.translate("how many illegal organizations did Hebei ban", 8)
    assert mapped.translate("prosperity", 4, known=lambda w: False) == built.translate("prosperity", 4, known=lambda w: False)
    # A question reads a few buckets of the file, not the whole dictionary.
    assert mapped.entries.buckets_loaded() < len(mapped.entries) // 640
    assert dict(mapped.entries.items()) == built.entries
    cache.write_bytes(b"{not a bucket file")
    load_dictionary.cache_clear()
    rebuilt = load_dictionary(tmp_path)
    assert not isinstance(rebuilt.entries, BucketTable) and rebuilt.entries["illegal"] == built.entries["illegal"]
    assert cache.read_bytes().startswith(b"QABJ")
    load_dictionary.cache_clear()


def test_word_lists_hold_words_not_yaml_booleans():
    """YAML reads a bare on, yes or no as a boolean: "on" was no stopword, and "yes" and "no" got a
    quote instead of a chit-chat reply. Every word of the shipped word lists is a string."""
    import yaml
    from importlib import resources

    def words(node):
        if isinstance(node, dict):
            return [w for value in node.values() for w in words(value)]
        return [w for value in node for w in words(value)] if isinstance(node, list) else [node]

    for name in ("english.yaml", "chitchat.yaml", "question_cues.yaml"):
        data = yaml.safe_load(resources.files("retrieval").joinpath("data", name).read_text(encoding="utf-8"))
        assert not [w for w in words(data) if isinstance(w, bool)], name
    assert {"on", "no", "yes"} <= english_data().stopwords


def test_how_asks_by_a_word_that_is_no_content(dictionary):
    """"how far", "how long": the word after how is the question's framing (as 多远, 多久 are), unless
    it is a name; switched off it is a word a sentence must hold."""
    from retrieval.english import Phrasing

    assert list(dict(dictionary.translate("How long did the campaign last?", 12))) == ["campaign", "last"]
    assert "hebei" in dict(dictionary.translate("How Hebei fought illegal groups", 12))
    assert "long" in dict(dictionary.translate("How long did the campaign last?", 12, phrasing=Phrasing(how_words=False)))


def test_a_phrase_opening_with_a_stopword_is_read_where_the_corpus_holds_it(dictionary):
    """"this year" is 今年, which a text writes as 今年以来; alone, "year" reads as 年度 first. Only
    where the corpus holds a reading, and never a phrase of stopwords alone ("how much")."""
    from retrieval.english import Phrasing

    assert "今年" in chinese(dict(dictionary.translate("work this year", 12, known=lambda c: True))["this year"])
    assert "this year" not in dict(dictionary.translate("work this year", 12, known=lambda c: False))
    assert "this year" not in dict(dictionary.translate("work this year", 12, lambda c: True, phrasing=Phrasing(opening_phrases=False)))
    assert "how much" not in dict(dictionary.translate("how much did it cost", 12, known=lambda c: True))


def test_a_hyphenated_compound_is_one_phrase(dictionary):
    """"on" is a stopword, but on-call is one compound (随时待命), not a call."""
    from retrieval.english import Phrasing

    assert "on call" in dict(dictionary.translate("on-call staff", 12))
    assert "call" in dict(dictionary.translate("on-call staff", 12, phrasing=Phrasing(hyphenated=False)))


def test_the_head_likely_readings_share_is_a_reading(dictionary):
    """"civil affairs" reads 民政局 and 民政厅; a text writes 民政部门, 民政工作: their head 民政 reads it too."""
    from retrieval.english import Phrasing

    assert "民政" in chinese(dict(dictionary.translate("civil affairs", 12))["civil affairs"])
    assert "民政" not in chinese(dict(dictionary.translate("civil affairs", 12, phrasing=Phrasing(shared_heads=False)))["civil affairs"])
