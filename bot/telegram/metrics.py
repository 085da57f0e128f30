"""What the bot counts for Prometheus (``/metrics``), in a registry of its own.

Counters: questions asked, questions answered with a quote, updates received, messages sent, 429s,
errors (by kind); histograms: the time to find an answer and the time until the reply was sent.
prometheus_client keeps the exposition format right; its counters are thread-safe.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Seconds: an answer takes milliseconds; a reply can wait out rate limits and 429s for seconds.
_ANSWER_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
ERROR_KINDS = ("update", "send", "poll", "webhook", "question_log")


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.questions = Counter("qabot_questions", "Questions asked (messages and /ask)", registry=r)
        self.answered = Counter("qabot_answered", "Questions answered with a quoted sentence", registry=r)
        self.answer_seconds = Histogram("qabot_answer_seconds", "Seconds to find an answer", buckets=_ANSWER_BUCKETS, registry=r)
        self.reply_seconds = Histogram(
            "qabot_reply_seconds", "Seconds from a question's arrival until its reply was sent", buckets=_REPLY_BUCKETS, registry=r
        )
        self.updates = Counter("qabot_updates", "Updates received", ["via"], registry=r)
        self.sends = Counter("qabot_sends", "Messages sent to chats (successful send and edit calls)", ["method"], registry=r)
        self.rate_limited = Counter("qabot_rate_limited", "429 Too Many Requests answers from the Bot API", registry=r)
        self.errors = Counter("qabot_errors", "Errors by kind", ["kind"], registry=r)
        for kind in ERROR_KINDS:  # present from the start, at 0, so a rate() sees the first one
            self.errors.labels(kind)
        self.articles = Gauge("qabot_corpus_articles", "Articles served", registry=r)
        self.paragraphs = Gauge("qabot_corpus_paragraphs", "Paragraphs served", registry=r)

    def error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)
