"""Small pure ``str -> str`` fixers that turn OCR or hand-typed text into the clean form the corpus keeps.

``clean`` composes them. Every fixer accepts any Unicode string (control characters, NUL, lone
combining marks, right-to-left text, emoji) without raising, and ``clean`` is idempotent:
``clean(clean(x)) == clean(x)``.

Chinese text here means Han characters, kana, and the full-width punctuation Chinese is set in.
Spaces between two such characters, or between one and a digit, are OCR noise and go; spaces
between Latin words ("COVID 19", "Bot API") are real and stay.
"""

from __future__ import annotations

import re
import unicodedata

# Full-width punctuation that NFKC would fold into ASCII (，-> ,  ；-> ;  （-> (  …-> ...) but that
# Chinese text is written with: the sentence rule and the reader both rely on it surviving.
CHINESE_PUNCTUATION_KEPT = "，！？；：（）～…"
_KEEP = frozenset(CHINESE_PUNCTUATION_KEPT)

# Chinese script: Han (with extensions and compatibility forms), kana, CJK symbols and punctuation,
# full-width forms, and the curly quotes Chinese uses. Hangul is left out: Korean separates words.
_CJK_CLASS = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003134f\u2018\u2019\u201c\u201d\u2026"
)
_CJK = f"[{_CJK_CLASS}]"
_CJK_OR_DIGIT = f"[{_CJK_CLASS}0-9]"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_WHITESPACE_RUN = re.compile(r"\s+")
_SPACE_BETWEEN_CJK = re.compile(rf"(?<={_CJK})[ ]+(?={_CJK_OR_DIGIT})|(?<=[0-9])[ ]+(?={_CJK})")
# Digits split by OCR spaces inside Chinese text ("登记41 6家") are one number.
_SPLIT_NUMBER_IN_CHINESE = re.compile(rf"(?<={_CJK})[0-9]+(?:[ ]+[0-9]+)+(?={_CJK})")
# A number that follows a Latin word ("COVID 19", "Windows 11") is part of the Latin text.
_LATIN_NUMBER_BEFORE = re.compile(r"[A-Za-z][ -]?[0-9]+$")
_ASCII_TO_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）"}
# ASCII punctuation touching Chinese (spaces between them ignored) is OCR's reading of the full-width
# marks. A whole run of marks converts at once, so converting never makes a neighbour convertible.
_ASCII_RUN = r"[,;:?!()](?:[ ]*[,;:?!()])*"
_ASCII_PUNCTUATION_NEAR_CJK = re.compile(
    rf"(?<={_CJK})[ ]*({_ASCII_RUN})(?:[ ]*(?={_CJK}))?|({_ASCII_RUN})[ ]*(?={_CJK})"
)


def drop_control_characters(text: str) -> str:
    r"""Remove C0/C1 control characters (NUL included), keeping tab, newline and carriage return.

    >>> drop_control_characters("民政\x00厅\x1b会议\n")
    '民政厅会议\n'
    """
    return _CONTROL.sub("", text)


def normalize_keeping_chinese_punctuation(text: str) -> str:
    """NFKC, except that the full-width punctuation Chinese is written with is kept as it is.

    >>> normalize_keeping_chinese_punctuation("ＣＯＶＩＤ－１９：２４小时（据新华社）；完成…")
    'COVID-19：24小时（据新华社）；完成…'
    """
    if text.isascii():
        return text
    pieces = []
    start = 0
    for index, char in enumerate(text):
        if char in _KEEP:
            pieces.append(unicodedata.normalize("NFKC", text[start:index]))
            pieces.append(char)
            start = index + 1
    pieces.append(unicodedata.normalize("NFKC", text[start:]))
    return "".join(pieces)


def collapse_whitespace(text: str) -> str:
    """Every run of white space (line breaks, tabs, ideographic spaces) becomes one space; ends trimmed.

    >>> collapse_whitespace("  Bot\\tAPI\\n  接口  ")
    'Bot API 接口'
    """
    return _WHITESPACE_RUN.sub(" ", text).strip()


