"""The bench's token cache, filled from the words of each unique sentence instead of by jieba on every
document.

A cold build of the bench's 1M corpus tokenizes 3.29 million documents (paragraphs and their passages)
with jieba: about 1.5 hours of two cores. But the generated corpus is made of a few thousand distinct
sentences, each of them repeated hundreds of times. jieba cuts a text block by block, a block being a
run of its block characters (``jieba.re_han_default``: Chinese, Latin letters, digits and a few
marks); every other character is a piece of its own, and only ``\\r\\n`` is a piece of two. So where
the character before a joint between two sentences or the one after it is not a block character (a
sentence's closing 。 is not), no block spans the joint, and the document's pieces are its sentences'
pieces one after the other. Cleaning pieces into words is done piece by piece, and the index terms
are made from the words (``Tokenizer.index_terms``), bigrams across sentences included. A paragraph's
stored cuts are its texts' cuts one by one (``sentence_cuts``), so they compose without any joint.

Each document is checked: its normalised text must be its parts' normalised texts joined (OpenCC
converts phrases, NFKC composes marks), and no joint may join two block characters (or ``\\r`` and
``\\n``). A document that fails is tokenized whole, by the tokenizer. ``tests/unit/measure/
test_bench_tokens.py`` compares the composed tokens and cuts with the tokenizer's.

The token cache numbers terms in the order they are first stored, and the index keeps those numbers
(its columns are in their order), so the cache is filled in the very batches a build fills it
(``retrieval.store``): the files in the build's order, each file's paragraphs then its passages,
gathered until ``_TOKENIZE_BATCH`` texts and stored ``_PUT_BATCH`` at a time. An index built from this
cache is then byte for byte the index built from a cache jieba filled.

A bench-only path: the product's build and the cache's format are unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from corpus import loader
from corpus.loader import read_articles
from corpus.model import Article, Paragraph
from retrieval import store as store_module
from retrieval.config import AnswerConfig
from retrieval.documents import indexed_text, passage_text, passage_windows
from retrieval.jieba_dictionary import import_jieba
from retrieval.sentence_cuts import cut_texts, cuts_key, encode
from retrieval.token_cache import content_key
from retrieval.tokenize import Tokenizer, cleaned_words, cut, normalise

_CUTS_BATCH = 20_000  # paragraphs' cuts gathered before the cache is asked which it lacks


@dataclass(frozen=True)
class Filled:
    """What filling the token cache did."""

    sentences: int  # distinct sentences cut by jieba, once each
    others: int  # distinct titles, headings and subjects cut, once each
    composed: int  # documents whose tokens were composed from their sentences' words
    whole: int  # documents tokenized whole: a joint could have joined two blocks
    cuts: int  # paragraphs whose cuts were composed
    seconds: float

    def describe(self) -> str:
        return (f"token cache filled from {self.sentences:,} unique sentences and {self.others:,} titles: "
                f"{self.composed:,} documents composed, {self.whole:,} tokenized whole, "
                f"{self.cuts:,} paragraphs' cuts, in {self.seconds:.0f} s")


class Composer:
    """Tokens and cuts of a generated corpus' documents from each distinct text's pieces, cut once."""

    def __init__(self, tokenizer: Tokenizer, config: AnswerConfig) -> None:
        self.tokenizer = tokenizer
        self.config = config
        self._pieces: dict[str, list[str]] = {}
        self._words: dict[str, list[str]] = {}
        self._normalised: dict[str, str] = {}
        self._block = import_jieba().re_han_default
        self.sentences: set[str] = set()  # the distinct sentences met
        self.composed = self.whole = 0

    def pieces(self, text: str) -> list[str]:
        """``cut(text)``, cut once per distinct text."""
        found = self._pieces.get(text)
        if found is None:
            found = self._pieces[text] = cut(text)
        return found

    def words(self, text: str) -> list[str]:
        """``Tokenizer.words(text)``, from the pieces cut once."""
        found = self._words.get(text)
        if found is None:
            found = self._words[text] = cleaned_words(self.pieces(text))
        return found

    def normalised(self, text: str) -> str:
        found = self._normalised.get(text)
        if found is None:
            found = self._normalised[text] = normalise(text)
        return found

    def tokens(self, text: str, head: Sequence[str], sentences: Sequence[str]) -> list[str]:
        """The tokens of the document ``text``, which is its ``head`` parts (title, heading) and then
        the ``sentences`` joined, the parts apart by a line break: composed from the parts' words, or,
        where a joint could join two blocks, the tokenizer's."""
        words = self._composed_words(text, head, sentences)
        if words is None:
            self.whole += 1
            return self.tokenizer.tokens(text)
        self.composed += 1
        return self.tokenizer.index_terms(words)

    def _composed_words(self, text: str, head: Sequence[str], sentences: Sequence[str]) -> list[str] | None:
        """The words of ``text`` as its parts' words one after the other; None where they may not be."""
        self.sentences.update(sentences)
        normalised = [self.normalised(s) for s in sentences]
        parts = [self.normalised(h) for h in head] + ["".join(normalised)]
        if normalise(text) != "\n".join(parts):
            return None
        if any(left.endswith("\r") for left in parts[:-1]):  # a line break follows: only \r\n is one piece
            return None
        for left, right in zip(normalised, normalised[1:]):
            if (self._block.match(left[-1]) and self._block.match(right[0])) or (left[-1] == "\r" and right[0] == "\n"):
                return None
        words: list[str] = []
        for part in (*head, *sentences):
            words += self.words(part)
        return words

    def cuts(self, texts: Sequence[str]) -> str | None:
        """``sentence_cuts.paragraph_cuts(texts)``: each text's piece lengths, from its pieces cut once."""
        return encode([[len(piece) for piece in self.pieces(text)] for text in texts])

    def documents(self, article: Article, paragraph: Paragraph) -> tuple[tuple[str, list[str]], list[tuple[str, list[str]]]]:
        """The paragraph's document and its passages' documents, as (text, parts) where parts are the
        head parts then the sentences, as ``tokens`` takes them."""
        head = [part for part in (article.title, paragraph.heading) if part] if self.config.index_titles else []
        sentences = list(paragraph.sentences)
        whole = (indexed_text(article, paragraph, self.config), head, sentences)
        if "".join(sentences) != paragraph.text:  # the loader's sentences always join to the text; if not, cut it whole
            whole = (whole[0], head, [paragraph.text])
        passages = []
        for first, last in passage_windows(len(sentences), self.config.passage_sentences, self.config.passage_step):
            passages.append((passage_text(article, paragraph, first, last, self.config), head, sentences[first : last + 1]))
        return whole, passages

    @property
    def others(self) -> int:
        return len(self._pieces.keys() - self.sentences)


