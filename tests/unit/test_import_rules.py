"""The rooms of the house keep to their doors: who may import whom, read from the syntax tree of every
module (an import inside a function counts too, and is told apart where a rule allows it)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

import pytest

from bot.settings import PROJECT_ROOT

STORE_MODULES = ("store", "token_cache", "tokenizing", "fingerprint", "documents")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # what it imports, dotted
    line: int
    in_function: bool


def _imports(package: str) -> list[Import]:
    found = []
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        module = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        inside = {id(child) for f in functions for child in ast.walk(f) if child is not f}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            found += [Import(module, target, node.lineno, id(node) in inside) for target in targets]
    return found


def _within(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


def test_the_telegram_front_end_never_imports_the_command_line() -> None:
    offences = [i for i in _imports("bot") if _within(i.module, "bot.telegram") and _within(i.target, "bot.cli")]
    assert not offences, offences


def test_the_command_line_imports_the_telegram_front_end_only_inside_qabot_run() -> None:
    reaching = [i for i in _imports("bot") if _within(i.module, "bot.cli") and _within(i.target, "bot.telegram")]
    assert reaching, "qabot run must start the Telegram front end"
    assert all(i.module == "bot.cli.run" and i.in_function for i in reaching), reaching


def test_only_the_telegram_front_end_imports_telegram() -> None:
    offences = [
        i for package in ("bot", "corpus", "retrieval") for i in _imports(package)
        if _within(i.target, "telegram") and not _within(i.module, "bot.telegram")
    ]
    assert not offences, offences


@pytest.mark.parametrize("forbidden", ["retrieval.measure", "bot", "telegram"])
def test_the_library_never_imports_its_measuring_tools_or_the_front_ends(forbidden: str) -> None:
    offences = [
        i for i in _imports("retrieval")
        if not _within(i.module, "retrieval.measure") and _within(i.target, forbidden)
    ]
    assert not offences, offences


def test_no_module_of_the_store_imports_the_answerer() -> None:
    store = {f"retrieval.{name}" for name in STORE_MODULES}
    offences = [i for i in _imports("retrieval") if i.module in store and _within(i.target, "retrieval.answer")]
    assert not offences, offences


def test_corpus_imports_neither_retrieval_nor_bot() -> None:
    offences = [i for i in _imports("corpus") if _within(i.target, "retrieval") or _within(i.target, "bot")]
    assert not offences, offences
