"""What the bot serves from: one loaded corpus, its answerer, and what the bot derives from them.

A ``Library`` is immutable and replaced whole (on /reload or an upload), so a question in flight keeps
the one it started with and never sees half of a new corpus.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from itertools import islice, zip_longest
from typing import Callable, Sequence

from bot.runtime import build_in_child, load_answerer
from bot.settings import Settings
from bot.telegram.buttons import Sentence
from corpus.model import ArticleInfo, Paragraph
from corpus.stored import CorpusView
from retrieval.answer import Answerer
from retrieval.near_miss import question_places

EXAMPLE_COUNT = 3
_EXAMPLES_TRIED = 60  # candidate questions checked against the answerer at most, to bound start-up
# A counted quantity in a clause (120家, 600余项, 50万余人次) makes a question the corpus answers
# by replacing the number with 多少. Numbers before a date or time unit would make nonsense, so skip them.
_COUNTED = re.compile(r"\d+(?:\.\d+)?[万亿]?[余多]?(?=[\u4e00-\u9fff])(?![年月日号时点])")
_CLAUSE = re.compile(r"[^，,；;。！？!?：:]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_QUESTION_CHARS = (8, 40)  # a clause shorter says too little, a longer one is no longer a question
# Words standing for the article's place (全省 of 海南's article): the place goes in front of them.
_WHOLE_AREA = re.compile(r"全省|全市|全区|全县|全州|全盟|全自治区")
_THIS_AREA = re.compile(r"该省|该市|本省|本市|该区|本区|该县|本县")
_PLACE_SUFFIX = re.compile(r"(?<=..)(?:省|市|自治区|县|区)$")


@dataclass(frozen=True)
class Library:
    corpus: CorpusView
    answerer: Answerer
    examples: tuple[str, ...]  # questions drawn from the corpus that the answerer answers correctly
    seconds: float  # how long loading took

    @property
    def paragraph_count(self) -> int:
        return len(self.corpus)

    @property
    def article_count(self) -> int:
        return self.corpus.article_count

    @property
    def titles(self) -> Sequence[str]:
        """The articles' titles, read as they are asked for (a refusal names only the first few)."""
        return _Titles(self.corpus)

    @property
    def stamp(self) -> str:
        """A short fingerprint of the corpus, so a button made for another corpus is recognised."""
        return self.corpus.stamp

    def find(self, sentence: Sentence) -> tuple[ArticleInfo, Paragraph] | None:
        """The article and paragraph ``sentence`` points into, if it exists in this corpus."""
        if not 0 <= sentence.paragraph_id < len(self.corpus):
            return None
        article, paragraph = self.corpus[sentence.paragraph_id]
        return (article, paragraph) if 0 <= sentence.index < len(paragraph.sentences) else None


class _Titles(Sequence[str]):
    def __init__(self, corpus: CorpusView) -> None:
        self._corpus = corpus

    def __len__(self) -> int:
        return self._corpus.article_count

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._corpus.article(j).title for j in range(*i.indices(len(self)))]
        return self._corpus.article(i if i >= 0 else i + len(self)).title


def counted_questions(sentence: str) -> list[str]:
    """Questions a sentence answers, made from its clauses that count something.

    >>> counted_questions("整治开始后，全市已关闭违规网吧120家，罚款30万元，2023年完成。")
    ['全市已关闭违规网吧多少家？']
    """
    questions = []
    for clause in _CLAUSE.findall(sentence):
        clause = clause.strip()
        match = _COUNTED.search(clause)
        if not match or not _QUESTION_CHARS[0] <= len(clause) <= _QUESTION_CHARS[1]:
            continue
        question = clause[: match.start()] + "多少" + clause[match.end():]
        if len(_CJK.findall(question)) >= _QUESTION_CHARS[0]:
            questions.append(question + "？")
    return questions


def naming_its_subject(question: str, title: str, known: Callable[[str], bool]) -> str | None:
    """``question`` as it reads without its article: as it is when it names a place; else with the
    place of the article's title put in (before 全省 and the like, in place of 该省, or in front); None
    when the title names no place either, as nothing then says what the question is about.

    >>> known = lambda word: word in "海南省"
    >>> naming_its_subject("近年来全省各类组织开展公益活动多少项？", "海南省民政厅召开座谈会", known)
    '近年来海南全省各类组织开展公益活动多少项？'
    >>> naming_its_subject("落实多少小时值班制度？", "海南省民政厅召开座谈会", known)
    '海南落实多少小时值班制度？'
    >>> naming_its_subject("河北省已取缔多少家？", "其他", known), naming_its_subject("落实多少小时？", "养老机构守牢防线", known)
    ('河北省已取缔多少家？', None)
    """
    if question_places(question, known):
        return question
    places = question_places(title, known)
    if not places:
        return None
    place = _PLACE_SUFFIX.sub("", places[0])
    this = _THIS_AREA.search(question)
    if this:
        return question[: this.start()] + place + question[this.end():]
    whole = _WHOLE_AREA.search(question)
    if whole:
        return question[: whole.start()] + place + question[whole.start():]
    return place + question


def example_questions(corpus: CorpusView, answerer: Answerer, count: int = EXAMPLE_COUNT) -> tuple[str, ...]:
    """Up to ``count`` questions drawn from the corpus' own sentences, taken from different articles
    in turn, each naming its subject (the place its article is about) so that it reads on its own, and
    each kept only if the answerer quotes the very sentence it came from."""
    per_article: list[list[str]] = []
    tried = 0
    for number in range(corpus.article_count):
        good: list[str] = []
        article = corpus.article(number)
        paragraphs = corpus.article_paragraphs(number)
        text = article.title + "".join(p.text for p in paragraphs)
        for paragraph in paragraphs:
            for sentence in paragraph.sentences:
                for clause in counted_questions(sentence):
                    if tried >= _EXAMPLES_TRIED or len(good) >= count:
                        break
                    question = naming_its_subject(clause, article.title, lambda word: word in text)
                    if question is None:
                        continue
                    tried += 1
                    answer = answerer.ask(question)
                    if answer.answered and answer.quote == sentence:
                        good.append(question)
        per_article.append(good)
        if tried >= _EXAMPLES_TRIED or sum(1 for g in per_article if g) >= count:
            break
    in_turn = (question for turn in zip_longest(*per_article) for question in turn if question)
    return tuple(islice(in_turn, count))


def load_library(settings: Settings, quiet: bool = True, in_child: bool = True, previous: Library | None = None) -> Library:
    """Bring the settings' corpus index up to date (in a child process unless ``in_child`` is off),
    open it (blocking; raises corpus errors) and derive the bot's extras. With ``previous`` (the library
    being replaced, on /reload), its example questions are kept if the new corpus answers each of them
    with the same quote, instead of searching the corpus for new ones (up to 60 questions asked)."""
    started = time.perf_counter()
    if in_child:
        build_in_child(settings)
    loaded = load_answerer(settings, quiet=quiet, warm=True)
    examples = still_answered(previous, loaded.answerer) if previous is not None else ()
    if not examples:
        examples = example_questions(loaded.corpus, loaded.answerer)
    return Library(loaded.corpus, loaded.answerer, examples, time.perf_counter() - started)


def still_answered(previous: Library, answerer: Answerer) -> tuple[str, ...]:
    """The previous library's examples if ``answerer`` quotes the same sentence for every one of them,
    else none."""
    for question in previous.examples:
        before, after = previous.answerer.ask(question), answerer.ask(question)
        if not (after.answered and after.quote == before.quote):
            return ()
    return previous.examples
