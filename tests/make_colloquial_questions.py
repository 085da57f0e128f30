"""Make a measuring set of group-chat questions, by rule, from a SQuAD-format set.

    .venv/bin/python tests/make_colloquial_questions.py OUT_DIR [--source FILE]
    .venv/bin/qabot -q eval OUT_DIR/colloquial.json OUT_DIR/plain.json --cmrc --half even --no-baseline

People in group chats write 河北 那个打非抓了几个人 for 河北打非行动抓获了多少名犯罪嫌疑人？. Nobody tuned the
pipeline on the questions this writes: they are made by these rules alone, fixed before any answer
was looked at.

The rules, for each question of the source set, in this order:
- every 的 jieba cuts as a word of its own is dropped;
- question words take their spoken forms: 为什么 -> 为啥, 什么时候 -> 啥时候, 什么 -> 啥, 哪里 -> 哪儿,
  and 多少 -> 几 where a measure word follows (多少个 -> 几个, 多少年 -> 几年, not 多少人);
- the closing question mark (or full stop) is dropped;
- with probability one half, a leading topic (the question's first jieba words while they are nouns,
  two characters or more, followed by a word that starts with a Chinese character) is set apart by a
  space (主语 + space + rest);
- a filler, 那个 or 就是 (each with probability one third), is put after the topic (at the front
  when there is none);
- a sentence-final particle, 啊, 呢 or 呀 (each with probability one quarter), is added unless the
  question already ends in one (吗, 呢, 啊, 呀, 吧).
``random.Random(SEED)`` draws three numbers per question, in the file's order, whether they are used
or not. A question without text is left out.

Writes ``colloquial.json`` and ``plain.json`` (the same questions as written), with the source's
articles and contexts unchanged so that ``--half`` picks the same articles, and prints how many
questions each rule changed.
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retrieval.tokenize import tagged_words  # noqa: E402
from tests.make_mixed_questions import read_arguments, rewritten_sets, write_sets  # noqa: E402

SEED = 10
SPOKEN = (("为什么", "为啥"), ("什么时候", "啥时候"), ("什么", "啥"), ("哪里", "哪儿"))
# Measure words 多少 asks by: 几 asks a small count in speech, and only with a measure word after it.
MEASURES = "个家名位项种次条座本部只件所间场届支首篇块张台辆架艘枚颗株头匹岁年天月日周层倍章集季队封份句首把片"
_HOW_MANY = re.compile(f"多少(?=[{MEASURES}])")
_CLOSING = re.compile(r"[？?。.！!]+$")
FILLERS = ("那个", "就是")
PARTICLES = ("啊", "呢", "呀")
ENDS_IN_PARTICLE = tuple("吗呢啊呀吧")


def spoken(question: str) -> str:
    """``question`` with its question words in their spoken forms.

    >>> spoken("为什么他在什么时候去了哪里？多少个？多少人？")
    '为啥他在啥时候去了哪儿？几个？多少人？'
    """
    for written, said in SPOKEN:
        question = question.replace(written, said)
    return _HOW_MANY.sub("几", question)


def topic_length(words: list[tuple[str, str]]) -> int:
    """How many of ``words`` (jieba's, tagged) open the question as its topic: the leading nouns, when
    they make two characters or more and words are left after them that start with a Chinese
    character (so a name written 海梅·雷耶斯 or a date 天正16年 is not cut); 0 otherwise.

    >>> topic_length([("河北", "ns"), ("打非", "n"), ("抓获", "v"), ("几个", "m")])
    2
    >>> topic_length([("谁", "r"), ("写", "v")]), topic_length([("书", "n"), ("呢", "y")])
    (0, 0)
    >>> topic_length([("海梅", "nr"), ("·", "x"), ("雷耶斯", "nr"), ("是", "v")])
    0
    """
    count = 0
    while count < len(words) - 1 and words[count][1].startswith("n"):
        count += 1
    if count == 0 or not "\u4e00" <= words[count][0][0] <= "\u9fff":
        return 0
    return count if len("".join(word for word, _ in words[:count])) >= 2 else 0


def colloquial_question(question: str, spaced: bool, filler: str | None, particle: str | None) -> str:
    """``question`` as typed in a group chat: the rules of this module's docstring, the random choices given."""
    words = [(word, tag) for word, tag in tagged_words(question) if word != "的"]
    topic = topic_length(words)
    head = "".join(word for word, _ in words[:topic])
    rest = _CLOSING.sub("", "".join(word for word, _ in words[topic:]))
    head, rest = spoken(head), spoken(rest)
    if filler:
        rest = filler + rest
    if particle and not rest.endswith(ENDS_IN_PARTICLE):
        rest += particle
    if head and spaced:
        return f"{head} {rest}"
    return head + rest


def make_sets(source: dict, seed: int = SEED) -> tuple[dict, dict, int, Counter]:
    """The colloquial and plain sets, how many questions they hold, and how many questions each rule changed."""
    rng = random.Random(seed)
    changed: Counter = Counter()

    def rewrite(question: str) -> str | None:
        spaced = rng.random() < 0.5
        filler = (*FILLERS, None)[rng.randrange(3)]
        particle = (*PARTICLES, None)[rng.randrange(4)]
        if not question.strip():
            return None  # a filler and a particle are no question
        made = colloquial_question(question, spaced, filler, particle)
        changed["any"] += made != question
        changed["的 dropped"] += "的" in question and made.count("的") < question.count("的")
        changed["spoken question word"] += spoken(question) != question
        changed["topic spaced"] += " " in made and " " not in question
        changed["filler"] += filler is not None
        changed["particle"] += particle is not None and made.endswith(particle)
        return made

    colloquial_set, plain_set, kept = rewritten_sets(source, rewrite)
    return colloquial_set, plain_set, kept, changed


def main(argv: list[str] | None = None) -> int:
    args, source = read_arguments(argv, __doc__.splitlines()[0], "colloquial.json and plain.json")
    colloquial, plain, kept, changed = make_sets(source, args.seed)
    write_sets(args.out, {"colloquial.json": colloquial, "plain.json": plain})
    print(f"{kept} questions -> {args.out}: " + ", ".join(f"{rule} {count}" for rule, count in changed.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
