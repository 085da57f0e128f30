"""Splitting a paragraph into sentences, the unit the bot quotes.

The rule:

* A sentence ends at 。！？ and at an ellipsis …… (two or more …, or ⋯⋯).
* A semicolon ；; joins the clauses of one sentence, so it ends none, except before the next item
  of a list (一是…；二是…, 第二…, （二）…, 2、…, ②…): each item of a list is its own unit.
* ASCII . ! ? end a sentence only when white space or the end of the text follows (so URLs, 3.5 and
  file.txt stay whole), and a . never ends one after an abbreviation: a single letter (U.S., J.),
  a known short form (Dr., e.g., No.) or when the next word starts in lower case.
* Further end marks, closing quotes and closing brackets (”’」』）)]】〉》 and ASCII quotes) stay with
  the sentence they close, and so does the white space after it.
* Nothing inside a balanced 《…》 ever splits: a book or document title is one piece of its sentence.
* Inside a short quotation or bracket (“…”, 「…」, 『…』, （…）, (…) of at most ``QUOTED_MAX``
  characters) only the end mark that closes it may end a sentence: 唵！ in 无上我：“唵！自在…一切中。”
  and the ! of Hey! Say! JUMP in a bracketed list are pauses inside one piece of the sentence, while
  他问「真的吗？」然后走了。 still ends at ？」. A long quotation (speech of several sentences) splits as
  any text does.

Concatenating the sentences gives back the text exactly; a text with no end mark is one sentence.
"""

from __future__ import annotations

import bisect
import re

# A run of end marks (group 1), the closing quotes and brackets after it, and the white space after
# those. A plain character class first lets the regex engine skip ahead fast; which runs really end a
# sentence is decided after.
_END_RUN = re.compile(r"([。！？；;!?.…⋯]+)[”’」』）)\]】〉》\"']*\s*")
_STRONG_END = re.compile(r"[。！？]|…{2}|⋯{2}")
_SEMICOLONS = frozenset("；;")
_NEEDS_CARE = re.compile(r"[.!?《；;]")
# Bump when the rule above splits any text differently: an index records the version its stored
# sentences were split by (retrieval/store.py), and a persisted one split by another is rebuilt rather
# than answering from the old boundaries. 2: short quotations and brackets.
RULE_VERSION = 2
# The longest quotation or bracketed remark (its text, without the marks) read as one piece of its
# sentence: a short exclamation, a name, a list; longer ones are speech of sentences of their own.
QUOTED_MAX = 60
_END_MARK = re.compile(r"[。！？；;!?.…⋯]")  # any mark _END_RUN may end a sentence at
_QUOTED = re.compile(
    "|".join(rf"{re.escape(o)}[^{re.escape(o + c)}]{{1,{QUOTED_MAX}}}{re.escape(c)}" for o, c in ("“”", "「」", "『』", "（）", "()"))
)
# What opens the next item of a list: 二是, 第二, 其二, （二）, (2), 2、, 二、, ②.
_LIST_ITEM = re.compile(
    r"[一二三四五六七八九十]{1,3}是|第[一二三四五六七八九十百\d]{1,4}[，,、是条项点步]?|其[一二三四五六七八九十]"
    r"|[（(][一二三四五六七八九十\d]{1,3}[）)]|[一二三四五六七八九十]{1,3}[、.．]|\d{1,3}(?:[、．]|\.(?!\d))|[①-⑳]"
)
# A sentence of text free of . ! ? 《 ；;: anything up to a run of end marks holding 。！？ or an
# ellipsis pair (a lone … is ordinary text), then closing marks and white space; or the tail.
_PLAIN_SENTENCE = re.compile(
    r"(?:[^。！？…⋯]|…(?!…)|⋯(?!⋯))*(?:[。！？]|…{2}|⋯{2})[。！？…⋯]*[”’」』）)\]】〉》\"']*\s*|.+",
    re.DOTALL,
)
_BOOK_TITLE = re.compile(r"《[^《》]*》")
_WORD_BEFORE_DOT = re.compile(r"([A-Za-z]+(?:\.[A-Za-z]+)*)$")
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st no nos vs etc e.g i.e cf fig al inc ltd co corp dept est approx "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


