"""Telegram HTML for answers, paragraphs and lists: pure functions from plain data to one message.

Every piece of corpus or user text passes through ``html.escape``; the only tags are the ones written
here and in ``bot.texts``. Telegram caps a message at 4,096 UTF-16 code units. Text that would not fit
is cut at the last sentence boundary that does (failing that, a clause boundary, then a character), and
the cut is made in the plain text before escaping and tagging, so it can never fall inside a tag or an
entity. Lengths are measured on the HTML itself, which is never shorter than what Telegram counts.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from itertools import accumulate
from typing import Callable, Sequence

from bot.texts import Markup, in_script, phrase
from corpus.model import ArticleInfo
from corpus.sentences import split_sentences
from retrieval.answer import Answer

MESSAGE_LIMIT = 4096  # Telegram's limit on a message's text, in UTF-16 code units
ELLIPSIS = "……"
# Titles, sources and highlights are short in any sane corpus; capping them keeps room for the quote
# even for a corpus that is not sane.
_TITLE_CHARS = 200
_HIGHLIGHT_CHARS = 200
_LISTED_TITLES = 5  # titles named in a "no answer" reply

_CLAUSE_END = re.compile(r"[，、,：:]")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: in UTF-16 code units.

    >>> utf16_len("ab"), utf16_len("浙江"), utf16_len("😀")
    (2, 2, 2)
    """
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked with an ellipsis.

    >>> clip("abcdef", 10), clip("abcdef", 4)
    ('abcdef', 'ab……')
    """
    return text if len(text) <= limit else text[: max(limit - len(ELLIPSIS), 0)] + ELLIPSIS


def _cut_levels(text: str) -> list[list[int]]:
    """Prefix lengths of ``text`` worth cutting at, best first: sentence ends (by the corpus' own
    sentence rule), clause ends, characters."""
    sentences = list(accumulate(len(sentence) for sentence in split_sentences(text)))
    clauses = sorted(set(sentences) | {m.end() for m in _CLAUSE_END.finditer(text)})
    return [sentences, clauses, list(range(len(text)))]


def fit(render: Callable[[str], str], text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``render(text)`` if it fits in ``limit`` UTF-16 units, else ``render`` of the longest prefix of
    ``text`` cut at a sentence boundary (else a clause, else a character) that fits, plus an ellipsis.

    >>> fit(lambda t: f"<b>{t}</b>", "一二三。四五六。七八九。", limit=17)
    '<b>一二三。四五六。……</b>'
    >>> fit(lambda t: f"<b>{t}</b>", "一二三，四五六七八九十", limit=16)
    '<b>一二三，……</b>'
    """
    whole = render(text)
    if utf16_len(whole) <= limit:
        return whole

    def rendered(cut: int) -> str:
        return render(text[:cut].rstrip() + ELLIPSIS)

    for cuts in _cut_levels(text):
        # Rendered length grows with the prefix, so the longest prefix that fits is found by bisection.
        fitting = bisect_right(cuts, 0, key=lambda cut: 0 if utf16_len(rendered(cut)) <= limit else 1)
        if fitting:
            return rendered(cuts[fitting - 1])
    return rendered(0)


def bold_first(text: str, part: str | None) -> str:
    """``text`` escaped, with the first occurrence of ``part`` in bold.

    >>> bold_first("共<99>家，120家", "120家")
    '共&lt;99&gt;家，<b>120家</b>'
    >>> bold_first("a&b", None)
    'a&amp;b'
    """
    at = text.find(part) if part else -1
    if at < 0:
        return html.escape(text)
    end = at + len(part)
    return f"{html.escape(text[:at])}<b>{html.escape(part)}</b>{html.escape(text[end:])}"


def source_line(title: str | None, source: str | None, language: str) -> str:
    """The line naming the article, and its source where there is one.

    >>> source_line("浙江：行动", "浙江省文旅厅", "zh")
    '《浙江：行动》（据浙江省文旅厅）'
    >>> source_line("T", None, "en")
    'From 《T》'
    >>> source_line("河北：行动", "河北省民政厅", "zh-Hant")  # one script on the line
    '《河北：行動》（據河北省民政廳）'
    """
    title = in_script(clip(title or "", _TITLE_CHARS), language)
    if source:
        return phrase(language, "source_line", title=title, source=in_script(clip(source, _TITLE_CHARS), language))
    return phrase(language, "title_line", title=title)


