"""Question words as people type them, matched to the words the corpus uses.

A question word the corpus does not hold (neither as a word nor, for its characters, as index bigrams)
gets weighted alternatives from the corpus vocabulary:

- **shared characters**: a single character stands for the two-character corpus words it starts or
  ends (抓 for 抓获, 开 for 召开). (A two-character word standing for the corpus words that keep one of
  its characters, 自己 for 自行, was tried and left out: on seed-dev it answered nothing more, and on
  the project's own questions it lost one, 厅里 matching 厅直);
- **abbreviations**: a short word stands for the longer corpus words, at most twice its length, that
  start with its first character and hold its others in order (人行 for 人民银行), and a two-character word for two
  adjacent corpus words it takes the first characters of (打非 for 打击 + 非法, found through the index
  bigram at their junction).

Every alternative is a word the index holds, so nothing here is a hand list of any corpus' terms. The
corpus side (words by character) is built once per index, on the first question that needs it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Mapping, Sequence

from retrieval.tokenize import BIGRAM_MARK, normalise

_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

# Weights of the alternatives, relative to the word itself (set by judgment: an expansion is a guess).
CONTAINING_WEIGHT = 0.6  # 抓 -> 抓获
ABBREVIATION_WEIGHT = 0.8  # 人行 -> 人民银行, 打非 -> 打击 非法
MAX_ALTERNATIVES = 8  # per question word; the most frequent corpus words first


@dataclass(frozen=True)
class Expansion:
    words: tuple[str, ...]  # corpus words standing together for the question word
    weight: float


class Vocabulary:
    """The corpus' words, from an index's terms (its ``#`` bigrams tell which character pairs occur)."""

    def __init__(self, term_ids: Mapping[str, int], document_frequency=None, tables=None) -> None:
        """``tables`` (an index) may give the word lists ready made, ``words_by_frequency()`` and
        ``words_containing(character)``, instead of reading every term of a large index here."""
        self.term_ids = term_ids
        self._df = document_frequency or (lambda term: 0)
        self._tables = tables
        self._containing: dict[str, tuple[str, ...]] = {}

    def holds(self, word: str) -> bool:
        """Whether the corpus has ``word``: as an index word, or (two characters or more, all Chinese)
        as a run of its index bigrams, so 石家庄 counts as held by a corpus that says 石家庄市.

        >>> v = Vocabulary({"石家庄市": 0, "#石家": 1, "#家庄": 2, "#庄市": 3, "抓获": 4})
        >>> v.holds("石家庄"), v.holds("抓获"), v.holds("抓"), v.holds("家市")
        (True, True, False, False)
        """
        if word in self.term_ids:
            return True
        if len(word) < 2 or not _CHINESE.fullmatch(word):
            return False
        return all(BIGRAM_MARK + word[i : i + 2] in self.term_ids for i in range(len(word) - 1))

    @cached_property
    def words(self) -> tuple[str, ...]:
        """The all-Chinese index words, most frequent first."""
        if self._tables is not None:
            return tuple(self._tables.words_by_frequency())
        found = [t for t in self.term_ids if not t.startswith(BIGRAM_MARK) and _CHINESE.fullmatch(t)]
        return tuple(sorted(found, key=lambda t: (-self._df(t), t)))

    @cached_property
    def by_character(self) -> dict[str, tuple[str, ...]]:
        """Each character -> the words holding it, most frequent first."""
        table: dict[str, list[str]] = {}
        for word in self.words:
            for character in set(word):
                table.setdefault(character, []).append(word)
        return {character: tuple(words) for character, words in table.items()}

    def containing(self, character: str) -> tuple[str, ...]:
        if self._tables is None:
            return self.by_character.get(character, ())
        if character not in self._containing:
            self._containing[character] = self._tables.words_containing(character)
        return self._containing[character]

    def mostly_inside_words(self, character: str) -> bool:
        """Whether the corpus writes ``character`` more often inside a two-character word than as a
        word of its own (会 in 会议, 座谈会): a question's lone 会 then most likely means that word.

        >>> v = Vocabulary({"会": 0, "会议": 1, "是": 2}, {"会": 2, "会议": 9, "是": 30}.get)
        >>> v.mostly_inside_words("会"), v.mostly_inside_words("是")
        (True, False)
        """
        if not self.holds(character):
            return bool(self.containing(character))
        words = [w for w in self.containing(character) if len(w) == 2]
        return bool(words) and self._df(words[0]) > self._df(character)


def name_pieces(words: Sequence[str], stopwords: frozenset[str]) -> set[str]:
    """Single characters standing next to other single characters (not stopwords) in a question's
    jieba words: the pieces of a name jieba does not know, not words typed short.

    >>> sorted(name_pieces(["史", "继", "偕", "著", "书册"], frozenset())), name_pieces(["打非", "抓", "了"], frozenset({"了"}))
    (['偕', '史', '继', '著'], set())
    """
    single = [len(w) == 1 and w not in stopwords and bool(_CHINESE.fullmatch(w)) for w in words]
    return {
        word
        for i, word in enumerate(words)
        if single[i] and ((i > 0 and single[i - 1]) or (i + 1 < len(words) and single[i + 1]))
    }


# What a spoken question puts between a verb and its object (讲的话, 开了会, 见过面).
_PARTING = ("的", "了", "过")


def separable_words_joined(
    question: str, words: Sequence[str], vocabulary: Vocabulary, tag_of: Callable[[str], str | None]
) -> str:
    """The question with a one-character verb and its one-character object that it parts with 的, 了 or
    过 (谁讲的话, 开了会) written together (谁讲话, 开会), where they make a word of the dictionary
    (``tag_of`` gives its tags) that the corpus holds. ``words`` are the question's jieba words, which
    may glue the particle to the object (讲/的话) or not (开/了/会). The rest of the question is unchanged,
    so its question word keeps its neighbours for the highlight. Only a verb parts from its object: 高了约
    十度 is not 高约.

    >>> v = Vocabulary({w: i for i, w in enumerate(["讲话", "开会", "高约"])})
    >>> tags = {"讲": "v", "开": "v", "高": "a", "讲话": "n", "开会": "v"}.get
    >>> separable_words_joined("谁讲的话？", ["谁", "讲", "的话"], v, tags), separable_words_joined("开了会吗", ["开", "了", "会", "吗"], v, tags)
    ('谁讲话？', '开会吗')
    >>> separable_words_joined("谁写的文章", ["谁", "写", "的", "文章"], v, tags), separable_words_joined("公开的会", ["公开", "的", "会"], v, tags)
    ('谁写的文章', '公开的会')
    >>> separable_words_joined("高了约十度", ["高", "了", "约", "十度"], v, tags)
    '高了约十度'
    """
    parted = []
    for i, word in enumerate(words[:-1]):
        after = "".join(words[i + 1 : i + 3])
        if len(word) != 1 or not _CHINESE.fullmatch(word) or after[:1] not in _PARTING:
            continue
        # The particle and a one-character word, apart (开/了/会) or glued (讲/的话).
        alone = words[i + 1] in _PARTING and i + 2 < len(words) and len(words[i + 2]) == 1
        glued = len(words[i + 1]) == 2
        if (alone or glued) and word + after[1] in vocabulary.term_ids and tag_of(word) == "v" and tag_of(word + after[1]):
            parted.append((word + after[:2], word + after[1]))
    if not parted:
        return question
    asked = normalise(question)
    for apart, together in parted:
        # Found in the normalised question, replaced in the question as typed (講的話 too).
        at = asked.find(apart)
        if at >= 0 and len(asked) == len(question):
            question = question[:at] + question[at] + question[at + 2] + question[at + 3 :]
            asked = asked[:at] + together + asked[at + 3 :]
    return question


def known_parts(word: str, vocabulary: Vocabulary) -> list[str]:
    """A word the corpus lacks, as the parts of it the corpus holds when they make it up whole (jieba's
    search-mode cut: 非法组织 -> 非法, 组织, matching a text that says 非法社会组织); else the word.

    >>> v = Vocabulary({w: i for i, w in enumerate(["非法", "组织", "社会"])})
    >>> known_parts("非法组织", v), known_parts("社会", v), known_parts("开会", v)
    (['非法', '组织'], ['社会'], ['开会'])

    A word held only as a run of index bigrams is split when corpus words of two characters or more
    make it up (气候分类, whose pairs stand apart in the texts), not when it only lies inside a longer
    word (石家庄 in 石家庄市):

    >>> v = Vocabulary({w: i for i, w in enumerate(["气候", "分类", "#气候", "#候分", "#分类", "石家庄市", "#石家", "#家庄", "#庄市"])})
    >>> known_parts("气候分类", v), known_parts("石家庄", v)
    (['气候', '分类'], ['石家庄'])
    """
    if len(word) < 2 or word in vocabulary.term_ids or not _CHINESE.fullmatch(word):
        return [word]
    # Held only as a run of index bigrams (石家庄 in 石家庄市, or 气候分类 whose pairs stand in
    # different places): kept whole, unless it is made up of corpus words of two characters or more.
    # Whole, no text would hold it as written, and a word no paragraph holds weighs as the rarest.
    in_pieces = vocabulary.holds(word)
    if in_pieces and len(word) < 4:
        return [word]
    from retrieval.tokenize import _jieba

    if len(word) == 2:
        # jieba's HMM glues two single characters its dictionary would leave apart (那个会来了 ->
        # 会来): a word the corpus lacks and the dictionary alone does not make is read as its two
        # characters, each then matched like any single character (来 -> 以来 ...).
        pieces = _jieba().lcut(word, HMM=False)
        return pieces if len(pieces) == 2 and all(vocabulary.containing(c) for c in pieces) else [word]
    parts = [p for p in _jieba().cut_for_search(word, HMM=False) if p != word]
    # Keep the shortest cover: parts that do not overlap, left to right.
    cover, at = [], 0
    for part in sorted(parts, key=lambda p: (word.find(p), -len(p))):
        start = word.find(part, at)
        if start == at and (part in vocabulary.term_ids and len(part) >= 2 if in_pieces else vocabulary.holds(part)):
            cover.append(part)
            at += len(part)
    return cover if at == len(word) and len(cover) > 1 else [word]


def shared_character_words(
    word: str, vocabulary: Vocabulary, tag_of: Callable[[str], str | None] | None = None
) -> list[Expansion]:
    """The two-character corpus words a single character the corpus lacks as a word may stand for.

    With ``tag_of`` (the dictionary's part-of-speech tags), a verb stands only for verbs: 关 (close)
    for 关闭, not for 有关 (concerning), 关于 (about) or 机关 (an office), which share the character and
    nothing else.

    >>> v = Vocabulary({w: i for i, w in enumerate(["抓获", "召开", "开展", "自行", "自身", "公开"])})
    >>> [e.words[0] for e in shared_character_words("抓", v)], [e.words[0] for e in shared_character_words("开", v)]
    (['抓获'], ['公开', '召开', '开展'])
    >>> shared_character_words("自己", v)
    []
    >>> v = Vocabulary({w: i for i, w in enumerate(["有关", "关于", "机关", "关闭"])})
    >>> tags = {"关": "v", "有关": "vn", "关于": "p", "机关": "n", "关闭": "v"}.get
    >>> [e.words[0] for e in shared_character_words("关", v, tags)]
    ['关闭']
    """
    found: list[Expansion] = []
    if len(word) == 1:
        verb = tag_of is not None and tag_of(word) == "v"
        for other in vocabulary.containing(word):
            if len(other) == 2 and word in (other[0], other[1]) and (not verb or tag_of(other) == "v"):
                found.append(Expansion((other,), CONTAINING_WEIGHT))
    return _best(found)


PLACE_SUFFIXES = ("省", "市", "县", "区")  # 青海 -> 青海省: the same place, written in full


def place_forms(word: str, vocabulary: Vocabulary) -> list[Expansion]:
    """The corpus words that are ``word`` with a place suffix (青海省 for 青海): jieba cuts them as
    other words, so a question saying 青海 would miss the paragraphs that only say 青海省.

    >>> v = Vocabulary({w: i for i, w in enumerate(["青海", "青海省", "河北省", "省市"])})
    >>> [e.words for e in place_forms("青海", v)], place_forms("河北省", v), place_forms("省", v)
    ([('青海省',)], [], [])
    """
    if len(word) < 2 or not _CHINESE.fullmatch(word) or word.endswith(PLACE_SUFFIXES):
        return []
    return [Expansion((word + end,), 1.0) for end in PLACE_SUFFIXES if word + end in vocabulary.term_ids]


def abbreviation_words(word: str, vocabulary: Vocabulary) -> list[Expansion]:
    """Longer corpus words, or pairs of adjacent corpus words, that ``word`` abbreviates.

    >>> v = Vocabulary({w: i for i, w in enumerate(["人民银行", "打击", "非法", "#击非", "非法社会组织", "人行道"])})
    >>> [e.words for e in abbreviation_words("人行", v)]
    [('人民银行',)]
    >>> abbreviation_words("人银", Vocabulary({"人民共和国银行": 0}))  # at most twice as long
    []
    >>> [e.words for e in abbreviation_words("打非", v)], [e.words for e in abbreviation_words("非法组织", v)]
    ([('打击', '非法')], [('非法社会组织',)])
    """
    if len(word) < 2 or not _CHINESE.fullmatch(word):
        return []
    found = [
        Expansion((other,), ABBREVIATION_WEIGHT)
        for other in vocabulary.containing(word[0])
        if len(word) < len(other) <= 2 * len(word)
        and other[0] == word[0]
        and word not in other
        and _in_order(word[1:], other[1:])
    ]
    if len(word) == 2:
        # Two words, each cut to its first character: 打击 + 非法 -> 打非. The index bigram across their
        # junction (#击非) shows they stand side by side somewhere in the corpus.
        seconds = [w for w in vocabulary.containing(word[1]) if w[0] == word[1] and len(w) >= 2]
        for first in vocabulary.containing(word[0]):
            if first[0] != word[0] or len(first) < 2:
                continue
            for second in seconds:
                if len(first + second) <= 2 * len(word) and BIGRAM_MARK + first[-1] + second[0] in vocabulary.term_ids:
                    found.append(Expansion((first, second), ABBREVIATION_WEIGHT))
    return _best(found)


def _in_order(characters: str, text: str) -> bool:
    """Whether ``text`` holds ``characters`` in this order (not necessarily together).

    >>> _in_order("行", "民银行"), _in_order("社组", "社会组织"), _in_order("组社", "社会组织")
    (True, True, False)
    """
    position = 0
    for character in characters:
        position = text.find(character, position) + 1
        if not position:
            return False
    return True


def _best(found: Sequence[Expansion]) -> list[Expansion]:
    """The first MAX_ALTERNATIVES distinct expansions (the vocabulary lists frequent words first)."""
    seen, kept = set(), []
    for expansion in found:
        if expansion.words not in seen:
            seen.add(expansion.words)
            kept.append(expansion)
    return kept[:MAX_ALTERNATIVES]
