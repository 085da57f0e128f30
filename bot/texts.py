"""The bot's own words, in Chinese and English; Traditional Chinese is derived from the Chinese.

Templates are Telegram HTML. Values filled into them are escaped by ``phrase``, so a template's own
tags are the only markup that can reach Telegram.
"""

from __future__ import annotations

import html
from functools import lru_cache

LANGUAGES = ("zh", "zh-Hant", "en")

_PHRASES: dict[str, dict[str, str]] = {
    "zh": {
        "answer_label": "答案：",
        "title_line": "《{title}》",
        "source_line": "《{title}》（据{source}）",
        "paragraph_button": "原文段落",
        "more_button": "其他结果",
        "more_heading": "<b>其他结果</b>",
        "no_more": "没有来自其他段落的结果。",
        "no_answer": "抱歉，文章里没有找到这个问题的答案。",
        "covers": "我能回答这些文章里的问题：",
        "covers_more": "……共 {count} 篇，发送 /sources 查看全部。",
        "empty_corpus": "现在还没有加载任何文章。",
        "too_long": "这个问题太长了（{length} 字）。请缩短到 {limit} 字以内再问。",
        "empty_question": "请写上问题，例如：{example}",
        "command_start": "开始，看看可以问什么",
        "command_help": "在私聊和群里怎么提问",
        "command_ask": "提问：/ask 问题",
        "command_sources": "列出所有文章",
        "not_text": "我只能回答文字问题。请把问题用文字发给我。",
        "answer_failed": "抱歉，回答这个问题时出错了，请稍后再试。",
        "stale_button": "文章已经更新，请重新提问。",
        "greeting": "你好！我回答关于 {articles} 篇新闻文章的问题，并引用原文里最能回答问题的那句话。",
        "examples": "可以这样问：",
        "greeting_end": "直接把问题发给我即可。/help 说明在群里怎么用，/sources 列出所有文章。",
        "help": (
            "<b>怎么提问</b>\n"
            "私聊：直接发送问题，或者 /ask 问题。\n"
            "群聊：@{bot} 问题；回复我发的消息；或者 /ask@{bot} 问题。群里其他消息我都不回应。\n"
            "任何聊天：输入 @{bot} 加问题，从弹出的结果里选一条发送。\n\n"
            "回答会引用原文的一句话，答案加粗，并注明文章和来源。"
            "「原文段落」按钮显示整段原文，「其他结果」显示其他段落里的候选答案。\n"
            "/sources 列出所有文章。"
        ),
        "sources_heading": "<b>文章</b>（共 {count} 篇）",
        "sources_line": "{number}. {name} · {paragraphs} 段",
        "sources_more": "……还有 {count} 篇",
        "admin_only": "抱歉，只有管理员可以这样做。",
        "private_bot": "抱歉，这是一个私人机器人，只在指定的聊天里回答问题。",
        "reloaded": "已重新加载：{articles} 篇文章，{paragraphs} 个段落，用时 {seconds} 秒。",
        "reload_failed": "重新加载失败，仍在使用原来的文章。错误：\n<pre>{error}</pre>",
        "upload_type": "只接受 {types} 文件。",
        "upload_size": "文件太大（{size} 字节），上限是 {limit} 字节。",
        "upload_name": "文件名无法使用，请改名后重新发送。",
        "upload_done": "已加入 {name}：现在共有 {articles} 篇文章、{paragraphs} 个段落，可以直接提问。",
        "upload_failed": "文件没有加入，文章保持不变。错误：\n<pre>{error}</pre>",
        "not_stated": "文章里没有说。",
        "related_label": "相关（但不是答案）：",
        "chitchat_greeting": "你好！有什么关于这些文章的问题，直接问我吧。",
        "chitchat_thanks": "不客气！还有问题随时问。",
        "chitchat_acknowledgement": "好的。还有问题随时问。",
        "chitchat_laughter": "😄 有问题随时问我。",
        "chitchat_goodbye": "再见！",
        "chitchat_help": "直接把问题发给我，我会引用文章里最能回答它的那句话。",
        "chitchat_exit": "再见！",
        "feedback_thanks": "谢谢反馈！",
        "feedback_more": "谢谢反馈，下面是其他结果。",
        "stats_today": "今天（{since} 起）",
        "stats_week": "最近 7 天（{since} 起）",
        "stats_counts": "问题 {questions} 个，已回答 {answered} 个（{share}），提问的人 {users} 位；闲聊 {small_talk} 条",
        "stats_times": "回复用时 p50 {reply_p50}，p95 {reply_p95}（找答案 p50 {answer_p50}，p95 {answer_p95}）",
        "stats_feedback": "反馈：👍 {up}  👎 {down}",
        "stats_unanswered": "问得最多却没有答案的问题：",
        "stats_empty": "还没有记录任何问题。",
        "stats_off": "没有保存问题日志（设置 question_log.keep）。",
        "stats_private": "请在和我的私聊里发送 /stats。",
        "page_reading": "收到，正在识别这一版，可能要十几秒……",
        "page_done": "已加入 {name}：找到 {count} 篇文章。现在共有 {articles} 篇文章、{paragraphs} 个段落，可以直接提问。",
        "page_article": "• 《{title}》{paragraphs} 段",
        "page_unsure": "请核对这 {count} 处（识别或版面判断把握不大）：",
        "page_failed": "这一版没有加入，文章保持不变。错误：\n<pre>{error}</pre>",
    },
    "en": {
        "answer_label": "Answer: ",
        "title_line": "From 《{title}》",
        "source_line": "From 《{title}》 (source: {source})",
        "paragraph_button": "Full paragraph",
        "more_button": "More results",
        "more_heading": "<b>More results</b>",
        "no_more": "No results from other paragraphs.",
        "no_answer": "Sorry, the articles do not answer that question.",
        "covers": "I can answer questions about these articles:",
        "covers_more": "…{count} in all; send /sources for the full list.",
        "empty_corpus": "No articles are loaded yet.",
        "too_long": "That question is too long ({length} characters). Please shorten it to {limit} or fewer.",
        "empty_question": "Please write a question, e.g. {example}",
        "command_start": "Start: what you can ask",
        "command_help": "How to ask, in private and in groups",
        "command_ask": "Ask: /ask question",
        "command_sources": "List the articles",
        "not_text": "I can only answer questions written as text. Please type your question.",
        "answer_failed": "Sorry, something went wrong while answering; please try again later.",
        "stale_button": "The articles have been updated since; please ask again.",
        "greeting": (
            "Hello! I answer questions about {articles} news articles (in Chinese) by quoting the one "
            "sentence of the article that answers best."
        ),
        "examples": "Try asking:",
        "greeting_end": "Just send me a question. /help explains group use; /sources lists the articles.",
        "help": (
            "<b>How to ask</b>\n"
            "Private chat: send the question, or /ask question.\n"
            "Groups: @{bot} question; reply to one of my messages; or /ask@{bot} question. "
            "I stay silent on every other group message.\n"
            "Any chat: type @{bot} and a question, then pick one of the offered answers.\n\n"
            "An answer quotes one sentence of an article with the answer in bold, and names the article "
            "and its source. \"Full paragraph\" shows the whole paragraph; \"More results\" shows "
            "candidates from other paragraphs.\n"
            "/sources lists the articles."
        ),
        "sources_heading": "<b>Articles</b> ({count})",
        "sources_line": "{number}. {name} · {paragraphs} paragraphs",
        "sources_more": "…and {count} more",
        "admin_only": "Sorry, only the bot's admins can do that.",
        "private_bot": "Sorry, this is a private bot: it answers only in the chats it was set up for.",
        "reloaded": "Reloaded: {articles} articles, {paragraphs} paragraphs in {seconds} s.",
        "reload_failed": "Reload failed; the previous articles are still served. Error:\n<pre>{error}</pre>",
        "upload_type": "Only {types} files are accepted.",
        "upload_size": "The file is too large ({size} bytes); the limit is {limit} bytes.",
        "upload_name": "That file name cannot be used; please rename the file and send it again.",
        "upload_done": (
            "Added {name}: {articles} articles and {paragraphs} paragraphs now, answerable right away."
        ),
        "upload_failed": "The file was not added and the articles are unchanged. Error:\n<pre>{error}</pre>",
        "not_stated": "The articles don't say.",
        "related_label": "Related, but not the answer:",
        "chitchat_greeting": "Hello! Ask me anything about the articles.",
        "chitchat_thanks": "You're welcome! Ask again any time.",
        "chitchat_acknowledgement": "OK. Ask again any time.",
        "chitchat_laughter": "😄 Ask me anything about the articles.",
        "chitchat_goodbye": "Goodbye!",
        "chitchat_help": "Just send me a question; I answer by quoting the sentence of the articles that answers it best.",
        "chitchat_exit": "Goodbye!",
        "feedback_thanks": "Thanks for the feedback!",
        "feedback_more": "Thanks for the feedback; here are the other results.",
        "stats_today": "Today (since {since})",
        "stats_week": "Last 7 days (since {since})",
        "stats_counts": "{questions} questions, {answered} answered ({share}), from {users} people; {small_talk} small talk",
        "stats_times": "reply time p50 {reply_p50}, p95 {reply_p95} (finding the answer p50 {answer_p50}, p95 {answer_p95})",
        "stats_feedback": "feedback: 👍 {up}  👎 {down}",
        "stats_unanswered": "Most asked questions without an answer:",
        "stats_empty": "No questions logged yet.",
        "stats_off": "No question log is kept (setting question_log.keep).",
        "stats_private": "Please send /stats in your private chat with me.",
        "page_reading": "Got it: reading the page, which may take ten seconds or more…",
        "page_done": (
            "Added {name}: {count} articles found. {articles} articles and {paragraphs} paragraphs now, "
            "answerable right away."
        ),
        "page_article": "• 《{title}》 {paragraphs} paragraphs",
        "page_unsure": "Please check these {count} places (the reading was close):",
        "page_failed": "The page was not added and the articles are unchanged. Error:\n<pre>{error}</pre>",
    },
}