def render_quote(quote: str, highlight: str | None, title: str | None, source: str | None, language: str) -> str:
    """An answer: the highlight in bold, the sentence quoted with the highlight bold inside it, the source.

    >>> print(render_quote("已关停<组织>120家。", "120家", "浙江", "文旅厅", "zh"))
    答案：<b>120家</b>
    <blockquote>已关停&lt;组织&gt;<b>120家</b>。</blockquote>
    《浙江》（据文旅厅）
    """
    head = []
    if highlight and highlight in quote:
        # The label's line is in the reply's script; the quote below stays exactly as the article has it.
        shown = in_script(clip(highlight, _HIGHLIGHT_CHARS), language)
        head.append(phrase(language, "answer_label") + f"<b>{html.escape(shown)}</b>")
    tail = source_line(title, source, language)

    def render(text: str) -> str:
        return "\n".join([*head, f"<blockquote>{bold_first(text, highlight)}</blockquote>", tail])

    return fit(render, quote)


def render_answer(answer: Answer, titles: Sequence[str], max_question_chars: int) -> str:
    """The reply to a question: the quoted answer, or a polite refusal that says what can be asked.

    ``titles`` are the corpus' article titles, named when there is no answer.

    >>> refusal = Answer(question="q", answered=False, language="en", reason="no_match")
    >>> print(render_answer(refusal, ["A", "B"], 1000))
    Sorry, the articles do not answer that question.
    I can answer questions about these articles:
    • 《A》
    • 《B》
    """
    if answer.answered and answer.quote:
        return render_quote(answer.quote, answer.highlight, answer.title, answer.source, answer.language)
    language = answer.language
    if answer.reason == "too_long":
        return phrase(language, "too_long", length=len(answer.question), limit=max_question_chars)
    if answer.reason == "chitchat":
        return chitchat_reply(answer, titles)
    if answer.reason == "not_stated" and answer.related is not None:
        related = answer.related
        return "\n".join(
            [
                phrase(language, "not_stated"),
                phrase(language, "related_label"),
                f"<blockquote>{html.escape(clip(related.quote, 1000))}</blockquote>",
                source_line(related.title, None, language),
            ]
        )
    return render_covers(phrase(language, "no_answer"), titles, language)


def chitchat_reply(answer: Answer, titles: Sequence[str]) -> str:
    """A short friendly reply to small talk, in the message's language; for "help", how to ask.

    >>> print(chitchat_reply(Answer("hi", False, "en", reason="chitchat", chitchat="greeting"), []))
    Hello! Ask me anything about the articles.
    >>> print(chitchat_reply(Answer("謝謝", False, "zh-Hant", reason="chitchat", chitchat="thanks"), []))
    不客氣！還有問題隨時問。
    """
    reply = phrase(answer.language, f"chitchat_{answer.chitchat or 'greeting'}")
    if answer.chitchat == "help" and titles:
        return render_covers(reply, titles, answer.language)
    return reply


def render_covers(opening: str, titles: Sequence[str], language: str) -> str:
    """``opening`` followed by the first few article titles, so the user learns what can be asked."""
    if not titles:
        return "\n".join([opening, phrase(language, "empty_corpus")])
    lines = [opening, phrase(language, "covers")]
    lines += [f"• 《{html.escape(in_script(clip(title, _TITLE_CHARS), language))}》" for title in titles[:_LISTED_TITLES]]
    if len(titles) > _LISTED_TITLES:
        lines.append(phrase(language, "covers_more", count=len(titles)))
    return "\n".join(lines)


def render_paragraph(
    article: ArticleInfo, sentences: Sequence[str], quoted: int | None, heading: str | None, language: str
) -> str:
    """A whole paragraph as an expandable blockquote under its article's name, the quoted sentence bold.

    A paragraph too long for one message starts at the sentence before the quoted one and is cut at
    the end.

    >>> article = ArticleInfo(id="a", title="标题", source="来源")
    >>> print(render_paragraph(article, ["一。", "二<三>。", "四。"], 1, "小标题", "zh"))
    《标题》（据来源）
    <i>小标题</i>
    <blockquote expandable>一。<b>二&lt;三&gt;。</b>四。</blockquote>
    >>> long = render_paragraph(article, ["甲。" * 1500, "乙。", "丙。" * 1500], 1, None, "zh")
    >>> long.count("甲"), long.count("<b>乙。</b>"), utf16_len(long) <= MESSAGE_LIMIT
    (0, 1, True)
    """
    head = [source_line(article.title, article.source, language)]
    if heading:
        head.append(f"<i>{html.escape(clip(heading, _TITLE_CHARS))}</i>")
    focus = quoted if quoted is not None and 0 <= quoted < len(sentences) else None

    def starting_at(first: int) -> tuple[Callable[[str], str], str]:
        opening = ELLIPSIS if first else ""
        bold_from = len(opening) + len("".join(sentences[first:focus])) if focus is not None else 0
        bold_to = bold_from + len(sentences[focus]) if focus is not None else 0

        def render(text: str) -> str:
            bold = text[bold_from:bold_to]
            body = html.escape(text[:bold_from]) + (f"<b>{html.escape(bold)}</b>" if bold else "")
            body += html.escape(text[max(bold_to, bold_from):])
            return "\n".join([*head, f"<blockquote expandable>{body}</blockquote>"])

        return render, opening + "".join(sentences[first:])

    render, text = starting_at(0)
    if focus and utf16_len(render(text)) > MESSAGE_LIMIT:
        render, text = starting_at(focus)
    return fit(render, text)


