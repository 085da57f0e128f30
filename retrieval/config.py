"""The answer pipeline's options, in one immutable object.

The values live in the project's settings file (``settings.yaml``, section ``answer``), each with a note
on how it was chosen; this class only names and types them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerConfig:
    k1: float
    b: float
    epsilon: float
    top_paragraphs: int  # paragraphs whose sentences compete for the quote
    max_alternatives: int  # answers from other paragraphs offered beside the best one
    max_question_chars: int  # longer questions are refused politely, not searched
    index_titles: bool  # index a paragraph with its article's title and its heading in front
    passage_sentences: int  # a longer paragraph is also indexed as passages of this many sentences (0: off)
    passage_step: int  # sentences from one passage's start to the next one's
    sentence_ranker: str  # the ranker's weights: a file in retrieval/data, or a path
    ranker_off: tuple[str, ...]  # features switched off (weight 0), to measure what each adds
    max_quote_sentences: int  # a quote runs over at most this many adjacent sentences (1: always one)
    run_min_share: float  # each sentence of a longer quote holds this share of the question's evidence alone
    highlight_gate: bool  # show a highlight only when the ranker file's gate finds it likely right
    highlight_gate_english: bool  # ... for English questions too
    english_paragraph_scale: float  # paragraph features count this much for English questions
    subject_discount: float  # 0..1: how much less a question word counts when the title holds it
    proximity_window: int  # characters within which question words count as close together
    min_coverage: float  # refuse when the best paragraph holds less of the question's weight than this
    min_coverage_english: float  # the same for English questions, whose words arrive via translation
    english_name_weight: float  # in that floor, an English name (Hebei), or a word no article holds a reading of, weighs this many times another
    common_words: bool  # the floor counts a word common in Chinese at large (可以, 已经) for less
    common_word_idf: tuple[float, ...]  # (low, high, least): general idf at or below low keeps least of a word's weight, at or above high all
    english_translations: int  # Chinese translations tried per English word
    # Questions as people type them (README "Asking questions"); each can be switched off alone.
    chitchat: bool  # greetings, thanks and commands typed as text get a friendly reply, never a quote
    colloquial: bool  # drop fillers and colloquial question words (啥, 咋搞, 几家) from a question's words
    typo_correction: bool  # replace unknown characters by the corpus word that sounds the same
    shared_characters: bool  # an unknown word also matches corpus words sharing its characters
    abbreviations: bool  # an unknown short word also matches the corpus words it abbreviates
    mixed_english: bool  # English words inside a Chinese question are translated
    english_word_forms: bool  # English compounds split (crackdown), nouns read as verbs (implementation)
    english_names_first: bool  # an English question's sentences naming its names in a clause about it come first
    english_hyphenated: bool  # a hyphenated compound (on-call) is one phrase
    english_opening_phrases: bool  # a phrase opening with a stopword ("this year": 今年) is read where the corpus holds it
    english_how_words: bool  # the word "how" asks by (how far, how long) is no content word
    english_shared_heads: bool  # the head two likely readings share (民政 of 民政局, 民政厅) is a reading too
    counted_noun: bool  # a how-many question's quote is the best paragraph's sentence counting the noun it asks about
    near_miss: bool  # refuse, naming the closest sentence as only related, when the answer is not there
    near_miss_confidence: bool  # ... only when the refusal is likely right (Answerer._near_miss_likely)
    near_miss_max_coverage: float  # a missing kind of answer refuses only below this paragraph coverage
    place_articles: bool  # a question naming a place its best sentence's article lacks is answered from an article naming it
    followups: bool  # a question that only makes sense after the previous one borrows from it
