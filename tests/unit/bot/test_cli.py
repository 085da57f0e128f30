"""The `qabot` command line as a user meets it: `qabot ask` in its forms (arguments, standard input,
--json), run as a fresh process."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def settings(settings_file) -> str:
    """Settings whose index cache lives in a temporary folder, shared by this module's tests."""
    return str(settings_file())


def test_ask_json_for_the_design_example(settings, run_qabot):
    done = run_qabot("-q", "--settings", settings, "ask", "how many illegal organizations did Hebei ban", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "248家" in answer["quote"] and "河北" in answer["title"]
    assert set(answer) == {"question", "answered", "quote", "highlight", "title", "source", "article_id", "paragraph", "score", "alternatives"}
    assert all(set(a) == {"quote", "title", "article_id", "score"} for a in answer["alternatives"])


def test_ask_answers_a_thousand_stdin_lines_in_one_process(settings, run_qabot):
    lines = ["河北取缔了多少家非法社会组织？", "", "   ", "how many hours of duty does Shaanxi require", "\x00", "明天北京天气怎么样？", "谁主持了海南慈善事业高质量发展座谈会？", "🙂"]
    questions = [lines[i % len(lines)] for i in range(1000)]
    done = run_qabot("-q", "--settings", settings, "ask", "--json", stdin="\n".join(questions) + "\n")
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["question"] for a in answers] == questions
    for answer in answers:
        if not answer["question"].strip("\x00 "):
            assert answer["answered"] is False
    assert answers[0]["highlight"] == "248家"


def test_ask_prints_a_readable_answer_with_the_highlight_marked(settings, run_qabot):
    done = run_qabot("-q", "--settings", settings, "ask", "河北抓获了几名犯罪嫌疑人？", "明天北京天气怎么样？")
    assert done.returncode == 0, done.stderr
    assert "【8名】" in done.stdout and "（据河北省民政厅）" in done.stdout
    assert "没有找到" in done.stdout