def _protected_spans(text: str) -> list[tuple[int, int]]:
    """Start and end of every 《…》 pair (innermost pairs: titles nest 〈〉 inside 《》, not 《》)."""
    if "《" not in text:
        return []
    return [match.span() for match in _BOOK_TITLE.finditer(text)]


def _inside(position: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``position`` falls strictly inside one of the (sorted, disjoint) spans."""
    index = bisect.bisect_left(spans, (position, position)) - 1
    return index >= 0 and spans[index][0] < position < spans[index][1]


def _is_abbreviation(text: str, dot: int, after: int) -> bool:
    """Whether the lone . at ``dot`` closes a short form rather than a sentence."""
    word = _WORD_BEFORE_DOT.search(text, max(0, dot - 20), dot)
    if word:
        token = word.group(1)
        if len(token) == 1 or "." in token or token.lower() in ABBREVIATIONS:
            return True
    return after < len(text) and text[after].islower()


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """Start and end of every short balanced quotation or bracket (``QUOTED_MAX``) that holds an end
    mark before its close: the only ones that change a split. A short one found inside another is
    left out (the outer one already covers it).

    >>> _quoted_spans("他说“好！走。”然后（见附件）。又说“好。”")
    [(2, 8)]
    """
    if "“" not in text and "「" not in text and "『" not in text and "（" not in text and "(" not in text:
        return []
    return [match.span() for match in _QUOTED.finditer(text) if _END_MARK.search(text, match.start(), match.end() - 2)]


def _opens_inside_quote(match: re.Match[str], quoted: list[tuple[int, int]]) -> bool:
    """Whether the end marks of ``match`` stand inside a short quotation without closing it."""
    return any(start < match.start() and match.end() < end for start, end in quoted)


def _ends_sentence(
    text: str, match: re.Match[str], spans: list[tuple[int, int]], quoted: list[tuple[int, int]] | None = None
) -> bool:
    if spans and _inside(match.start(), spans):
        return False
    if quoted and _opens_inside_quote(match, quoted):
        return False
    marks = match.group(1)
    if _STRONG_END.search(marks):
        return True
    if _SEMICOLONS & set(marks):
        return _LIST_ITEM.match(text, match.end()) is not None
    if not marks.strip("…⋯"):
        return False  # a lone … is a pause, not an end
    if match.end() < len(text) and not match.group(0)[-1].isspace():
        return False  # 3.5, a.b, file.txt?x: ASCII marks need space or the end after them
    if marks == ".":
        return not _is_abbreviation(text, match.start(), match.end())
    return True


def split_sentences(text: str) -> tuple[str, ...]:
    """Split ``text`` into sentences by the rule above; ``"".join(result) == text``.

    >>> split_sentences("会议强调：“要高标准开展。”一是坚持;二是服务！《关于（试行）。办法》印发……好")
    ('会议强调：“要高标准开展。”', '一是坚持;', '二是服务！', '《关于（试行）。办法》印发……', '好')
    >>> split_sentences("要储备物资；落实值班制度。（一）加强领导；（二）压实责任。")
    ('要储备物资；落实值班制度。', '（一）加强领导；', '（二）压实责任。')
    >>> split_sentences("GDP grew 3.5 percent in the U.S. last year. Dr. Li agreed.")
    ('GDP grew 3.5 percent in the U.S. last year. ', 'Dr. Li agreed.')
    """
    quoted = _quoted_spans(text)
    if _NEEDS_CARE.search(text) is None and not quoted:
        # Only full-width end marks (the common case): one regex pass does it all.
        return tuple(_PLAIN_SENTENCE.findall(text))
    return split_carefully(text, quoted)


def split_carefully(text: str, quoted: list[tuple[int, int]] | None = None) -> tuple[str, ...]:
    """The rule with every check (ASCII marks, abbreviations, 《》, short quotations); ``split_sentences``
    uses it only for text holding . ! ? 《 or a short quotation with an end mark inside (``quoted``, its
    spans when already found), since the plain pass gives the same result on anything else."""
    spans = _protected_spans(text)
    if quoted is None:
        quoted = _quoted_spans(text)
    sentences = []
    start = 0
    for match in _END_RUN.finditer(text):
        if _ends_sentence(text, match, spans, quoted):
            sentences.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        sentences.append(text[start:])
    return tuple(sentences)
