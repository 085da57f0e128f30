"""Follow-up questions: a question that only makes sense after the previous one borrows from it.

People chat in threads. After "河北取缔了多少家非法社会组织？" they ask "那陕西呢？" (the same question
about another place), "那自行解散的呢？" (the same question about another thing), "让多少人受益了？"
(the same subject, another predicate) or "他是谁" (someone the previous question named). The rules
are about the shape of such questions, never about any corpus:

- "(那)X呢" / "what about X": the name X takes the place of the previous question's first name (a
  place, person or organisation); when either has none, X is asked together with the previous question;
- a question with a pronoun (他, 其中, it, they ...), or one naming no place while the previous one
  did, gets the previous question's places (for English, its capitalised names) put in front;
- any other question stands on its own.
"""

from __future__ import annotations

import re

from retrieval.question import detect_language
from retrieval.tokenize import normalise, tagged_words

_ASK_AGAIN = re.compile(r"^(?:那么|那|还有|然后|另外|再问|and\s+|what\s+about\s+|how\s+about\s+|and\s+what\s+about\s+)(.*?)[\s呢?？!！。.]*$", re.I)
_TRAILING_NE = re.compile(r"^(.*?)呢[\s?？!！。.]*$")
_PRONOUNS_ZH = ("他们", "她们", "它们", "他", "她", "它", "其中", "该", "此", "这个", "那个", "这些", "那些", "这次", "那次")
_PRONOUNS_EN = {"he", "she", "it", "they", "them", "his", "her", "its", "their", "this", "that", "these", "those", "there"}
_PLACE_FLAGS = ("ns",)  # jieba: place
_NAME_FLAGS = ("ns", "nr", "nt", "nz")  # place, person (jieba's HMM calls some cities so), organisation, other name
_PLACE_ENDS = ("省", "市", "县", "区")


def with_context(question: str, previous: str) -> str:
    """``question`` made to stand on its own with the help of ``previous``, or unchanged.

    >>> with_context("那浙江呢？", "江苏关停了多少家网吧？")
    '浙江关停了多少家网吧？'
    >>> with_context("那自行整改的呢？", "江苏关停了多少家网吧？")
    '自行整改的 江苏关停了多少家网吧？'
    >>> with_context("让多少人受益了？", "江苏开展了多少项公益活动？")
    '江苏 让多少人受益了？'
    >>> with_context("浙江关停了多少家？", "江苏关停了多少家网吧？")
    '浙江关停了多少家？'
    >>> with_context("And how many were arrested?", "How many groups has Jiangsu banned?")
    'Jiangsu And how many were arrested?'
    """
    if not previous or not question:
        return question
    if detect_language(question) == "en":
        return _english(question, previous)
    fragment = _asked_again(question)
    if fragment is not None:
        ours = _entities(fragment, _NAME_FLAGS)
        theirs = _entities(previous, _NAME_FLAGS)
        if ours and theirs:
            replaced = previous
            for old, new in zip(theirs, ours):
                replaced = replaced.replace(old, new, 1)
            return replaced
        return f"{fragment} {previous}" if fragment else previous
    own = _entities(question)
    has_pronoun = any(p in question for p in _PRONOUNS_ZH)
    if own and not has_pronoun:
        return question
    borrowed = [e for e in _entities(previous) if e not in question]
    return " ".join([*borrowed, question]) if borrowed else question


def _asked_again(question: str) -> str | None:
    """The X of "那X呢" / "X呢" / "那X", or None for a question of another shape.

    >>> _asked_again("那陕西呢？"), _asked_again("廊坊呢"), _asked_again("陕西为什么说防汛压力大")
    ('陕西', '廊坊', None)
    """
    text = question.strip()
    match = _TRAILING_NE.match(text)
    if match:
        inner = match.group(1)
        again = _ASK_AGAIN.match(inner)
        return (again.group(1) if again else inner).strip()
    again = _ASK_AGAIN.match(text)
    if again and text[: len(text) - len(again.group(1))].strip():
        return again.group(1).strip() or None
    return None


def _entities(text: str, flags: tuple[str, ...] = _PLACE_FLAGS) -> list[str]:
    """The places (or with ``flags``, other names) a Chinese text names, in order: jieba's tags, and
    nouns ending as a place does (杭州市).

    >>> _entities("陕西省民政厅开的是什么会"), _entities("哪些人参加了"), _entities("石家庄怎么做的", _NAME_FLAGS)
    (['陕西省'], [], ['石家庄'])
    """
    found = []
    for word, flag in tagged_words(normalise(text)):
        if len(word) >= 2 and (flag in flags or (flag.startswith("n") and word.endswith(_PLACE_ENDS))):
            if word not in found:
                found.append(word)
    return found


def _english(question: str, previous: str) -> str:
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", question)
    lowered = [w.lower() for w in words]
    names = _english_names(previous)
    own = _english_names(question)
    again = _ASK_AGAIN.match(question.strip())
    if again and own and names and len(again.group(1).split()) <= 3:
        return previous.replace(names[0], own[0], 1)
    elliptical = bool(again) or any(w in _PRONOUNS_EN for w in lowered) or not own
    borrowed = [n for n in names if n not in question]
    if elliptical and borrowed:
        return " ".join([*borrowed, question])
    return question


def _english_names(text: str) -> list[str]:
    """Capitalised words that are not the sentence's first word (Hebei, Shaanxi), in order.

    >>> _english_names("How many groups has Jiangsu banned?"), _english_names("And who chaired it?")
    (['Jiangsu'], [])
    """
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", text)
    return [w.removesuffix("'s") for w in words[1:] if w[0].isupper() and w.lower() not in ("i",)]

