"""Strings looked up by id and ids looked up by string, read from files without building a dict.

A million-paragraph index holds millions of terms; reading them into a Python dict costs seconds and
hundreds of MB at every start. Here the strings are one UTF-8 blob with an offset array, and a
hash table of ids (open addressing, linear probing, CRC-32 of the UTF-8 bytes) finds a string's id
with one or two probes. All three are plain files, memory-mapped: opening costs nothing, and a lookup
is about a microsecond. No numpy, so the answer pipeline can use them directly.
"""

from __future__ import annotations

import mmap
import os
import zlib
from array import array
from itertools import accumulate
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

EMPTY = -1


def _utf8(text: str) -> bytes:
    # A question may hold lone surrogates; they simply match no stored string.
    return text.encode("utf-8", "surrogatepass")


def table_size(count: int) -> int:
    """Slots for ``count`` strings: a power of two at least 1.5 times as many, so probes stay short.

    >>> table_size(0), table_size(3), table_size(1000)
    (2, 8, 2048)
    """
    size = 2
    while size < count * 1.5:
        size *= 2
    return size


def build_slots(strings: Sequence[bytes]) -> array:
    """The hash table of ``strings`` (UTF-8, distinct): slot -> id, ``EMPTY`` where free."""
    size = table_size(len(strings))
    mask = size - 1
    slots = array("i", [EMPTY]) * size
    for i, key in enumerate(strings):
        h = zlib.crc32(key) & mask
        while slots[h] != EMPTY:
            h = (h + 1) & mask
        slots[h] = i
    return slots


def write_strings(folder: Path, name: str, strings: Iterable[str]) -> int:
    """Write ``strings`` (distinct) as ``<name>.bin`` (UTF-8 blob), ``<name>.offsets`` (int64) and
    ``<name>.slots`` (int32 hash table); returns how many."""
    encoded = [_utf8(s) for s in strings]
    offsets = array("q", [0])
    offsets.extend(accumulate(map(len, encoded)))
    (folder / f"{name}.bin").write_bytes(b"".join(encoded))
    with open(folder / f"{name}.offsets", "wb") as out:
        offsets.tofile(out)
    with open(folder / f"{name}.slots", "wb") as out:
        build_slots(encoded).tofile(out)
    return len(encoded)


def _mapped(path: Path) -> memoryview:
    """The file's bytes, memory-mapped read-only (an empty file as empty bytes: mmap refuses those)."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return memoryview(b"")
        return memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))


class StringTable(Mapping[str, int]):
    """Read-only strings by id (``table.string(i)``, ``table.strings``) and ids by string
    (``table[s]``, ``s in table``, ``table.get(s)``), over the three files ``write_strings`` wrote."""

    def __init__(self, blob: memoryview | bytes, offsets: memoryview, slots: memoryview) -> None:
        self._blob = blob
        self._offsets = offsets
        self._slots = slots
        self._mask = len(slots) - 1
        self._count = len(offsets) - 1

    @classmethod
    def open(cls, folder: Path, name: str) -> "StringTable":
        return cls(_mapped(folder / f"{name}.bin"), _mapped(folder / f"{name}.offsets").cast("q"), _mapped(folder / f"{name}.slots").cast("i"))

    @classmethod
    def of(cls, strings: Sequence[str]) -> "StringTable":
        """A table held in memory (small corpora, tests)."""
        encoded = [_utf8(s) for s in strings]
        offsets = array("q", [0])
        for key in encoded:
            offsets.append(offsets[-1] + len(key))
        return cls(b"".join(encoded), memoryview(offsets), memoryview(build_slots(encoded)))

    def __len__(self) -> int:
        return self._count

    def string(self, i: int) -> str:
        if not 0 <= i < self._count:
            raise IndexError(i)
        return bytes(self._blob[self._offsets[i] : self._offsets[i + 1]]).decode("utf-8", "surrogatepass")

    def get(self, text: str, default=None):  # type: ignore[override]
        if not isinstance(text, str):
            return default
        key = _utf8(text)
        mask, slots, offsets, blob = self._mask, self._slots, self._offsets, self._blob
        h = zlib.crc32(key) & mask
        while True:
            i = slots[h]
            if i == EMPTY:
                return default
            if blob[offsets[i] : offsets[i + 1]] == key:
                return i
            h = (h + 1) & mask

    def __getitem__(self, text):  # type: ignore[override]
        found = self.get(text)
        if found is None:
            raise KeyError(text)
        return found

    def __contains__(self, text: object) -> bool:
        return self.get(text) is not None  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return (self.string(i) for i in range(self._count))

    def decoded(self) -> list[str]:
        """Every string, in id order, decoded at once (an index update reuses the previous build's)."""
        blob, offsets = bytes(self._blob), self._offsets.tolist()
        return [blob[a:b].decode("utf-8", "surrogatepass") for a, b in zip(offsets, offsets[1:])]

    @property
    def strings(self) -> "StringList":
        """The strings in id order, as a sequence read on demand."""
        return StringList(self)


class StringList(Sequence[str]):
    """A ``StringTable``'s strings in id order: ``terms[i]``, ``len(terms)``, slices as lists."""

    def __init__(self, table: StringTable) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._table.string(j) for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        return self._table.string(i)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(other) == len(self) and all(a == b for a, b in zip(self, other))
