"""What a persisted index depends on, and what changed: fingerprints of the corpus files, and readable
differences between two ``params.json`` records for the rebuild log.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_fingerprint(path: Path, known: dict | None = None) -> dict:
    """Path, size, mtime and sha256 of one corpus file.

    The content hash is reused from ``known`` when size and mtime are unchanged, as git and make trust
    them: hashing a large archive on every start would cost seconds.
    """
    stat = path.stat()
    entry = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if known and known.get("size") == stat.st_size and known.get("mtime_ns") == stat.st_mtime_ns:
        entry["sha256"] = known["sha256"]
    else:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        entry["sha256"] = digest.hexdigest()
    return entry


def describe_changes(old: dict, new: dict) -> list[str]:
    """Human-readable differences between two ``params.json`` records, for the rebuild log.

    >>> describe_changes({"k1": 1.2, "tokenizer": {"version": 2}}, {"k1": 1.5, "tokenizer": {"version": 3}})
    ['k1 changed from 1.2 to 1.5', 'tokenizer changed (version 2 -> 3)']
    """
    changes = []
    for key in sorted(set(old) | set(new)):
        if key in ("corpus", "index", "token_cache"):
            continue
        before, after = old.get(key), new.get(key)
        if before != after and isinstance(before, dict) and isinstance(after, dict):
            parts = [f"{k} {before.get(k)} -> {after.get(k)}" for k in sorted(before.keys() | after.keys()) if before.get(k) != after.get(k)]
            changes.append(f"{key} changed ({', '.join(parts)})")
        elif before != after:
            changes.append(f"{key} changed from {before} to {after}")
    old_corpus, new_corpus = old.get("corpus", {}), new.get("corpus", {})
    old_files = {entry["path"]: entry for entry in old_corpus.get("files", [])}
    new_files = {entry["path"]: entry for entry in new_corpus.get("files", [])}
    for path in sorted(new_files.keys() - old_files.keys()):
        changes.append(f"new file {path}")
    for path in sorted(old_files.keys() - new_files.keys()):
        changes.append(f"file removed: {path}")
    for path in sorted(old_files.keys() & new_files.keys()):
        if old_files[path]["sha256"] != new_files[path]["sha256"]:
            changes.append(f"file changed: {path} ({old_files[path]['size']} -> {new_files[path]['size']} bytes)")
    for key in ("articles", "paragraphs", "documents"):
        if key in old_corpus and key in new_corpus and old_corpus[key] != new_corpus[key]:
            changes.append(f"corpus {key} changed from {old_corpus.get(key)} to {new_corpus.get(key)}")
    return changes
