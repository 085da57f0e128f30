import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_load_and_resolve_paths(project_root):
    settings = load_settings()
    assert settings.corpus.path == project_root / "corpus" / "articles"
    assert settings.answer.k1 == 1.5


def test_user_file_overrides_only_what_it_names(tmp_path):
    user = tmp_path / "mine.yaml"
    user.write_text("answer:\n  top_paragraphs: 9\n", encoding="utf-8")
    settings = load_settings(user)
    assert settings.answer.top_paragraphs == 9
    assert settings.answer.k1 == 1.5


@pytest.mark.parametrize(
    "text, message",
    [
        ("answer:\n  top_paragrafs: 9\n", "unknown key answer.top_paragrafs"),
        ("nonsense:\n  a: 1\n", "unknown section 'nonsense'"),
        ("answer: [1, 2\n", "not valid YAML"),
        ("answer:\n  top_paragraphs: many\n", "answer.top_paragraphs: bad value"),
        ("answer:\n  common_word_idf: [6, 10]\n", "answer.common_word_idf: bad value"),
        ("answer:\n  common_word_idf: [10, 6, 0.1]\n", "answer.common_word_idf: bad value"),
        ("answer:\n  common_word_idf: [6, 10, many]\n", "answer.common_word_idf: bad value"),
    ],
)
def test_bad_settings_name_the_problem(tmp_path, text, message):
    user = tmp_path / "bad.yaml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError, match=message):
        load_settings(user)
