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
    paragraph_weight: float  # weight of the paragraph's relative BM25 score in a sentence's score
    paragraph_weight_english: float  # the same for English questions, ranked through translations
    subject_discount: float  # 0..1: how much less a question word counts when the title holds it
    subject_credit: float  # share of the subject words' weight every sentence of the article is credited
    proximity_weight: float  # weight of the question words found close together in a sentence
    proximity_window: int  # characters within which question words count as close together
    char_weight: float  # weight of the share of the question's characters a sentence holds
    # Bonus for a sentence holding the kind of answer the question asks for, per question type.
    cue_how_many: float
    cue_who: float
    cue_when: float
    cue_where: float
    min_coverage: float  # refuse when the best paragraph holds less of the question's weight than this
    min_coverage_english: float  # the same for English questions, whose words arrive via translation
    english_translations: int  # Chinese translations tried per English word
    # Questions as people type them (README "Asking questions"); each can be switched off alone.
    chitchat: bool  # greetings, thanks and commands typed as text get a friendly reply, never a quote
    colloquial: bool  # drop fillers and colloquial question words (啥, 咋搞, 几家) from a question's words
    typo_correction: bool  # replace unknown characters by the corpus word that sounds the same
    shared_characters: bool  # an unknown word also matches corpus words sharing its characters
    abbreviations: bool  # an unknown short word also matches the corpus words it abbreviates
    mixed_english: bool  # English words inside a Chinese question are translated
    english_word_forms: bool  # English compounds split (crackdown), nouns read as verbs (implementation)
    near_miss: bool  # refuse, naming the closest sentence as only related, when the answer is not there
    followups: bool  # a question that only makes sense after the previous one borrows from it

    @property
    def cue_weights(self) -> dict[str, float]:
        return {"how_many": self.cue_how_many, "who": self.cue_who, "when": self.cue_when, "where": self.cue_where}
