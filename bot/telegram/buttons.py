"""What the answer's buttons carry: sentence positions, never text, in Telegram's 64-byte callback_data.

A button names sentences by paragraph id and sentence index, plus a short stamp of the corpus they
index into: after a /reload or an upload the ids may mean other paragraphs, and a stale button must
say so rather than show the wrong text. The feedback buttons (👍, 👎) also carry the question's
reference in the question log: a random token that says nothing about who asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit

PARAGRAPH = "p"  # show the whole paragraph of the answer
MORE = "m"  # show the other candidates
HELPED = "u"  # 👍: the answer helped
DID_NOT_HELP = "d"  # 👎: it did not; the other candidates are shown

_LANGUAGE_CODES = {"zh": "z", "zh-Hant": "t", "en": "e"}
_CODE_LANGUAGES = {code: language for language, code in _LANGUAGE_CODES.items()}
_DATA = re.compile(r"^([pmud])([zte])([0-9a-f]{1,16})(?:~([A-Za-z0-9_-]{1,16}))?:(\d+\.\d+(?:,\d+\.\d+)*)?$")


@dataclass(frozen=True)
class Sentence:
    paragraph_id: int
    index: int  # position of the sentence in its paragraph


@dataclass(frozen=True)
class Button:
    kind: str  # PARAGRAPH or MORE
    language: str
    stamp: str  # the corpus' stamp when the button was made
    sentences: tuple[Sentence, ...]
    ref: str | None = None  # the question's reference in the question log (feedback buttons)


def encode(button: Button) -> str:
    """``button`` as callback_data, dropping trailing sentences until it fits Telegram's 64 bytes.

    >>> encode(Button(PARAGRAPH, "en", "1a2b", (Sentence(12, 3),)))
    'pe1a2b:12.3'
    >>> len(encode(Button(MORE, "zh", "1a2b", tuple(Sentence(10**9, 9) for _ in range(9)))))
    58
    >>> encode(Button(HELPED, "zh", "1a2b", (), "Xy_-1234"))
    'uz1a2b~Xy_-1234:'
    """
    sentences = list(button.sentences)
    ref = f"~{button.ref}" if button.ref else ""
    while True:
        items = ",".join(f"{s.paragraph_id}.{s.index}" for s in sentences)
        data = f"{button.kind}{_LANGUAGE_CODES[button.language]}{button.stamp}{ref}:{items}"
        if len(data.encode()) <= CALLBACK_DATA_LIMIT or len(sentences) <= 1:
            return data
        sentences.pop()


def decode(data: str | None) -> Button | None:
    """The button that ``data`` encodes, or None for data this bot did not make.

    >>> button = decode("mz1a2b:4.0,7.2")
    >>> button.kind, button.language, button.stamp
    ('m', 'zh', '1a2b')
    >>> button.sentences
    (Sentence(paragraph_id=4, index=0), Sentence(paragraph_id=7, index=2))
    >>> decode("p?:x") is None, decode(None) is None
    (True, True)
    >>> decode("dt1a2b~Xy_-1234:4.0").ref, decode("uz1a2b~Xy_-1234:").sentences
    ('Xy_-1234', ())
    """
    match = _DATA.match(data or "")
    if not match:
        return None
    kind, language, stamp, ref, items = match.groups()
    if not items and kind in (PARAGRAPH, MORE):
        return None
    sentences = tuple(Sentence(*map(int, item.split("."))) for item in items.split(",")) if items else ()
    return Button(kind, _CODE_LANGUAGES[language], stamp, sentences, ref)
