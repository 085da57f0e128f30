"""The `qabot` command line as a user meets it: the global options before or after the command,
argument errors in plain words, `.env` read first, and `qabot ask` in its forms (arguments, standard
input, --json, a terminal)."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from bot.cli.main import build_parser, main

ARTICLES = """\
- {id: t1, title: 测试文章, source: 测试厅, paragraphs: [今年全市新建公园绿地三十五处。]}
- {id: t2, title: 防汛工作, paragraphs: [指挥部要求各区县在六月底前完成水库隐患排查。]}
- {id: t3, title: 养老服务, paragraphs: [全省新建社区养老服务中心一百二十个。]}
"""
QUESTION = "全市新建公园绿地多少处？"


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


def test_small_talk_in_ask_gets_its_short_reply_not_a_quote(settings, run_qabot):
    done = run_qabot("-q", "--settings", settings, "ask", "你好", "thanks!")
    assert done.returncode == 0, done.stderr
    assert "你好！" in done.stdout and "welcome" in done.stdout and "——" not in done.stdout


def test_chat_ignores_empty_lines_shows_help_and_leaves_only_on_its_exit_words(settings, run_qabot):
    lines = ["", "   ", "/help", "河北取缔了多少家非法社会组织？", "退出", "quit", "谁主持了海南慈善事业高质量发展座谈会？"]
    done = run_qabot("-q", "--settings", settings, "chat", stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Ctrl-D" in out and "/quit" in out  # the help
    assert "【248家】" in out  # answered after the empty lines
    assert "Type exit, quit or /quit" in out  # 退出 says how to leave instead of leaving
    assert "石清理" not in out  # nothing after quit
    # Ctrl-D (end of input) leaves too, and /quit and exit do.
    for last in ("", "/quit", "exit"):
        done = run_qabot("-q", "--settings", settings, "chat", stdin=f"河北取缔了多少家非法社会组织？\n{last}\n谁主持了海南慈善事业高质量发展座谈会？" if last else "河北取缔了多少家非法社会组织？\n")
        assert done.returncode == 0 and "【248家】" in done.stdout
        assert "石清理" not in done.stdout


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "articles"
    directory.mkdir()
    (directory / "three.yaml").write_text(ARTICLES, encoding="utf-8")
    return directory


def test_global_options_work_after_the_command_too(settings, corpus_dir, capsys):
    assert main(["articles", "--corpus", str(corpus_dir)]) == 0
    assert "测试文章" in capsys.readouterr().out
    for argv in (
        ["-q", "--settings", settings, "--corpus", str(corpus_dir), "ask", "--json", QUESTION],
        ["ask", "--json", "-q", "--settings", settings, "--corpus", str(corpus_dir), QUESTION],
        ["--corpus", "/nowhere", "ask", "--corpus", str(corpus_dir), "--settings", settings, "-q", "--json", QUESTION],
    ):
        assert main(argv) == 0, argv
        assert json.loads(capsys.readouterr().out)["title"] == "测试文章", argv


def test_an_option_left_out_after_the_command_keeps_the_value_given_before_it():
    parser = build_parser()
    before = parser.parse_args(["-q", "--corpus", "x", "--settings", "s.yaml", "ask", "q"])
    assert (before.quiet, before.corpus, before.settings) == (True, "x", "s.yaml")
    after = parser.parse_args(["ask", "-q", "--corpus", "x", "q"])
    assert (after.quiet, after.corpus, after.settings, after.verbose) == (True, "x", None, False)
    assert parser.parse_args(["index", "-v"]).verbose and not parser.parse_args(["index"]).verbose


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", "--top", "abc", "q"],
        ["ask", "--top", "-1", "q"],
        ["eval", "q.yaml", "--min-zh", "95%"],
        ["eval", "q.yaml", "--max-refused", "some"],
        ["bench", "--sizes", "many"],
        ["bench", "--questions", "ten"],
        ["bench", "--reference-sample", "0"],
        ["bench", "--corpus", "x"],  # the benchmark generates its own corpora
    ],
)
def test_argument_errors_say_what_is_wrong_in_the_users_words(argv, tmp_path, capsys):
    # Should the value be accepted after all, the command fails at once rather than running.
    missing = ["--corpus", str(tmp_path / "missing")] if argv[0] != "bench" else ["--cmrc", str(tmp_path / "missing.json")]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, *missing])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("qabot") and ": error: " in error, error
    assert "invalid" not in error and not re.search(r"\b_\w", error), error  # no parser function names


@pytest.mark.parametrize("extra, said", [(["--drop", "no_such_feature"], "no such feature: no_such_feature"), ([], "no such file")])
def test_fit_refuses_an_unknown_feature_or_a_missing_set_before_it_starts(extra, said, tmp_path, capsys):
    assert main(["fit", str(tmp_path / "missing.json"), "--dry-run", *extra]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("qabot: error: ") and said in error, error


def test_fit_records_the_command_it_was_given_not_the_callers(monkeypatch):
    # Called from code, sys.argv is the caller's (pytest's here): the model file must name fit's own words.
    from retrieval.measure import fit

    asked = []
    monkeypatch.setattr(fit, "fit", lambda request, config: asked.append(request) or 0)
    monkeypatch.setattr(sys, "argv", ["pytest", "-k", "something else"])
    assert main(["fit", "--dry-run", "--leaves", "4", "--rounds", "25", "my set.json"]) == 0
    assert asked[0].command == "qabot fit --dry-run --leaves 4 --rounds 25 'my set.json'"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_bare_ask_at_a_terminal_says_what_it_waits_for(settings, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", _Terminal("河北取缔了多少家非法社会组织？\n"))
    assert main(["-q", "--settings", settings, "ask", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "one question per line" in err and "Ctrl-D" in err
    assert json.loads(out)["highlight"] == "248家"

    monkeypatch.setattr(sys, "stdin", io.StringIO("河北取缔了多少家非法社会组织？\n"))  # piped: nothing to say
    assert main(["-q", "--settings", settings, "ask", "--json"]) == 0
    assert "Ctrl-D" not in capsys.readouterr().err


def test_dotenv_is_read_first_and_may_name_the_settings_of_any_command(settings_file, corpus_dir, tmp_path, run_qabot):
    chosen = settings_file({"corpus": {"path": str(corpus_dir)}})
    (tmp_path / ".env").write_text(f"QABOT_SETTINGS={chosen}\n", encoding="utf-8")
    done = run_qabot("articles", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "测试文章" in done.stdout and "3 articles" in done.stdout
