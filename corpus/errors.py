"""The one error the corpus package raises for bad input: it names the file, and the line when known."""

from __future__ import annotations

from pathlib import Path


class CorpusError(Exception):
    """A file (or a corpus) that cannot be used. ``str()`` is ``FILE:LINE: message`` or ``FILE: message``."""

    def __init__(self, file: str | Path | None, message: str, line: int | None = None) -> None:
        self.file = str(file) if file is not None else None
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"