def render_alternatives(items: Sequence[tuple[str, ArticleInfo]], language: str) -> str:
    """Other candidate answers, each a numbered quote with its article; as many as fit in one message.

    >>> print(render_alternatives([("一句。", ArticleInfo(id="a", title="T"))], "en"))
    <b>More results</b>
    1. From 《T》
    <blockquote>一句。</blockquote>
    """
    if not items:
        return phrase(language, "no_more")
    blocks = [
        f"{number}. {source_line(article.title, article.source, language)}\n"
        f"<blockquote>{html.escape(clip(quote, 1000))}</blockquote>"
        for number, (quote, article) in enumerate(items, start=1)
    ]
    return fit_lines([phrase(language, "more_heading")], blocks)


def fit_lines(head: Sequence[str], lines: Sequence[str], overflow: Callable[[int], str] | None = None) -> str:
    """``head`` and as many whole ``lines`` as fit in one message, then ``overflow(left_out)`` if any
    were left out.

    >>> fit_lines(["H"], ["a", "b"])
    'H\\na\\nb'
    >>> text = fit_lines(["H"], ["a" * 3000, "b" * 3000, "c"], lambda n: f"+{n}")
    >>> text.endswith("a\\n+2"), utf16_len(text) <= MESSAGE_LIMIT
    (True, True)
    """
    kept: list[str] = []
    used = utf16_len("\n".join(head))
    reserve = utf16_len(overflow(len(lines))) + 1 if overflow else 0
    for index, line in enumerate(lines):
        cost = utf16_len(line) + 1
        last = index == len(lines) - 1
        if used + cost + (0 if last else reserve) > MESSAGE_LIMIT:
            tail = [overflow(len(lines) - len(kept))] if overflow else []
            return "\n".join([*head, *kept, *tail])
        kept.append(line)
        used += cost
    return "\n".join([*head, *kept])


def render_sources(articles: Sequence[ArticleInfo], language: str) -> str:
    """The list of articles, numbered, with their sources and paragraph counts; as many as fit in one
    message (lines are made only for those, however many articles there are).

    >>> print(render_sources([ArticleInfo(id="a", title="T<1>", source="S", paragraph_count=2)], "zh"))
    <b>文章</b>（共 1 篇）
    1. 《T&lt;1&gt;》（据S） · 2 段
    """

    def line(number: int) -> str:
        article = articles[number]
        name = Markup(source_line(article.title, article.source, language))
        return phrase(language, "sources_line", number=number + 1, name=name, paragraphs=article.paragraph_count)

    heading = phrase(language, "sources_heading", count=len(articles))
    return fit_lines([heading], _Lines(len(articles), line), lambda left_out: phrase(language, "sources_more", count=left_out))


class _Lines(Sequence[str]):
    """``count`` lines, each made when it is read."""

    def __init__(self, count: int, make: Callable[[int], str]) -> None:
        self._count, self._make = count, make

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._make(j) for j in range(*i.indices(self._count))]
        if not 0 <= i < self._count:
            raise IndexError(i)
        return self._make(i)


def render_greeting(article_count: int, examples: Sequence[str], language: str) -> str:
    """The /start message: what the bot does and three questions it can answer.

    >>> print(render_greeting(2, ["问<一>？"], "zh"))
    你好！我回答关于 2 篇新闻文章的问题，并引用原文里最能回答问题的那句话。
    <BLANKLINE>
    可以这样问：
    • 问&lt;一&gt;？
    <BLANKLINE>
    直接把问题发给我即可。/help 说明在群里怎么用，/sources 列出所有文章。
    """
    parts = [phrase(language, "greeting", articles=article_count)]
    if examples:
        parts.append("\n".join([phrase(language, "examples"), *(f"• {html.escape(q)}" for q in examples)]))
    parts.append(phrase(language, "greeting_end"))
    return fit(lambda text: text, "\n\n".join(parts))