def full_width_punctuation_in_chinese(text: str) -> str:
    """ASCII , ; : ? ! ( ) written against Chinese text become the full-width marks it is set in.

    >>> full_width_punctuation_in_chinese("政治方向;二是坚持服务大局, 进一步 (试行)")
    '政治方向；二是坚持服务大局，进一步（试行）'
    >>> full_width_punctuation_in_chinese("Bot API (beta), COVID 19")
    'Bot API (beta), COVID 19'
    """
    def convert(match: re.Match[str]) -> str:
        run = match.group(1) or match.group(2)
        return "".join(_ASCII_TO_FULL_WIDTH[mark] for mark in run if mark != " ")

    return _ASCII_PUNCTUATION_NEAR_CJK.sub(convert, text)


def remove_spaces_in_chinese(text: str) -> str:
    """Drop spaces between two Chinese characters, between a Chinese character and a digit, and
    inside a number standing between Chinese characters.

    >>> remove_spaces_in_chinese("引导登记 416 家，发 展 的 责 任 使命，登记4 16家")
    '引导登记416家，发展的责任使命，登记416家'
    >>> remove_spaces_in_chinese("支持 COVID 19 与 Bot API")
    '支持 COVID 19 与 Bot API'
    """
    def replace(match: re.Match[str]) -> str:
        start = match.start()
        if text[start - 1].isdigit() and _LATIN_NUMBER_BEFORE.search(text, max(0, start - 40), start):
            return match.group(0)
        return ""

    text = _SPACE_BETWEEN_CJK.sub(replace, text)
    return _SPLIT_NUMBER_IN_CHINESE.sub(lambda match: match.group(0).replace(" ", ""), text)


_SPACE_BEFORE_UNIT = re.compile(r"(?<=[0-9])[ ]+(?=[%‰℃])")
_SPACED_DECIMAL = re.compile(r"([0-9]+)(?:[ ]+\.[ ]*|\.[ ]+)([0-9]+)")


def join_spaced_decimals(text: str) -> str:
    """A decimal number that OCR split with a space beside its point, in Chinese text, is one number.

    >>> join_spaced_decimals("筹集资金9 .6亿元，增长3. 5%，version 2. 3")
    '筹集资金9.6亿元，增长3.5%，version 2. 3'
    """

    def join(match: re.Match[str]) -> str:
        before = text[match.start() - 1 : match.start()]
        after = text[match.end() : match.end() + 1]
        if re.match(_CJK, before) or re.match(rf"{_CJK}|[%‰]", after):
            return f"{match.group(1)}.{match.group(2)}"
        return match.group(0)

    return _SPACED_DECIMAL.sub(join, text)


def attach_units(text: str) -> str:
    """A percent or degree sign belongs to the number before it, whatever space OCR or a line break put between.

    >>> attach_units("不低于55 %，气温 3 ℃")
    '不低于55%，气温 3℃'
    """
    return _SPACE_BEFORE_UNIT.sub("", text)


def clean(text: str) -> str:
    """The whole clean-up, for a title, a heading or a paragraph on one line.

    >>> clean(" 会组织 248家，自行解散 33家;\\n引导登记 416 家 ")
    '会组织248家，自行解散33家；引导登记416家'
    >>> clean("Telegram Bot API 与 COVID 19")
    'Telegram Bot API 与 COVID 19'
    """
    text = drop_control_characters(text)
    text = normalize_keeping_chinese_punctuation(text)
    text = collapse_whitespace(text)
    text = full_width_punctuation_in_chinese(text)
    return attach_units(join_spaced_decimals(remove_spaces_in_chinese(text)))


def join_lines(lines: list[str]) -> str:
    """Join the lines of a wrapped paragraph: no space where Chinese meets Chinese or a number was
    broken across the line end, else one space (between Latin words).

    >>> join_lines(["近日，海南省民政厅召开海", "南慈善事业高质量", "发展座谈会，Bot", "API 接口，共 24", "8 家"])
    '近日，海南省民政厅召开海南慈善事业高质量发展座谈会，Bot API 接口，共248家'
    """
    joined = ""
    for line in lines:
        line = line.strip()
        if joined and line and not (joined[-1].isdigit() and line[0].isdigit()):
            joined += " "
        joined += line
    return clean(joined)
