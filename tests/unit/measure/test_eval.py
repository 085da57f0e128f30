"""The quality floors, asserted through `qabot eval`: on the seed page's question file and on CMRC 2018."""

from __future__ import annotations

import json

import pytest

from bot.cli.main import main
from bot.settings import PROJECT_ROOT

SEED_QUESTIONS = PROJECT_ROOT / "tests" / "data" / "seed_questions.yaml"
CMRC_TRIAL = PROJECT_ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json"


@pytest.fixture(scope="module")
def settings(settings_file) -> str:
    """Settings whose index cache lives in a temporary folder, shared by this module's tests."""
    return str(settings_file())


def test_seed_questions_meet_their_floors(settings, capsys):
    status = main(
        ["-q", "--settings", settings, "eval", str(SEED_QUESTIONS), "--min-zh", "0.95", "--min-zh-hant", "1.0",
         "--min-en", "0.9", "--min-no-answer", "0.9", "--max-refused", "1"]
    )
    out = capsys.readouterr().out
    print(out)
    assert status == 0, out
    groups = {line.split()[0] for line in out.splitlines()[1:5]}
    assert groups == {"zh", "zh-Hant", "en", "no-answer"}


def test_seed_questions_cover_every_article_and_question_type():
    from retrieval.measure.evaluate import load_questions
    from retrieval.question import question_type

    questions = load_questions(SEED_QUESTIONS)
    chinese = [q for q in questions if q.group == "zh"]
    assert len(chinese) >= 40
    assert {q.article for q in chinese} == {"海南", "河北", "陕西", "青海"}
    assert {question_type(q.q) for q in chinese} == {"how_many", "who", "when", "where", "what"}
    counts = {group: sum(q.group == group for q in questions) for group in ("en", "zh-Hant", "no-answer")}
    assert counts == {"en": 10, "zh-Hant": 5, "no-answer": 10}


def test_cmrc_trial_meets_its_floors_beside_the_naive_baseline(capsys):
    status = main(["-q", "eval", "--cmrc", str(CMRC_TRIAL), "--json", "--min-p1", "0.97", "--min-s1", "0.80"])
    out = capsys.readouterr().out
    print(out)
    assert status == 0, out
    systems = json.loads(out)["systems"]
    assert systems["ours"]["S@1"] > systems["naive baseline"]["S@1"]


def test_eval_fails_below_a_floor_and_names_it(settings, tmp_path, capsys):
    questions = tmp_path / "q.yaml"
    questions.write_text("- {q: 河北取缔了多少家非法社会组织？, must: [这句话不在文章里]}\n", encoding="utf-8")
    assert main(["-q", "--settings", settings, "eval", str(questions), "--min-zh", "0.5"]) == 1
    assert "below floor: zh 0.000 < 0.5" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [("[1, 2", "cannot read questions"), ("- {must: [x]}\n", "entry 1: needs a 'q' string"), ("{}", "non-empty list")])
def test_bad_question_file_is_one_clear_error(settings, tmp_path, capsys, text, message):
    questions = tmp_path / "bad.yaml"
    questions.write_text(text, encoding="utf-8")
    assert main(["-q", "--settings", settings, "eval", str(questions)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qabot: error: ") and message in err and err.count("\n") == 1


def test_follow_up_pairs_are_asked_after_their_first_question(settings, tmp_path, capsys):
    pairs = tmp_path / "followups.yaml"
    pairs.write_text(
        "- {first: 海南省民政厅厅长是谁？, then: 那青海呢？, must: [董杰人], article: 青海}\n", encoding="utf-8"
    )
    assert main(["-q", "--settings", settings, "eval", str(pairs), "--json", "--min", "follow-up=1.0"]) == 0
    assert json.loads(capsys.readouterr().out)["groups"]["follow-up"] == {"right": 1, "total": 1}
    # Asked alone, the second question is not understood: the pair is what makes it right.
    alone = tmp_path / "alone.yaml"
    alone.write_text("- {q: 那青海呢？, must: [董杰人], article: 青海}\n", encoding="utf-8")
    assert main(["-q", "--settings", settings, "eval", str(alone), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["groups"]["zh"]["right"] == 0


def test_a_half_follow_up_pair_is_one_clear_error(settings, tmp_path, capsys):
    pairs = tmp_path / "bad.yaml"
    pairs.write_text("- {first: 海南省民政厅厅长是谁？, must: [董杰人]}\n", encoding="utf-8")
    assert main(["-q", "--settings", settings, "eval", str(pairs)]) == 2
    assert "entry 1: a follow-up pair needs 'first' and 'then' strings" in capsys.readouterr().err
