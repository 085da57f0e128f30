"""The index build's progress bar closes at 100%, also when the consumer stops right after the last
paragraph (as ``zip`` does), which used to leave it at 17/18."""

from __future__ import annotations

import pytest
import tqdm

from retrieval.tokenize import Tokenizer
from retrieval.tokenizing import tokenize_texts


@pytest.mark.parametrize("workers", [1, 2])
def test_the_tokenizing_bar_reaches_its_total(workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[tuple[int, int]] = []

    class Bar:
        def __init__(self, total: int, **options: object) -> None:
            self.total, self.n = total, 0

        def update(self, n: int = 1) -> None:
            self.n += n

        def __enter__(self) -> "Bar":
            return self

        def __exit__(self, *exc: object) -> None:
            closed.append((self.n, self.total))

    monkeypatch.setattr(tqdm, "tqdm", Bar)
    texts = [f"第{n}段：河北取缔了非法社会组织。" for n in range(2100)]  # 2,000 or more go to the pool
    tokens = tokenize_texts(texts, Tokenizer(), workers)
    assert len(list(zip(range(len(texts)), tokens))) == len(texts)  # zip stops without asking for more
    tokens.close()
    assert closed == [(len(texts), len(texts))]
