"""`qabot` subcommands that answer questions: ``ask`` (one-shot or a stream on stdin), ``chat`` (a
terminal chat) and ``eval`` (accuracy on a question file, or on CMRC 2018 beside a naive baseline)."""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.cli.arguments import global_options, share, whole_number
from bot.cli.errors import CommandError
from bot.settings import Settings

if TYPE_CHECKING:  # the answer pipeline (and numpy) load only when a command needs them
    from retrieval.answer import Answer

_HIGHLIGHT_ON = "\033[1;33m"  # bold yellow
_COLOUR_OFF = "\033[0m"

# What ends `qabot chat` besides Ctrl-D; anything else, an empty line included, is not a way out.
CHAT_LEAVE = frozenset({"exit", "quit", "/quit"})
CHAT_HELP = """\
提问：直接输入问题，回答引用文章里最能回答它的那句话，答案用颜色（或【】）标出，并注明文章。
追问：下一句可以接着上一个问题问，例如「那陕西呢？」。
退出：exit、quit、/quit 或 Ctrl-D。/help 显示本说明。
Ask: type a question; the answer quotes the sentence of the articles that answers it best, the answer
marked in colour (or between 【】), and names the article. The next line may follow up (and Shaanxi?).
Leave: exit, quit, /quit or Ctrl-D. /help shows this."""
CHAT_HOW_TO_LEAVE = "输入 exit、quit 或 /quit，或按 Ctrl-D 退出。/ Type exit, quit or /quit, or press Ctrl-D, to leave."