def fill_token_cache(store, corpus_dir: Path, max_file_bytes: int) -> Filled:
    """Fill ``store``'s token cache with the tokens and cuts a build of ``corpus_dir`` would make, in the
    order the build would store them, composing them from each distinct text's pieces."""
    started = time.perf_counter()
    cache = store.token_cache
    composer = Composer(store.tokenizer, store.config)
    pending: dict[bytes, tuple[str, list[str], list[str]]] = {}
    cuts_wanted: dict[bytes, tuple[str, ...]] = {}
    cuts_done = 0

    def store_tokens() -> None:
        """As ``_Build._tokenize``: the pending texts the cache lacks, in order, stored in batches."""
        missing = cache.missing(pending)
        batch: list[tuple[bytes, list[str]]] = []
        for key, (text, head, sentences) in pending.items():
            if key in missing:
                batch.append((key, composer.tokens(text, head, sentences)))
                if len(batch) >= store_module._PUT_BATCH:
                    cache.put(batch)
                    batch.clear()
        cache.put(batch)
        pending.clear()

    def store_cuts() -> int:
        found = cache.cuts_of(cuts_wanted)
        missing = [key for key in cuts_wanted if key not in found]
        cache.put_cuts([(key, composer.cuts(cuts_wanted[key])) for key in missing])
        cuts_wanted.clear()
        return len(missing)

    for path in loader.article_files(corpus_dir):
        articles, _ = read_articles(path.resolve(), corpus_dir, max_file_bytes)
        paragraphs, passages = [], []
        for article, _ in articles:
            for paragraph in article.paragraphs:
                texts = cut_texts(article.title, paragraph)
                cuts_wanted[cuts_key(texts)] = texts
                whole, windows = composer.documents(article, paragraph)
                paragraphs.append(whole)
                passages += windows
        for text, head, sentences in (*paragraphs, *passages):
            pending[content_key(text)] = (text, head, sentences)
        if len(cuts_wanted) >= _CUTS_BATCH:
            cuts_done += store_cuts()
        if len(pending) >= store_module._TOKENIZE_BATCH:
            store_tokens()
    cuts_done += store_cuts()
    store_tokens()
    return Filled(len(composer.sentences), composer.others, composer.composed, composer.whole, cuts_done,
                  time.perf_counter() - started)
