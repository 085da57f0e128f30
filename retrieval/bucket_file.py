"""Read-only tables of string keys kept in one memory-mapped file, each split into buckets of about
``BUCKET_KEYS`` keys, each a small JSON object, read the first time one of their keys is looked up.

For big lookup tables a process needs only a little of, such as the English dictionary's 100,000
glosses when a question asks for ten of them: opening maps the file and reads a short header, a lookup
hashes the key to its bucket, and a process holds only the buckets it met. The values are whatever
JSON holds (numbers, strings, lists, objects with string keys). The file is a cache, rebuilt from its
source when its ``stamp`` differs.
"""

from __future__ import annotations

import json
import mmap
import os
import tempfile
import zlib
from array import array
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterable, Iterator

BUCKET_KEYS = 64
_MAGIC = b"QABJ"  # the buckets are JSON


def _bucket(key: str, count: int) -> int:
    return zlib.crc32(key.encode("utf-8", "surrogatepass")) % count


def write_tables(path: Path, stamp: Any, tables: dict[str, Mapping[str, Any]]) -> None:
    """Write ``tables`` (name -> mapping of str keys) into one file at ``path``, atomically."""
    header: dict[str, Any] = {"stamp": stamp, "tables": {}}
    blobs: list[bytes] = []
    for name, table in tables.items():
        count = max(1, len(table) // BUCKET_KEYS)
        buckets: list[dict[str, Any]] = [{} for _ in range(count)]
        for key, value in table.items():
            buckets[_bucket(key, count)][key] = value
        header["tables"][name] = {"first": len(blobs), "buckets": count, "keys": len(table)}
        blobs.extend(json.dumps(bucket, ensure_ascii=False, separators=(",", ":")).encode("utf-8") for bucket in buckets)
    offsets = array("Q", [0])
    for blob in blobs:
        offsets.append(offsets[-1] + len(blob))
    encoded = json.dumps(header, ensure_ascii=False).encode("utf-8")
    head = _MAGIC + len(encoded).to_bytes(4, "little") + encoded
    head += b"\0" * (-len(head) % 8)
    write_parts_atomically(path, [head, offsets.tobytes(), *blobs])


def write_parts_atomically(path: Path, parts: Iterable[bytes]) -> None:
    """Write ``parts`` one after another into ``path`` through a temporary file and a rename, so a
    reader mapping the file never meets half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                out.write(part)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def open_tables(path: Path, stamp: Any) -> dict[str, "BucketTable"] | None:
    """The tables in the file at ``path`` if it was written with ``stamp``; None if it is missing,
    unreadable or made from something else."""
    try:
        with open(path, "rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        if mapped[:4] != _MAGIC:
            return None
        header_end = 8 + int.from_bytes(mapped[4:8], "little")
        header = json.loads(mapped[8:header_end].decode("utf-8"))
    except (OSError, ValueError):
        return None
    if header.get("stamp") != stamp:
        return None
    total = sum(table["buckets"] for table in header["tables"].values())
    offsets_at = header_end + (-header_end % 8)
    offsets = memoryview(mapped)[offsets_at : offsets_at + 8 * (total + 1)].cast("Q")
    blobs_at = offsets_at + 8 * (total + 1)
    return {
        name: BucketTable(mapped, offsets, blobs_at, table["first"], table["buckets"], table["keys"])
        for name, table in header["tables"].items()
    }


class BucketTable(Mapping):
    """One table of the file: a read-only mapping whose buckets are read when first needed."""

    def __init__(self, mapped: mmap.mmap, offsets: memoryview, blobs_at: int, first: int, buckets: int, keys: int) -> None:
        self._mapped = mapped
        self._offsets = offsets
        self._blobs_at = blobs_at
        self._first = first
        self._count = buckets
        self._keys = keys
        self._loaded: dict[int, dict[str, Any]] = {}

    def _bucket(self, number: int) -> dict[str, Any]:
        found = self._loaded.get(number)
        if found is None:
            at = self._first + number
            start, end = self._blobs_at + self._offsets[at], self._blobs_at + self._offsets[at + 1]
            found = self._loaded[number] = json.loads(self._mapped[start:end].decode("utf-8"))
        return found

    def get(self, key: str, default: Any = None) -> Any:
        return self._bucket(_bucket(key, self._count)).get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._bucket(_bucket(key, self._count))[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self._bucket(_bucket(key, self._count))

    def __iter__(self) -> Iterator[str]:
        for number in range(self._count):
            yield from self._bucket(number)

    def __len__(self) -> int:
        return self._keys

    def buckets_loaded(self) -> int:
        return len(self._loaded)