def register(commands: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to the parser."""
    ask = commands.add_parser(
        "ask",
        parents=global_options(),
        help="answer questions given as arguments, or one per line on standard input",
        description="Answer each QUESTION by quoting the corpus sentence that answers it best. With no "
        "QUESTION, read one question per line from standard input; the index is loaded once.",
    )
    ask.add_argument("questions", nargs="*", metavar="QUESTION")
    ask.add_argument("--json", action="store_true", help="one JSON object per question, one per line")
    ask.add_argument("--top", type=whole_number, metavar="N", help="show up to N alternatives from other paragraphs")
    ask.set_defaults(handler=run_ask)

    chat = commands.add_parser(
        "chat",
        parents=global_options(),
        help="a terminal chat: ask questions, get quoted answers",
        description="Ask questions in the terminal (line editing and history); exit, quit, /quit or Ctrl-D "
        "ends, /help explains.",
    )
    chat.set_defaults(handler=run_chat)

    evaluate = commands.add_parser(
        "eval",
        parents=global_options(),
        help="score the answers on question files or reading-comprehension sets (SQuAD format)",
        description="Score the answer pipeline on each FILE. A .json FILE is a SQuAD v1.1/v2.0 set (CMRC "
        "2018 and DRCD as published): S@1 (the quote holds a gold answer), P@1 (the quote's paragraph is the "
        "gold one), P@5, the single-sentence ceiling, the share of quotes longer than one sentence, highlight "
        "coverage / precision (it overlaps a gold answer) / exact match and the refusal rate, beside a naive "
        "baseline (BM25 over jieba.lcut, the top paragraph's sentence sharing most tokens with the question) "
        "from the same run. Any other FILE is a YAML question file (q, must, article, hl, answered: false, "
        "lang; or follow-up pairs: first, then, must, article): right answers per style, and a highlights row "
        "where hl is given.",
    )
    evaluate.add_argument("files", nargs="+", metavar="FILE", help="a YAML question file or a SQuAD-format JSON file")
    evaluate.add_argument("--cmrc", action="store_true", help="read every FILE as a SQuAD-format set, whatever its name")
    evaluate.add_argument("--articles", action="store_true", help="keep each SQuAD article whole (one article, many paragraphs) instead of one article per context")
    evaluate.add_argument("--joined", action="store_true", help="make each SQuAD article one long paragraph (as long documents arrive)")
    evaluate.add_argument("--half", choices=("even", "odd"), help="only the questions of the even- or odd-numbered SQuAD articles (0-based; the corpus stays whole), or of question-file entries")
    evaluate.add_argument("--limit", type=whole_number, metavar="N", help="only the first N questions (after --half): a quick sample")
    evaluate.add_argument("--no-baseline", action="store_true", help="skip the naive baseline")
    evaluate.add_argument("--json", action="store_true", help="one JSON object per FILE, one per line")
    evaluate.add_argument("--min", action="append", default=[], type=_floor, metavar="STYLE=X", help="fail (exit 1) when a style's accuracy (or 'highlights') is below X; repeatable")
    evaluate.add_argument("--min-zh", type=share, metavar="X", help="fail (exit 1) when zh accuracy is below X")
    evaluate.add_argument("--min-zh-hant", type=share, metavar="X", help="fail when zh-Hant accuracy is below X")
    evaluate.add_argument("--min-en", type=share, metavar="X", help="fail when en accuracy is below X")
    evaluate.add_argument("--min-no-answer", type=share, metavar="X", help="fail when fewer no-answer questions are refused")
    evaluate.add_argument("--max-refused", type=whole_number, metavar="N", help="fail when more answerable questions are refused")
    evaluate.add_argument("--min-p1", type=share, metavar="X", help="SQuAD sets: fail when P@1 is below X")
    evaluate.add_argument("--min-s1", type=share, metavar="X", help="SQuAD sets: fail when S@1 is below X")
    evaluate.add_argument("--min-hl-precision", type=share, metavar="X", help="SQuAD sets: fail when highlight precision is below X")
    evaluate.add_argument("--max-multi", type=share, metavar="X", help="SQuAD sets: fail when more than X of the quotes run over several sentences")
    evaluate.add_argument("--show-failures", action="store_true", help="list the questions answered wrongly, and the right answers whose highlight is wrong or missing")
    evaluate.set_defaults(handler=run_eval)


def _floor(text: str) -> tuple[str, float]:
    """``STYLE=X`` for ``--min``: a style (or 'highlights') and a share between 0 and 1."""
    style, _, value = text.partition("=")
    if not style or not value:
        raise argparse.ArgumentTypeError(f"expected STYLE=X, e.g. zh-colloquial=0.85, got {text!r}")
    return style, share(value)


def _load(args: argparse.Namespace, settings: Settings, warm: bool = False):
    from bot.runtime import load_answerer

    return load_answerer(settings, quiet=args.quiet, warm=warm, settled=True).answerer


# --- ask -----------------------------------------------------------------------------------------


def answer_json(answer: Answer, top: int | None = None) -> str:
    """One line of ``qabot ask --json``: exactly the keys the interface promises."""
    alternatives = answer.alternatives if top is None else answer.alternatives[:top]
    line = {
        "question": answer.question,
        "answered": answer.answered,
        "quote": answer.quote,
        "highlight": answer.highlight,
        "title": answer.title,
        "source": answer.source,
        "article_id": answer.article_id,
        "paragraph": answer.paragraph,
        "score": answer.score,
        "alternatives": [
            {"quote": a.quote, "title": a.title, "article_id": a.article_id, "score": a.score} for a in alternatives
        ],
    }
    # A refusal says why; a near miss names the closest sentence, only related, under its own key.
    if not answer.answered:
        line["reason"] = answer.reason
    if answer.chitchat:
        line["chitchat"] = answer.chitchat
    if answer.related is not None:
        related = answer.related
        line["related"] = {"quote": related.quote, "title": related.title, "article_id": related.article_id, "score": related.score}
    return json.dumps(line, ensure_ascii=False)


def answer_text(answer: Answer, max_question_chars: int, colour: bool = False, top: int = 0) -> str:
    """A readable answer: the quote with the highlight marked, then the article; or why there is none.

    >>> from retrieval.answer import Answer
    >>> a = Answer("q", True, "zh", quote="已关停120家。", highlight="120家", title="浙江", source="文旅厅")
    >>> print(answer_text(a, 100))
    已关停【120家】。
    —— 《浙江》（据文旅厅）
    """
    from bot.texts import phrase

    language = answer.language
    if not answer.answered or answer.quote is None:
        if answer.reason == "empty":
            return _plain(phrase(language, "empty_question", example="…"))
        if answer.reason == "too_long":
            return _plain(phrase(language, "too_long", length=len(answer.question), limit=max_question_chars))
        if answer.reason == "chitchat":
            return _plain(phrase(language, f"chitchat_{answer.chitchat or 'greeting'}"))
        if answer.reason == "not_stated" and answer.related is not None:
            related = answer.related
            return "\n".join(
                [
                    _plain(phrase(language, "not_stated")),
                    _plain(phrase(language, "related_label")) + " " + related.quote,
                    "—— " + _source(related.title, None, language),
                ]
            )
        return _plain(phrase(language, "no_answer"))
    lines = [mark(answer.quote, answer.highlight, colour), "—— " + _source(answer.title, answer.source, language)]
    for alternative in answer.alternatives[:top]:
        lines.append(f"   · {alternative.quote}  {_source(alternative.title, None, language)}")
    return "\n".join(lines)


def mark(quote: str, highlight: str | None, colour: bool) -> str:
    """The quote with its highlight in colour (a terminal) or between 【】 (anything else).

    >>> mark("共120家。", "120家", False), mark("共120家。", None, False)
    ('共【120家】。', '共120家。')
    """
    if not highlight or highlight not in quote:
        return quote
    before, _, after = quote.partition(highlight)
    inside = f"{_HIGHLIGHT_ON}{highlight}{_COLOUR_OFF}" if colour else f"【{highlight}】"
    return before + inside + after


def _source(title: str | None, source: str | None, language: str) -> str:
    from bot.texts import phrase

    if source:
        return _plain(phrase(language, "source_line", title=title or "", source=source))
    return _plain(phrase(language, "title_line", title=title or ""))


def _plain(text: str) -> str:
    """A phrase written for Telegram HTML, as plain terminal text."""
    return html.unescape(text)


def run_ask(args: argparse.Namespace, settings: Settings) -> int:
    answerer = _load(args, settings)
    limit = settings.answer.max_question_chars
    if not args.questions and sys.stdin.isatty():
        # Otherwise a bare `qabot ask` at a terminal would wait in silence.
        print("qabot ask: type one question per line; Ctrl-D to finish.", file=sys.stderr, flush=True)
    questions = args.questions if args.questions else _stdin_lines(sys.stdin)
    for question in questions:
        after = None
        if args.json and not args.questions:
            question, after = json_question(question)
        answer = answerer.ask(question, after=after)
        if args.json:
            print(answer_json(answer, args.top), flush=not args.questions)
        else:
            print(answer_text(answer, limit, colour=False, top=args.top or 0))
            print()
    return 0


def json_question(line: str) -> tuple[str, str | None]:
    """A line of ``qabot ask --json`` input: a plain question, or ``{"question": ..., "after": ...}``
    for a follow-up asked after an earlier question.

    >>> json_question('{"question": "那浙江呢？", "after": "江苏关停了几家？"}'), json_question("几家？")
    (('那浙江呢？', '江苏关停了几家？'), ('几家？', None))
    """
    if line.lstrip().startswith("{"):
        try:
            data = json.loads(line)
        except ValueError:
            return line, None
        if isinstance(data, dict) and isinstance(data.get("question"), str):
            after = data.get("after")
            return data["question"], after if isinstance(after, str) else None
    return line, None


def _stdin_lines(stream: TextIO):
    """Each line of standard input without its line break; undecodable bytes are replaced, not fatal."""
    if hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="replace")
    for line in stream:
        yield line.rstrip("\r\n")


# --- chat ----------------------------------------------------------------------------------------


def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    # The dictionaries load in the background while the first question is typed.
    answerer = _load(args, settings, warm=True)
    history = _start_history(settings.index.cache_dir.parent / "chat-history")
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    limit = settings.answer.max_question_chars
    titles = "、".join(f"《{a.title}》" for a in answerer.corpus.articles()[:5])
    print(f"{answerer.corpus.article_count} 篇文章 / articles: {titles}")
    print("提问吧（exit、quit 或 Ctrl-D 退出，/help 看说明）/ Ask away (exit, quit or Ctrl-D leaves; /help explains).")
    previous = None
    try:
        while True:
            try:
                question = input("? ")
            except EOFError:
                print()
                break
            if not question.strip():
                continue
            if question.strip().lower() in CHAT_LEAVE:
                break
            started = time.perf_counter()
            # The previous question gives a follow-up (那陕西呢？) what it leaves out.
            answer = answerer.ask(question, after=previous)
            if answer.chitchat in ("help", "exit"):
                # The chat's own help, and how to leave: other ways of saying "exit" do not leave.
                print(CHAT_HELP if answer.chitchat == "help" else CHAT_HOW_TO_LEAVE)
                print()
                continue
            if answer.reason != "chitchat":
                previous = question
            print(answer_text(answer, limit, colour=colour, top=0))
            if args.verbose:
                print(f"({(time.perf_counter() - started) * 1000:.0f} ms, score {answer.score})")
            print()
    finally:
        _save_history(history)
    return 0


def _start_history(path: Path) -> Path | None:
    try:
        import readline
    except ImportError:  # no line editing on this platform; the chat still works
        return None
    try:
        readline.read_history_file(path)
    except OSError:
        pass
    readline.set_history_length(1000)
    return path


def _save_history(path: Path | None) -> None:
    if path is None:
        return
    import readline

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.write_history_file(path)
    except OSError:
        pass  # history is a convenience: never fail the chat over it


# --- eval ----------------------------------------------------------------------------------------


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    failed: list[str] = []
    for name in args.files:
        reading = args.cmrc or name.lower().endswith(".json")
        below = _eval_reading(args, settings, name) if reading else _eval_questions(args, settings, name)
        failed += [f"{name}: {line}" if len(args.files) > 1 else line for line in below]
    return _report_floors(failed)


def _eval_questions(args: argparse.Namespace, settings: Settings, name: str) -> list[str]:
    from retrieval.measure.evaluate import (
        QuestionFileError, answerable_refused, group_scores, highlight_right, load_questions, run_questions,
    )

    try:
        questions = load_questions(name)
    except QuestionFileError as error:
        raise CommandError(error) from None
    if args.half:
        questions = questions[("even", "odd").index(args.half) :: 2]
    questions = questions[: args.limit] if args.limit is not None else questions
    answerer = _load(args, settings)
    outcomes = run_questions(answerer, questions)
    scores = {s.group: s for s in group_scores(outcomes)}
    refused = answerable_refused(outcomes)
    if args.json:
        groups = {g: {"right": s.correct, "total": s.total} for g, s in scores.items()}
        print(json.dumps({"file": name, "groups": groups, "answerable_refused": refused}, ensure_ascii=False))
    else:
        if len(args.files) > 1:
            print(f"{name}:")
        print(f"{'group':<14} {'right':>5} {'of':>4} {'accuracy':>9}")
        for score in scores.values():
            print(f"{score.group:<14} {score.correct:>5} {score.total:>4} {score.accuracy:>9.3f}")
        print(f"answerable questions refused: {refused}")
    if args.show_failures:
        for outcome in outcomes:
            question, answer = outcome.question, outcome.answer
            asked = f"{question.after} / {question.q}" if question.after else question.q
            if not outcome.correct:
                print(f"WRONG [{question.group}] {asked} -> {answer.quote or answer.reason}")
            elif question.hl is not None and not highlight_right(question, answer):
                print(f"HIGHLIGHT [{question.group}] {asked} -> {answer.highlight or 'none'}, wanted {question.hl}")
    floors = {"zh": args.min_zh, "zh-Hant": args.min_zh_hant, "en": args.min_en, "no-answer": args.min_no_answer}
    floors.update(dict(args.min))
    failed = [
        f"{group} {scores[group].accuracy if group in scores else 0:.3f} < {floor}"
        for group, floor in floors.items()
        if floor is not None and (group not in scores or scores[group].accuracy < floor)
    ]
    if args.max_refused is not None and refused > args.max_refused:
        failed.append(f"{refused} answerable refused > {args.max_refused}")
    return failed


def _eval_reading(args: argparse.Namespace, settings: Settings, name: str) -> list[str]:
    from retrieval.measure.reading import ReadingSetError, evaluate_reading_set, failure_lines, load_reading_set

    try:
        reading = load_reading_set(name, whole_articles=args.articles, joined=args.joined).half(args.half).first(args.limit)
    except ReadingSetError as error:
        raise CommandError(error) from None
    report = evaluate_reading_set(reading, settings.answer, baseline=not args.no_baseline, keep_failures=args.show_failures)
    print(json.dumps(report.as_json(), ensure_ascii=False) if args.json else report.as_text())
    if args.show_failures:
        print("\n".join(failure_lines(report.systems[0])))
    ours = report.systems[0].figures()
    checks = (
        ("P@1", args.min_p1, False), ("S@1", args.min_s1, False),
        ("highlight precision", args.min_hl_precision, False), ("multi-sentence quotes", args.max_multi, True),
    )
    failed = []
    for key, floor, is_ceiling in checks:
        value = ours.get(key)
        if floor is None or value is None:
            continue
        if (value > floor) if is_ceiling else (value < floor):
            failed.append(f"{key} {value:.3f} {'>' if is_ceiling else '<'} {floor}")
    return failed


def _report_floors(failed: list[str]) -> int:
    for line in failed:
        print(f"below floor: {line}", file=sys.stderr)
    return 1 if failed else 0
