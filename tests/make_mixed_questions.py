"""Make a measuring set of questions that mix Chinese and English, by rule, from a SQuAD-format set.

    .venv/bin/python tests/make_mixed_questions.py OUT_DIR [--source tests/data/cmrc2018/cmrc2018_trial.json]
    .venv/bin/qabot -q eval OUT_DIR/mixed.json OUT_DIR/plain.json --cmrc --half even --no-baseline

People in group chats type an English word where it comes to mind first (青海 KPI 考核一共多少个
targets). Nobody tuned the pipeline on the questions this writes: they are made by this rule alone.

The rule, for each question of the source set:
- jieba (with part-of-speech tags) cuts the question; a candidate is a word of two or more Chinese
  characters tagged as a noun (n, ns, nt, nz, vn; not a person's name, nr), verb (v) or adjective (a), not a question word,
  that CC-CEDICT (the copy ``retrieval.english.cedict_path`` reads) glosses in one to three plain
  English words: the first gloss of its first sense that is not a cross-reference ("variant of",
  "see ..."), brackets dropped, a leading "to"/"a"/"the" dropped.
- Candidates are ordered nouns first, then rarest first (jieba's dictionary count of the word, Chinese
  at large; a word it lacks counts 0), then by position.
- The first candidate is replaced by its gloss; with probability one half (``random.Random(SEED)``,
  drawn once per question in the file's order) the second is replaced too. An English word gets a
  space on each side that touches a Chinese character, letter or digit.
- A question with no candidate is left out of both files.

Writes two files with the source's articles and contexts unchanged (so ``--half`` picks the same
articles as in the source): ``mixed.json`` (the mixed questions) and ``plain.json`` (the same
questions as written), and prints how many questions it kept and how many got two English words.

Two more files measure refusals: ``unseen-mixed.json`` and ``unseen-plain.json`` leave out the
contexts of every article whose position is 6 or 7 modulo 8 and ask its questions, as unanswerable
(SQuAD v2.0 ``is_impossible``), beside the first context of the article two places before (same
parity, so ``--half`` still splits them alike); they hold no other questions. A question about an
article the corpus lacks should be refused.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retrieval.english import cedict_path  # noqa: E402
from retrieval.tokenize import dictionary_frequency, tagged_words  # noqa: E402

SEED = 10
SOURCE = Path(__file__).resolve().parent / "data" / "cmrc2018" / "cmrc2018_trial.json"
MAX_GLOSS_WORDS = 3
# Not nr: a person's name glossed is a transliteration (尤金 -> eugene), not a word a reader knows in English.
NOUN_TAGS = ("n", "ns", "nt", "nz", "vn")
OTHER_TAGS = ("v", "a")
# Question words are the frame a reader keeps in their own language, not a content word to gloss.
QUESTION_WORDS = frozenset(
    "什么 哪些 哪个 哪里 哪儿 哪年 哪位 多少 为什么 怎么 怎样 如何 几个 何时 何地 谁 是否 时候 什么样 哪种 哪一个 哪一年".split()
)
_HAN = re.compile(r"^[\u4e00-\u9fff]{2,}$")
_GLOSS = re.compile(r"^[a-z][a-z' -]*[a-z]$")
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LEADING = re.compile(r"^(?:to|a|an|the) ")
_CROSS_REFERENCE = ("variant of", "old variant", "see ", "cl:", "surname ", "used in", "abbr. for", "also written", "erhua")


def first_gloss(senses: list[str]) -> str | None:
    """The gloss a word is replaced by: the first gloss of its first sense that is not a cross-reference,
    lower-cased, when it is one to three plain words.

    >>> first_gloss(["to suppress", "to crack down on"]), first_gloss(["variant of 台[tai2]", "Taiwan"])
    ('suppress', 'taiwan')
    >>> first_gloss(["(slang) a very long expression of many words"]) is None
    True
    """
    for sense in senses:
        if sense.lower().startswith(_CROSS_REFERENCE):
            continue
        gloss = _LEADING.sub("", " ".join(_BRACKETS.sub("", sense.split(";")[0]).split()).lower())
        if _GLOSS.match(gloss) and len(gloss.split()) <= MAX_GLOSS_WORDS:
            return gloss
        return None
    return None


def read_glosses(path: Path) -> dict[str, str]:
    """Each Simplified headword's gloss (``first_gloss``) from its first entry that has one."""
    found: dict[str, str] = {}
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("#"):
                continue
            head, _, senses = line.partition("/")
            parts = head.split()
            if len(parts) < 2 or parts[1] in found or not _HAN.match(parts[1]):
                continue
            gloss = first_gloss([s for s in senses.strip().strip("/").split("/") if s])
            if gloss:
                found[parts[1]] = gloss
    return found


def spaced(before: str, english: str, after: str) -> str:
    """``english`` with a space on each side that touches a Chinese character, letter or digit.

    >>> spaced("青海", "KPI", "考核"), spaced("", "who", "？")
    (' KPI ', 'who')
    """
    left = " " if before and (before[-1].isalnum() or "\u4e00" <= before[-1] <= "\u9fff") else ""
    right = " " if after and (after[0].isalnum() or "\u4e00" <= after[0] <= "\u9fff") else ""
    return f"{left}{english}{right}"