class Markup(str):
    """Text that is already Telegram HTML: ``phrase`` fills it in as it is, unescaped."""


@lru_cache(maxsize=None)
def _template(language: str, key: str) -> str:
    if language == "zh-Hant":
        return _to_traditional().convert(_PHRASES["zh"][key])
    return _PHRASES["en" if language == "en" else "zh"][key]


def phrase(language: str, key: str, **values: object) -> str:
    """The bot's phrase ``key`` in ``language``, with ``values`` escaped (unless ``Markup``) and filled in.

    >>> phrase("zh", "source_line", title="A<B", source="C&D")
    '《A&lt;B》（据C&amp;D）'
    >>> phrase("zh", "sources_line", number=1, name=Markup("<i>x</i>"), paragraphs=2)
    '1. <i>x</i> · 2 段'
    >>> phrase("en", "more_button"), phrase("zh-Hant", "more_button")
    ('More results', '其他結果')
    """
    template = _template(language, key)
    if not values:
        return template
    return template.format(
        **{name: value if isinstance(value, Markup) else html.escape(str(value)) for name, value in values.items()}
    )


@lru_cache(maxsize=4096)
def in_script(text: str, language: str) -> str:
    """``text`` in the script of ``language``: Traditional characters for zh-Hant, as it is otherwise;
    so that a line of a Traditional reply does not mix scripts (据河北省民政厅 -> 據河北省民政廳).

    >>> in_script("河北省民政厅", "zh-Hant"), in_script("河北省民政厅", "zh")
    ('河北省民政廳', '河北省民政厅')
    """
    if language != "zh-Hant" or not text:
        return text
    return _to_traditional().convert(text)


@lru_cache(maxsize=1)
def _to_traditional():
    import opencc  # only needed when someone writes in Traditional characters

    return opencc.OpenCC("s2t")


def user_language(language_code: str | None) -> str:
    """The interface language for a Telegram user's ``language_code`` when there is no question to go by.

    Chinese is the default: the articles are Chinese, so their readers are assumed to read it.

    >>> user_language("en-GB"), user_language("zh-hant"), user_language("zh-TW"), user_language(None)
    ('en', 'zh-Hant', 'zh-Hant', 'zh')
    """
    code = (language_code or "").lower()
    if code.startswith("en"):
        return "en"
    if code in ("zh-hant", "zh-tw", "zh-hk", "zh-mo"):
        return "zh-Hant"
    return "zh"
