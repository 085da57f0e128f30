"""The quality floors, asserted through `qabot eval`, and the `qabot ask` command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.cli import main

from conftest import PROJECT_ROOT

SEED_QUESTIONS = PROJECT_ROOT / "tests" / "data" / "seed_questions.yaml"
CMRC_TRIAL = PROJECT_ROOT / "tests" / "data" / "cmrc2018" / "cmrc2018_trial.json"


@pytest.fixture(scope="module")
def settings_file(tmp_path_factory) -> str:
    """Settings whose index cache lives in a temporary folder, not the developer's."""
    folder = tmp_path_factory.mktemp("qabot")
    path = folder / "settings.yaml"
    path.write_text(f"index:\n  cache_dir: {folder / 'cache'}\n", encoding="utf-8")
    return str(path)


def test_seed_questions_meet_their_floors(settings_file, capsys):
    status = main(
        ["-q", "--settings", settings_file, "eval", str(SEED_QUESTIONS), "--min-zh", "0.95", "--min-zh-hant", "1.0",
         "--min-en", "0.9", "--min-no-answer", "0.9", "--max-refused", "1"]
    )
    out = capsys.readouterr().out
    print(out)
    assert status == 0, out
    groups = {line.split()[0] for line in out.splitlines()[1:5]}
    assert groups == {"zh", "zh-Hant", "en", "no-answer"}


def test_seed_questions_cover_every_article_and_question_type():
    from retrieval.evaluate import load_questions
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


def test_eval_fails_below_a_floor_and_names_it(settings_file, tmp_path, capsys):
    questions = tmp_path / "q.yaml"
    questions.write_text("- {q: 河北取缔了多少家非法社会组织？, must: [这句话不在文章里]}\n", encoding="utf-8")
    assert main(["-q", "--settings", settings_file, "eval", str(questions), "--min-zh", "0.5"]) == 1
    assert "below floor: zh 0.000 < 0.5" in capsys.readouterr().err


@pytest.mark.parametrize("text, message", [("[1, 2", "cannot read questions"), ("- {must: [x]}\n", "entry 1: needs a 'q' string"), ("{}", "non-empty list")])
def test_bad_question_file_is_one_clear_error(settings_file, tmp_path, capsys, text, message):
    questions = tmp_path / "bad.yaml"
    questions.write_text(text, encoding="utf-8")
    assert main(["-q", "--settings", settings_file, "eval", str(questions)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qabot: error: ") and message in err and err.count("\n") == 1


def run_qabot(settings_file: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "-q", "--settings", settings_file, *args],
        input=stdin, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
    )


def test_ask_json_for_the_design_example(settings_file):
    done = run_qabot(settings_file, "ask", "how many illegal organizations did Hebei ban", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "248家" in answer["quote"] and "河北" in answer["title"]
    assert set(answer) == {"question", "answered", "quote", "highlight", "title", "source", "article_id", "paragraph", "score", "alternatives"}
    assert all(set(a) == {"quote", "title", "article_id", "score"} for a in answer["alternatives"])


def test_ask_answers_a_thousand_stdin_lines_in_one_process(settings_file):
    lines = ["河北取缔了多少家非法社会组织？", "", "   ", "how many hours of duty does Shaanxi require", "\x00", "明天北京天气怎么样？", "谁主持了海南慈善事业高质量发展座谈会？", "🙂"]
    questions = [lines[i % len(lines)] for i in range(1000)]
    done = run_qabot(settings_file, "ask", "--json", stdin="\n".join(questions) + "\n")
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["question"] for a in answers] == questions
    for answer in answers:
        if not answer["question"].strip("\x00 "):
            assert answer["answered"] is False
    assert answers[0]["highlight"] == "248家"


def test_ask_prints_a_readable_answer_with_the_highlight_marked(settings_file):
    done = run_qabot(settings_file, "ask", "河北抓获了几名犯罪嫌疑人？", "明天北京天气怎么样？")
    assert done.returncode == 0, done.stderr
    assert "【8名】" in done.stdout and "（据河北省民政厅）" in done.stdout
    assert "没有找到" in done.stdout