def mixed_question(question: str, glosses: dict[str, str], two: bool) -> tuple[str, int] | None:
    """``question`` with its first (or first two) candidate words in English, and how many were
    replaced; None without a candidate."""
    words = [word for word, _ in tagged_words(question)]
    tags = [tag for _, tag in tagged_words(question)]
    candidates = []
    for position, (word, tag) in enumerate(zip(words, tags)):
        if not _HAN.match(word) or word in QUESTION_WORDS or word not in glosses:
            continue
        if tag in NOUN_TAGS:
            candidates.append((0, dictionary_frequency(word) or 0, position))
        elif tag in OTHER_TAGS:
            candidates.append((1, dictionary_frequency(word) or 0, position))
    if not candidates:
        return None
    chosen = {position for _, _, position in sorted(candidates)[: 2 if two else 1]}
    out = []
    for position, word in enumerate(words):
        if position in chosen:
            after = words[position + 1] if position + 1 < len(words) else ""
            out.append(spaced("".join(out), glosses[word], after))
        else:
            out.append(word)
    return "".join(out).strip(), len(chosen)


def rewritten_sets(source: dict, rewrite) -> tuple[dict, dict, int]:
    """The rewritten and plain sets: the source's articles and contexts, only the questions ``rewrite``
    (question -> new question, or None to leave it out) kept, and how many it kept."""
    rewritten_set = {"version": source.get("version", ""), "data": []}
    plain_set = {"version": source.get("version", ""), "data": []}
    kept = 0
    for article in source["data"]:
        rewritten_article = {**article, "paragraphs": []}
        plain_article = {**article, "paragraphs": []}
        for paragraph in article["paragraphs"]:
            rewritten_qas, plain_qas = [], []
            for qa in paragraph["qas"]:
                made = rewrite(qa["question"])
                if made is None:
                    continue
                kept += 1
                rewritten_qas.append({**qa, "question": made})
                plain_qas.append(qa)
            rewritten_article["paragraphs"].append({**paragraph, "qas": rewritten_qas})
            plain_article["paragraphs"].append({**paragraph, "qas": plain_qas})
        rewritten_set["data"].append(rewritten_article)
        plain_set["data"].append(plain_article)
    return rewritten_set, plain_set, kept


def make_sets(source: dict, glosses: dict[str, str], seed: int = SEED) -> tuple[dict, dict, int, int]:
    """The mixed and plain sets (the source's articles, only the questions that could be mixed), how
    many questions they hold and how many got two English words."""
    rng = random.Random(seed)
    doubled = 0

    def rewrite(question: str) -> str | None:
        nonlocal doubled
        two = rng.random() < 0.5  # drawn for every question, kept or not
        made = mixed_question(question, glosses, two)
        if made is None:
            return None
        doubled += made[1] == 2
        return made[0]

    mixed_set, plain_set, kept = rewritten_sets(source, rewrite)
    return mixed_set, plain_set, kept, doubled


HELD_OUT = (6, 7)  # positions modulo 8 of the articles whose contexts ``unseen_set`` leaves out


def unseen_set(questions: dict) -> dict:
    """``questions`` (a set ``make_sets`` wrote) with the contexts of the held-out articles left out and
    their questions asked, as unanswerable, beside the first context of the article two places before."""
    data = [{**article, "paragraphs": [{**p, "qas": []} for p in article["paragraphs"]]} for article in questions["data"]]
    for position, article in enumerate(questions["data"]):
        if position % 8 not in HELD_OUT:
            continue
        asked = [{**qa, "answers": [], "is_impossible": True} for p in article["paragraphs"] for qa in p["qas"]]
        data[position - 2]["paragraphs"][0]["qas"].extend(asked)
        data[position]["paragraphs"] = []
    return {"version": "v2.0", "data": data}


def read_arguments(argv: list[str] | None, description: str, written: str) -> tuple[argparse.Namespace, dict]:
    """The command line of a set maker (OUT, --source, --seed) and the source set it names."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("out", type=Path, help=f"the folder {written} are written to")
    parser.add_argument("--source", type=Path, default=SOURCE, help="a SQuAD-format set (default: the CMRC 2018 trial split)")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    return args, json.loads(args.source.read_text(encoding="utf-8"))


def write_sets(out: Path, sets: dict[str, dict]) -> None:
    """Each set as JSON under its file name in the folder ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, data in sets.items():
        (out / name).write_text(json.dumps(data, ensure_ascii=False, indent=0), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args, source = read_arguments(argv, __doc__.splitlines()[0], "mixed.json and plain.json")
    mixed, plain, kept, doubled = make_sets(source, read_glosses(cedict_path()), args.seed)
    write_sets(args.out, {"mixed.json": mixed, "plain.json": plain, "unseen-mixed.json": unseen_set(mixed), "unseen-plain.json": unseen_set(plain)})
    total = sum(len(p["qas"]) for a in source["data"] for p in a["paragraphs"])
    print(f"{kept} of {total} questions mixed, {doubled} with two English glosses -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
