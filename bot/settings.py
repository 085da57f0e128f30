"""One settings object for the whole program, loaded once from the package's ``bot/data/settings.yaml``.

That file holds every default; a user's file (``--settings`` or ``QABOT_SETTINGS``) is merged over it,
so it need only name what it changes. Unknown keys are errors, so a typo is not silently ignored. The
command line folds its ``--corpus`` option in (``with_corpus_path``) and hands the one object to
whatever runs. Paths left unset (null) are placed by ``bot.places``: in a clone where they always
were, in an installed package in the platform's per-user folders.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from bot import places
from retrieval.config import AnswerConfig

PROJECT_ROOT = places.PACKAGE_ROOT
DEFAULT_SETTINGS_FILE = places.DEFAULT_SETTINGS_FILE


class SettingsError(Exception):
    """A settings file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class CorpusSettings:
    path: Path
    max_file_bytes: int


@dataclass(frozen=True)
class IndexSettings:
    cache_dir: Path
    workers: int  # tokenizing processes; 0 = every available core
    freeze_loaded: bool  # the answering processes' collector policy (bot.runtime.settle)


@dataclass(frozen=True)
class TelegramSettings:
    admins: tuple[int, ...]
    allowed_chats: tuple[int, ...]
    overall_messages_per_second: float
    chat_messages_per_second: float
    group_messages_per_minute: float
    send_retries: int
    upload_max_bytes: int
    inline_results: int
    page_upload_max_bytes: int
    poll_timeout: float
    max_concurrent_updates: int
    state_dir: Path
    webhook_url: str | None
    listen: str
    metrics_listen: str | None


@dataclass(frozen=True)
class QuestionLogSettings:
    keep: bool
    retention_days: float


@dataclass(frozen=True)
class Settings:
    corpus: CorpusSettings
    index: IndexSettings
    answer: AnswerConfig
    telegram: TelegramSettings
    question_log: QuestionLogSettings
    source_files: tuple[Path, ...]  # the files these settings were read from, for messages


_SECTIONS = {
    "corpus": CorpusSettings,
    "index": IndexSettings,
    "answer": AnswerConfig,
    "telegram": TelegramSettings,
    "question_log": QuestionLogSettings,
}

# What an unset (null) path stands for.
_DEFAULT_PATHS = {
    "corpus.path": places.default_corpus,
    "index.cache_dir": places.default_index_cache,
    "telegram.state_dir": places.default_state,
}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        raise SettingsError(f"{path}: settings file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of sections at the top level")
    return data


def _merge(base: dict[str, Any], override: Mapping[str, Any], path: Path) -> dict[str, Any]:
    merged = {name: dict(section or {}) for name, section in base.items()}
    for name, section in override.items():
        if name not in merged:
            raise SettingsError(f"{path}: unknown section {name!r} (known: {', '.join(merged)})")
        if not isinstance(section, dict):
            raise SettingsError(f"{path}: section {name!r} must be a mapping")
        for key, value in section.items():
            if key not in merged[name]:
                raise SettingsError(f"{path}: unknown key {name}.{key}")
            merged[name][key] = value
    return merged


def _coerce(field: dataclasses.Field, value: Any, where: str, key: str) -> Any:
    kind = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", str(field.type))
    try:
        if kind == "Path":
            if value is None and key in _DEFAULT_PATHS:
                return _DEFAULT_PATHS[key]()
            return places.resolve(value)
        if kind == "str | None":
            return None if value is None or value == "" else str(value)
        if kind == "str":
            if not isinstance(value, str):
                raise ValueError("a string")
            return value
        if kind.startswith("tuple"):
            return tuple(int(v) if "int" in kind else v for v in (value or ()))
        if kind == "float":
            return float(value)
        if kind == "int":
            if isinstance(value, bool):
                raise ValueError("a whole number, not a boolean")
            return int(value)
        if kind == "bool":
            if not isinstance(value, bool):
                raise ValueError("true or false")
            return value
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"{where}: bad value {value!r} ({exc})") from None
    return value


def _section(cls: type, values: Mapping[str, Any], name: str, files: str) -> Any:
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in values:
            raise SettingsError(f"{files}: missing key {name}.{field.name}")
        key = f"{name}.{field.name}"
        kwargs[field.name] = _coerce(field, values[field.name], f"{files}: {key}", key)
    return cls(**kwargs)


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Read the defaults, merge the user's file over them (``path`` or ``$QABOT_SETTINGS``), and build."""
    merged = _read_yaml(DEFAULT_SETTINGS_FILE)
    files = [DEFAULT_SETTINGS_FILE]
    user = path or os.environ.get("QABOT_SETTINGS")
    if user:
        user_path = Path(user)
        merged = _merge(merged, _read_yaml(user_path), user_path)
        files.append(user_path)
    names = " + ".join(str(f) for f in files)
    sections = {name: _section(cls, merged.get(name) or {}, name, names) for name, cls in _SECTIONS.items()}
    _check_ranker(sections["answer"], names)
    _check_common_words(sections["answer"], names)
    return Settings(**sections, source_files=tuple(files))


def with_corpus_path(settings: Settings, path: str | os.PathLike) -> Settings:
    """``settings`` serving the corpus at ``path`` (a directory or one file) instead of ``corpus.path``."""
    return dataclasses.replace(settings, corpus=dataclasses.replace(settings.corpus, path=Path(path)))


def _check_ranker(answer: AnswerConfig, files: str) -> None:
    """A missing or malformed ranker file, or an unknown feature switched off, is a settings error now,
    not a crash on the first question."""
    from retrieval.ranker import RankerError, cached_ranker

    try:
        cached_ranker(answer.sentence_ranker, tuple(answer.ranker_off))
    except RankerError as exc:
        raise SettingsError(f"{files}: answer: {exc}") from None


def _check_common_words(answer: AnswerConfig, files: str) -> None:
    """``common_word_idf`` is three numbers, low < high and a share from 0 to 1: a settings error now,
    not a crash on the first question."""
    values = answer.common_word_idf
    try:
        low, high, least = (float(v) for v in values)
    except (TypeError, ValueError):
        raise SettingsError(f"{files}: answer.common_word_idf: bad value {list(values)!r} (three numbers: low, high, least)") from None
    if not low < high or not 0.0 <= least <= 1.0:
        raise SettingsError(f"{files}: answer.common_word_idf: bad value {list(values)!r} (low must be below high, least from 0 to 1)")


def with_telegram(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with these ``telegram`` keys replaced (the command line's ``--webhook``, ``--listen``, ``--metrics``)."""
    return dataclasses.replace(settings, telegram=dataclasses.replace(settings.telegram, **changes))
