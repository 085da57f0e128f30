"""Building an index on disk in bounded memory, from scratch or from the previous build.

Documents arrive in chunks of token-id arrays (ids of the token cache's vocabulary), in ascending
document order. Each chunk is inverted into a run, (term, document, frequency) sorted by term then
document, written to a temporary file. At the end the runs are merged term range by term range, with
the postings of a previous build for the documents that did not change (their ids renumbered), and
each range is encoded (``retrieval.postings``) and appended to the index files. Memory holds one chunk
or one term range at a time, plus a few numbers per document and per term, whatever the corpus size.

An update mostly inserts or removes a few documents among many. A previous build's column that neither
gains nor loses a posting is then carried over with its encoding (``_carry``): renumbering only widens
the gap or two that span the inserted documents, and where each still fits its packed value it is
rewritten in place, which is what encoding the column again would give. Removed documents narrow
gaps instead; such a column is carried where a build from scratch would still choose its packing. At 100k paragraphs with an
article appended to the first file, 82% of the postings (99% of the columns) are carried; only the columns of the new
article's terms are encoded again. Every column is still decoded, for its largest BM25 factor.

Terms are numbered in the order of their token-cache ids, so a previous build's terms and a new
chunk's meet by integer comparison. The idf of every term needs every document frequency, and its
epsilon floor the mean idf in the order rank-bm25 first meets the terms (the first document holding
each term, then the position in it); both are settled after the merge, and the columns keep, instead
of the largest weight, the largest weight divided by the idf.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from retrieval.index import (
    ARRAYS,
    TERMS,
    BM25Params,
    document_lengths,
    index_meta,
    invert,
    okapi_idf,
    vocabulary_arrays,
)
from retrieval.postings import (
    GAPS_TAIL,
    OFFSETS,
    STREAM_TYPES,
    STREAMS,
    encode_columns,
    length_norms,
    keeps_packing,
    offsets_of,
    packing_needs,
    rewritten_gaps,
    saturations,
)
from retrieval.term_table import write_strings

log = logging.getLogger(__name__)

# The build's peak memory is set by these two, not by the corpus: at 10k paragraphs it peaked at 537 MB
# with 20,000 documents and 3 million postings, 327 MB with 1 million postings, 253 MB with both
# halved or less (and took no longer).
CHUNK_DOCUMENTS = 10_000  # documents inverted at a time
MERGE_POSTINGS = 1_000_000  # postings read from the runs and the previous build at a time
# Postings merged, decoded and encoded at a time: their arrays then stay in the processor's caches, and
# encoding 5 million postings took 0.37 s CPU in pieces of 100,000 against 0.75 s in pieces of a
# million. (Reading ranges this small would read every run ten times as often.)
CODING_POSTINGS = 100_000


@dataclass(frozen=True)
class Previous:
    """A previous build to take unchanged documents from: its open index and, for each of its
    documents, the new id (-1 for a document that is gone)."""

    index: object  # BM25Index, built over the same token cache
    new_ids: np.ndarray  # int64, one per old document
    folder: Path | None = None  # where it was loaded from (its term table files are copied if unchanged)


@dataclass
class _Run:
    """One inverted chunk on disk. Its postings are read a term range at a time with plain reads, not
    memory-mapped: pages of a mapped file count in the process' resident memory once touched, and a
    merge touches every run whole (some 750 MB at 100k paragraphs). Its files stay open while the
    merge reads them (``close``): the merge reads every run once per range, and ranges are small."""

    stem: Path
    first_terms: np.ndarray  # the distinct terms of the run (token-cache ids, ascending)
    first_doc: np.ndarray  # and for each, the first document holding it
    first_pos: np.ndarray  # and its first position there
    starts: np.ndarray  # and where its postings start (one more: the run's posting count)
    files: dict = field(default_factory=dict)  # open .npy files by name: (handle, data offset, dtype)

    def postings(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(term, document, frequency) of the terms in [lo, hi), as int64; None if it holds none."""
        a, b = np.searchsorted(self.first_terms, [lo, hi])
        s, e = int(self.starts[a]), int(self.starts[b])
        if e <= s:
            return None
        return tuple(self._read(name, s, e) for name in ("terms", "docs", "tf"))

    def _read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Items [start, stop) of one of the run's one-dimensional ``.npy`` files, as int64."""
        if name not in self.files:
            handle = open(f"{self.stem}-{name}.npy", "rb")
            major, _ = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            _, _, dtype = read_header(handle)
            self.files[name] = (handle, handle.tell(), dtype)
        handle, offset, dtype = self.files[name]
        handle.seek(offset + start * dtype.itemsize)
        return np.fromfile(handle, dtype=dtype, count=stop - start).astype(np.int64)

    def close(self) -> None:
        for handle, _, _ in self.files.values():
            handle.close()
        self.files.clear()


class _Npy:
    """A ``.npy`` file written by appending; its header gets the final length on close."""

    HEADER = 128

    def __init__(self, path: Path, dtype) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.count = 0
        self.handle = open(path, "wb")
        self.handle.write(b"\0" * self.HEADER)

    def append(self, values: np.ndarray) -> None:
        data = np.ascontiguousarray(values, dtype=self.dtype)
        self.handle.write(data.tobytes())
        self.count += len(data)

    def close(self) -> None:
        header = "{'descr': %r, 'fortran_order': False, 'shape': (%d,), }" % (self.dtype.str, self.count)
        prefix = b"\x93NUMPY\x01\x00"
        body = header.ljust(self.HEADER - len(prefix) - 2 - 1) + "\n"
        self.handle.seek(0)
        self.handle.write(prefix + len(body).to_bytes(2, "little") + body.encode("latin1"))
        self.handle.close()


@dataclass
class _TermTables:
    """Per-term values gathered range by range."""

    source_ids: list[np.ndarray] = field(default_factory=list)
    df: list[np.ndarray] = field(default_factory=list)
    width: list[np.ndarray] = field(default_factory=list)
    max_factor: list[np.ndarray] = field(default_factory=list)
    first_doc: list[np.ndarray] = field(default_factory=list)
    first_pos: list[np.ndarray] = field(default_factory=list)
    sizes: dict[str, list[np.ndarray]] = field(default_factory=lambda: {name: [] for name in OFFSETS})
    terms: int = 0  # terms encoded so far


def previous_build(index, old_paragraphs: int, new_paragraphs: int, paragraph_pairs, passage_pairs, folder: Path | None = None) -> Previous:
    """A previous build whose documents move as the (old id, new id) pairs say: paragraphs by their
    ids, passages by their numbers after the paragraphs (old and new paragraph counts given)."""
    new_ids = np.full(index.doc_count, -1, dtype=np.int64)
    for pairs, old_base, new_base in ((paragraph_pairs, 0, 0), (passage_pairs, old_paragraphs, new_paragraphs)):
        if len(pairs):
            moved = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
            new_ids[old_base + moved[:, 0]] = new_base + moved[:, 1]
    return Previous(index, new_ids, folder)


def build_index(
    folder: Path,
    chunks: Iterable[tuple[np.ndarray, Sequence[bytes]]],
    doc_count: int,
    vocabulary: Callable[[list[int]], list[str]],
    params: BM25Params,
    previous: Previous | None = None,
    tokens_of: Callable[[int], bytes] | None = None,
) -> dict:
    """Write the index of ``doc_count`` documents into ``folder``; returns its metadata for ``load``.

    ``chunks`` yields (document ids, ascending, and their token-id arrays as native int32 bytes) for
    every document not taken from ``previous``, in ascending id order. ``vocabulary(ids)`` gives the
    strings of token-cache ids; ``tokens_of(doc)`` the token ids of a document taken from ``previous``
    (needed only where a term's first document changed)."""
    lengths = np.full(doc_count, -1, dtype=np.int64)
    if previous is not None:
        old_lengths = np.asarray(previous.index.arrays["doc_lengths"], dtype=np.int64)
        kept = previous.new_ids >= 0
        lengths[previous.new_ids[kept]] = old_lengths[kept]
    with tempfile.TemporaryDirectory(prefix="runs-", dir=folder) as temporary:
        runs = list(_write_runs(chunks, lengths, Path(temporary)))
        try:
            if (lengths < 0).any():
                raise ValueError("the build was given fewer documents than it indexes")
            total = int(lengths.sum())
            avgdl = total / doc_count or 1.0
            tables = _merge(folder, runs, previous, lengths, avgdl, params)
        finally:
            for run in runs:
                run.close()
    del runs
    return _finish(folder, tables, lengths, total, params, previous, vocabulary, tokens_of)


def _write_runs(chunks, lengths: np.ndarray, temporary: Path) -> Iterator[_Run]:
    """Invert each chunk (splitting large ones) into a run, written to disk at once."""
    number = 0
    for doc_ids, arrays in chunks:
        for start in range(0, len(doc_ids), CHUNK_DOCUMENTS):
            ids = np.asarray(doc_ids[start : start + CHUNK_DOCUMENTS], dtype=np.int64)
            part = arrays[start : start + CHUNK_DOCUMENTS]
            counts = np.fromiter(map(len, part), dtype=np.int64, count=len(part)) // 4
            flat = np.frombuffer(b"".join(part), dtype=np.int32)
            del part
            lengths[ids] = counts
            vocabulary_size = int(flat.max()) + 1 if len(flat) else 0
            term, local, tf, first_doc, first_pos = invert(flat, counts, vocabulary_size)
            del flat
            held = np.flatnonzero(first_doc >= 0)
            per_term = np.bincount(term, minlength=vocabulary_size)[held]
            stem = temporary / f"run-{number}"
            for name, values in (("terms", term), ("docs", ids[local]), ("tf", tf)):
                np.save(f"{stem}-{name}.npy", values.astype(np.int32))
            del term, local, tf
            yield _Run(stem, held.astype(np.int64), ids[first_doc[held]], first_pos[held], offsets_of(per_term))
            number += 1


def _range_bounds(runs: Sequence[_Run], previous: Previous | None, size: int) -> list[int]:
    """Token-cache id boundaries of term ranges holding about ``size`` postings each."""
    sources = np.asarray(previous.index.arrays["source_ids"], dtype=np.int64) if previous is not None else np.zeros(0, np.int64)
    top = max([int(r.first_terms[-1]) + 1 for r in runs if len(r.first_terms)] + [int(sources[-1]) + 1 if len(sources) else 0])
    weight = np.zeros(top, dtype=np.int64)
    for run in runs:
        weight[run.first_terms] += np.diff(run.starts)
    if len(sources):
        weight[sources] += np.asarray(previous.index.arrays["df"], dtype=np.int64)
    cumulative = np.cumsum(weight)
    if not len(cumulative):
        return [0]
    cuts = np.searchsorted(cumulative, np.arange(size, int(cumulative[-1]), size), side="right")
    return sorted({0, top, *cuts.tolist()})


Part = tuple  # arrays sorted by their first, a term (token-cache id): (term, document, frequency) or (term, first document, position)


def _merge(folder: Path, runs: Sequence[_Run], previous: Previous | None, lengths: np.ndarray, avgdl: float, params: BM25Params) -> _TermTables:
    """Read the postings a range of about MERGE_POSTINGS at a time, and merge and encode them a range
    of about CODING_POSTINGS at a time."""
    streams = {name: _Npy(folder / f"{name}.npy", dtype) for name, dtype in STREAM_TYPES.items()}
    tables = _TermTables()
    norms = length_norms(lengths, params.k1, params.b, avgdl)
    norms = _Norms(norms, saturations(np.ones(len(norms), dtype=np.int64), norms, params.k1))
    bounds = _range_bounds(runs, previous, CODING_POSTINGS)
    step = max(1, MERGE_POSTINGS // CODING_POSTINGS)
    for g in range(0, len(bounds) - 1, step):
        group = bounds[g : g + step + 1]
        parts, known, carried = _read_range(runs, previous, group[0], group[-1])
        for lo, hi in zip(group, group[1:]):
            pieces = [piece for piece in (_slice(part, lo, hi) for part in parts) if len(piece[0])]
            kept = carried.between(lo, hi) if carried is not None else None
            if pieces or (kept is not None and len(kept.sources)):
                _merge_range(pieces, [_slice(part, lo, hi) for part in known], kept, len(lengths), norms, params, tables, streams)
    streams["gaps"].append(np.zeros(GAPS_TAIL, dtype=np.uint8))
    for stream in streams.values():
        stream.close()
    return tables


def _read_range(runs: Sequence[_Run], previous: Previous | None, lo: int, hi: int) -> tuple[list[Part], list[Part], "_Carried | None"]:
    """The postings of the terms in [lo, hi): one part from the previous build (its documents
    renumbered, those gone left out) and one from each run; the (term, first document, position)
    each knows; and the previous build's columns that keep their encoding (``_carry``), whose
    postings the parts leave out."""
    parts: list[Part] = []
    known: list[Part] = []
    carried = None
    for run in runs:
        found = run.postings(lo, hi)
        if found is not None:
            parts.append(found)
        fs, fe = np.searchsorted(run.first_terms, [lo, hi])
        if fe > fs:
            known.append((np.asarray(run.first_terms[fs:fe], dtype=np.int64), np.asarray(run.first_doc[fs:fe]), np.asarray(run.first_pos[fs:fe])))
    if previous is not None:
        old = previous.index
        old_sources = np.asarray(old.arrays["source_ids"], dtype=np.int64)
        a, b = (int(x) for x in np.searchsorted(old_sources, [lo, hi]))
        if b > a:
            rel, docs, tf, located = _decoded(old.columns, a, b)
            new_docs = previous.new_ids[docs]
            # Terms the new documents hold gain postings: their columns are encoded again.
            gaining = np.concatenate([part[0] for part in parts]) if parts else np.zeros(0, dtype=np.int64)
            carry = ~np.isin(old_sources[a:b], gaining)
            carried = _carry(old.columns, a, b, rel, docs, new_docs, tf, located, carry, previous.new_ids)
            keep = (new_docs >= 0) & ~carry[rel]
            parts.insert(0, (old_sources[a + rel[keep]], new_docs[keep], tf[keep]))
            carried.sources = old_sources[a:b][carry]
            first = previous.new_ids[np.asarray(old.arrays["first_doc"][a:b], dtype=np.int64)]
            held = first >= 0
            known.insert(0, (old_sources[a:b][held], first[held], np.asarray(old.arrays["first_pos"][a:b], dtype=np.int64)[held]))
    return parts, known, carried


@dataclass
class _Carried:
    """Columns of the previous build carried into the new one with their encoding: the same postings,
    renumbered (``_carry``). ``sources`` (token-cache ids, ascending), ``old`` (column numbers in the
    previous build) and ``starts`` (into ``docs`` and ``tf``, one more) are per column."""

    columns: object  # the previous build's Columns
    sources: np.ndarray
    old: np.ndarray
    starts: np.ndarray
    docs: np.ndarray  # new document ids, column after column
    tf: np.ndarray
    gaps: np.ndarray  # the previous build's gaps stream from byte ``gaps_from`` on, renumbered
    gaps_from: int
    new_ids: np.ndarray  # old document id -> new

    def between(self, lo: int, hi: int) -> "_Carried":
        i, j = (int(x) for x in np.searchsorted(self.sources, [lo, hi]))
        p, q = int(self.starts[i]), int(self.starts[j])
        return _Carried(self.columns, self.sources[i:j], self.old[i:j], self.starts[i : j + 1] - p, self.docs[p:q],
                        self.tf[p:q], self.gaps, self.gaps_from, self.new_ids)


def _carry(columns, a: int, b: int, rel: np.ndarray, docs: np.ndarray, new_docs: np.ndarray, tf: np.ndarray,
           located: np.ndarray, carry: np.ndarray, new_ids: np.ndarray) -> _Carried:
    """Of the previous build's columns ``a`` .. ``b - 1`` (their postings decoded: column relative to
    ``a``, old and new document, frequency, where each gap is packed), those ``carry`` allows keep
    their encoding if renumbering only widens some of their gaps (documents added between theirs)
    and each still fits its packed value (``retrieval.postings.rewritten_gaps``). ``carry`` is
    narrowed to them (in place). Removing documents narrows gaps instead: such a column is carried
    where its gaps still fit and a build from scratch would choose the same packing for it."""
    counts = np.asarray(columns.df[a:b], dtype=np.int64)
    starts = offsets_of(counts)[:-1]
    carry[rel[new_docs < 0]] = False  # a column losing postings is encoded again
    # Where a column's renumbering shift grows, its gap widens; at its start the gap counts from -1.
    shift = new_docs - docs
    widened = shift.copy()
    widened[1:] -= shift[:-1]
    widened[starts] = shift[starts]
    at = np.flatnonzero(widened)
    at = at[carry[rel[at]]]
    column = rel[at]
    gap = np.where(at == starts[column], docs[at] + 1, docs[at] - docs[np.maximum(at - 1, 0)])
    fits, gaps = rewritten_gaps(columns, a, b, column, located[at], gap, widened[at])
    carry[column[~fits]] = False
    # Documents removed between a column's narrow its gaps, which may make another packing smaller:
    # where a narrowed gap needs fewer bits, the column is carried only if a build from scratch would
    # pack it as it is (where every gap needs what it needed, the choice is the same by construction).
    narrowing = np.flatnonzero((widened[at] < 0) & fits)
    was, now = packing_needs(gap[narrowing]), packing_needs(gap[narrowing] + widened[at][narrowing])
    needs_less = (was[0] != now[0]) | (was[1] != now[1])
    narrowed = np.unique(column[narrowing[needs_less]])
    narrowed = narrowed[carry[narrowed]]
    if len(narrowed):
        held = np.zeros(b - a, dtype=bool)
        held[narrowed] = True
        carry[narrowed[~keeps_packing(columns, a, narrowed, counts[narrowed], new_docs[held[rel]])]] = False
    kept = np.flatnonzero(carry)
    carried_postings = carry[rel]
    return _Carried(columns, np.zeros(0, dtype=np.int64), a + kept, offsets_of(counts[kept]), new_docs[carried_postings],
                    tf[carried_postings], gaps, int(columns.gap_offsets[a]), new_ids)


def _slice(part: Part, lo: int, hi: int) -> Part:
    """The rows of a part whose term is in [lo, hi)."""
    i, j = np.searchsorted(part[0], [lo, hi])
    return tuple(values[i:j] for values in part)


def _merge_range(pieces: list[Part], known_first: list[Part], carried: "_Carried | None", doc_count: int, norms: "_Norms",
                 params: BM25Params, tables: _TermTables, streams: dict) -> None:
    """Merge the postings of a term range and append their columns to the index: those ``pieces``
    hold encoded, those ``carried`` copied from the previous build."""
    if not pieces:
        terms = docs = tf = np.zeros(0, dtype=np.int64)
    elif len(pieces) == 1:
        terms, docs, tf = pieces[0]
    else:
        terms, docs, tf = (np.concatenate(values) for values in zip(*pieces))
        # Each piece is sorted by (term, document): a stable sort merges them (timsort finds the runs).
        order = np.argsort(terms * doc_count + docs, kind="stable")
        terms, docs, tf = terms[order], docs[order], tf[order]
        del order
    # Sorted by term already: each term starts where it differs from the one before.
    starts = np.flatnonzero(np.concatenate(([True], terms[1:] != terms[:-1]))) if len(terms) else np.zeros(0, dtype=np.int64)
    distinct, counts = terms[starts], np.diff(np.append(starts, len(terms)))
    factors = _factors(tf, docs, norms, params.k1)
    first_doc = docs[starts]
    if carried is not None and len(carried.sources):
        # The carried columns take their places among the encoded ones, by term.
        everything = np.concatenate([distinct, carried.sources])
        order = np.argsort(everything, kind="stable")
        place = np.empty(len(order), dtype=np.int64)
        place[order] = np.arange(len(order))
        encoded_at, carried_at = place[: len(distinct)], place[len(distinct) :]
        distinct = everything[order]
        carried_starts = carried.starts[:-1]
        carried_factors = _factors(carried.tf, carried.docs, norms, params.k1)
        first_doc = _placed(len(order), (encoded_at, first_doc), (carried_at, carried.docs[carried_starts]))
    else:
        encoded_at, carried_at = np.arange(len(distinct)), np.zeros(0, dtype=np.int64)
    numbers = tables.terms + encoded_at
    ends = offsets_of(counts)
    encoded = []
    for c0, c1 in _pieces(counts):
        p0, p1 = ends[c0], ends[c1]
        encoded.append(encode_columns(counts[c0:c1], docs[p0:p1], tf[p0:p1], factors[p0:p1], numbers[c0:c1]))
    cat = lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)  # noqa: E731
    df = cat([e.df for e in encoded], np.int32)
    width = cat([e.width for e in encoded], np.uint8)
    max_factor = cat([e.max_weight for e in encoded], np.float64)
    sizes = {name: cat([e.sizes[name] for e in encoded], np.int64) for name in OFFSETS}
    out = {name: cat([e.streams[name] for e in encoded], STREAM_TYPES[name]) for name in STREAMS}
    if len(carried_at):
        old = carried.columns
        total = len(distinct)
        out = _interleaved(out, sizes, encoded_at, carried, carried_at, tables.terms)
        df = _placed(total, (encoded_at, df), (carried_at, np.diff(carried.starts).astype(np.int32)))
        width = _placed(total, (encoded_at, width), (carried_at, np.asarray(old.width)[carried.old]))
        max_factor = _placed(total, (encoded_at, max_factor),
                             (carried_at, np.maximum.reduceat(carried_factors, carried_starts)))
        for name in OFFSETS:
            offsets = getattr(old, name)
            old_sizes = np.asarray(offsets[carried.old + 1], dtype=np.int64) - np.asarray(offsets[carried.old], dtype=np.int64)
            sizes[name] = _placed(total, (encoded_at, sizes[name]), (carried_at, old_sizes))
    for name in STREAMS:
        streams[name].append(out[name])
    tables.terms += len(distinct)
    tables.df.append(df)
    tables.width.append(width)
    tables.max_factor.append(max_factor)
    for name in OFFSETS:
        tables.sizes[name].append(sizes[name])
    tables.source_ids.append(distinct)
    tables.first_doc.append(first_doc)
    tables.first_pos.append(_first_positions(distinct, first_doc, known_first))


def _factors(tf: np.ndarray, docs: np.ndarray, norms: "_Norms", k1: float) -> np.ndarray:
    """``saturations(tf, norms[docs], k1)``, the same floats, for frequencies that are mostly 1: those
    are looked up, worked out once a document."""
    factors = norms.of_one[docs]
    frequent = np.flatnonzero(tf != 1)
    factors[frequent] = saturations(tf[frequent], norms.norms[docs[frequent]], k1)
    return factors


@dataclass(frozen=True)
class _Norms:
    """Each document's ``length_norms``, and its saturation for a frequency of 1."""

    norms: np.ndarray
    of_one: np.ndarray


def _placed(total: int, *sources: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """One array of ``total`` values from (places, values) pairs that fill it together."""
    out = np.empty(total, dtype=sources[0][1].dtype)
    for places, values in sources:
        out[places] = values
    return out


def _interleaved(encoded: dict, encoded_sizes: dict, encoded_at: np.ndarray, carried: "_Carried", carried_at: np.ndarray,
                 first_term: int) -> dict:
    """The streams of a term range of ``first_term`` on, from its columns ``encoded_at`` just encoded
    (``encoded``, their ``encoded_sizes``) and its columns ``carried_at`` carried over: runs of
    consecutive columns of either kind, each copied as one slice (a carried run's skips renumbered,
    its patched values' keys moved to its new term numbers)."""
    old = carried.columns
    total = len(encoded_at) + len(carried_at)
    is_carried = np.zeros(total, dtype=bool)
    is_carried[carried_at] = True
    source = np.empty(total, dtype=np.int64)  # the column among the encoded ones, or in the previous build
    source[encoded_at] = np.arange(len(encoded_at))
    source[carried_at] = carried.old
    cut = np.flatnonzero((is_carried[1:] != is_carried[:-1]) | (source[1:] != source[:-1] + 1)) + 1
    first = np.concatenate(([0], cut))
    last = np.append(cut, total) - 1
    # Each stream's bounds of every run, in the encoded streams and in the previous build's.
    encoded_bounds = {"gaps": offsets_of(encoded_sizes["gap_offsets"]), "tf": offsets_of(encoded_sizes["tfx_offsets"]),
                      "skip": offsets_of(encoded_sizes["skip_offsets"])}
    numbers = first_term + encoded_at
    encoded_bounds["patch"] = np.searchsorted(encoded["patch_keys"], np.append(numbers, numbers[-1] + 1 if len(numbers) else 0) << 34)

    def old_bounds(columns: np.ndarray) -> dict[str, np.ndarray]:
        return {"gaps": np.asarray(old.gap_offsets[columns], dtype=np.int64) - carried.gaps_from,
                "tf": np.asarray(old.tfx_offsets[columns], dtype=np.int64),
                "skip": np.asarray(old.skip_offsets[columns], dtype=np.int64),
                "patch": np.searchsorted(old.patch_keys, columns << 34)}

    # Runs of carried columns are consecutive in the previous build: from the first's start to the last's end.
    carried_run = is_carried[first]
    old_starts = old_bounds(np.where(carried_run, source[first], 0))
    old_stops = old_bounds(np.where(carried_run, source[last] + 1, 0))
    new_starts, new_stops = np.where(carried_run, 0, source[first]), np.where(carried_run, 0, source[last] + 1)
    bounds = {}
    for key in encoded_bounds:
        starts = np.where(carried_run, old_starts[key], encoded_bounds[key][new_starts])
        stops = np.where(carried_run, old_stops[key], encoded_bounds[key][new_stops])
        bounds[key] = (starts.tolist(), stops.tolist())
    moved = ((first_term + first - source[first]) << 34).tolist()  # a carried run's patch keys: new term - old
    out: dict[str, list] = {name: [] for name in STREAMS}
    old_streams = {"gaps": carried.gaps, "tf_gaps": old.tf_gaps, "tf_values": old.tf_values, "skip_last": old.skip_last,
                   "skip_others": old.skip_others, "patch_keys": old.patch_keys, "patch_values": old.patch_values}
    which = {"gaps": "gaps", "tf_gaps": "tf", "tf_values": "tf", "skip_last": "skip", "skip_others": "skip",
             "patch_keys": "patch", "patch_values": "patch"}
    for r, is_carried_run in enumerate(carried_run.tolist()):
        for name in STREAMS:
            starts, stops = bounds[which[name]]
            a, b = starts[r], stops[r]
            if b <= a:
                continue
            if not is_carried_run:
                out[name].append(encoded[name][a:b])
            elif name == "skip_last":
                out[name].append(carried.new_ids[np.asarray(old.skip_last[a:b], dtype=np.int64)].astype(np.int32))
            elif name == "patch_keys":
                out[name].append(np.asarray(old.patch_keys[a:b]) + moved[r])
            else:
                out[name].append(old_streams[name][a:b])
    return {name: np.concatenate(parts).astype(STREAM_TYPES[name], copy=False) if parts else np.zeros(0, dtype=STREAM_TYPES[name])
            for name, parts in out.items()}


def _pieces(counts: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs of columns (first, stop) of these posting counts, of about CODING_POSTINGS
    postings each (a longer column alone).

    >>> _pieces(np.array([60_000, 60_000, 30_000, 250_000, 10]))
    [(0, 1), (1, 3), (3, 4), (4, 5)]
    """
    ends = np.cumsum(counts)
    if not len(ends):
        return []
    cuts = np.searchsorted(ends, np.arange(CODING_POSTINGS, int(ends[-1]), CODING_POSTINGS), side="right")
    bounds = sorted({0, len(counts), *cuts.tolist()})
    return list(zip(bounds, bounds[1:]))


def _decoded(columns, first: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``columns.columns(first, stop, located=True)``, decoded a piece at a time."""
    parts = []
    for c0, c1 in _pieces(np.asarray(columns.df[first:stop], dtype=np.int64)):
        rel, docs, tf, located = columns.columns(first + c0, first + c1, located=True)
        parts.append((rel + c0, docs, tf, located))
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return columns.columns(first, stop, located=True)
    return tuple(np.concatenate(values) for values in zip(*parts))


def _first_positions(terms: np.ndarray, first_doc: np.ndarray, known: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
    """The first position of each term in its first document where a source knew it (a run, or the
    previous build when the first document stayed); -1 where none did."""
    positions = np.full(len(terms), -1, dtype=np.int64)
    for source_terms, source_docs, source_pos in known:
        where = np.searchsorted(terms, source_terms)
        where[where >= len(terms)] = 0
        match = (terms[where] == source_terms) & (first_doc[where] == source_docs)
        positions[where[match]] = source_pos[match]
    return positions


def _finish(folder, tables: _TermTables, lengths, total, params, previous, vocabulary, tokens_of) -> dict:
    cat = lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)  # noqa: E731
    source_ids = cat(tables.source_ids, np.int64)
    df = cat(tables.df, np.int64)
    first_doc = cat(tables.first_doc, np.int64)
    first_pos = cat(tables.first_pos, np.int64)
    unknown = np.flatnonzero(first_pos < 0)
    if len(unknown):
        # A term whose first document was removed starts in a document kept from the previous build:
        # read that document's tokens again (few: only terms the removed documents introduced).
        if tokens_of is None:
            raise ValueError("a term's first document changed and no token source was given")
        for doc in np.unique(first_doc[unknown]).tolist():
            tokens = np.frombuffer(tokens_of(doc), dtype=np.int32)
            pick = unknown[first_doc[unknown] == doc]
            for t in pick.tolist():
                first_pos[t] = int(np.flatnonzero(tokens == source_ids[t])[0])
    order = np.lexsort((first_pos, first_doc))
    idf = okapi_idf(df, len(lengths), params.epsilon, order)
    offsets = {name: offsets_of(cat(tables.sizes[name], np.int64)) for name in OFFSETS}
    terms = _term_strings(source_ids, previous, vocabulary)
    per_term = {
        "df": df.astype(np.int32),
        "width": cat(tables.width, np.uint8),
        "max_weight": idf * cat(tables.max_factor, np.float64),
        "idf": idf,
        "first_doc": first_doc.astype(np.int32),
        "first_pos": first_pos.astype(np.int32),
        "source_ids": source_ids.astype(np.int32),
        "doc_lengths": document_lengths(lengths),
        **offsets,
        **vocabulary_arrays(terms, df),
    }
    for name, values in per_term.items():
        np.save(folder / f"{name}.npy", values)
    if previous is not None and previous.folder is not None and np.array_equal(previous.index.arrays["source_ids"], per_term["source_ids"]):
        # The same terms in the same order: the same files (a million terms take a second to hash).
        for suffix in (".bin", ".offsets", ".slots"):
            shutil.copyfile(previous.folder / f"{TERMS}{suffix}", folder / f"{TERMS}{suffix}")
    else:
        write_strings(folder, TERMS, terms)
    missing = [name for name in ARRAYS if not (folder / f"{name}.npy").exists()]
    if missing:
        raise RuntimeError(f"index arrays not written: {missing}")
    return index_meta(len(lengths), total, len(terms), params, int(df.sum()))


def _term_strings(source_ids: np.ndarray, previous: Previous | None, vocabulary: Callable[[list[int]], list[str]]) -> list[str]:
    """The strings of these token-cache ids: a previous build's for the terms it held, the token
    cache's for the others."""
    old_sources = np.asarray(previous.index.arrays["source_ids"], dtype=np.int64) if previous is not None else np.zeros(0)
    if not len(old_sources):
        return vocabulary(source_ids.tolist())
    at = np.minimum(np.searchsorted(old_sources, source_ids), len(old_sources) - 1)
    held = old_sources[at] == source_ids
    old_strings = previous.index.term_ids.decoded()
    strings = [old_strings[i] for i in at.tolist()]
    fresh = np.flatnonzero(~held).tolist()
    for i, term in zip(fresh, vocabulary(source_ids[fresh].tolist())):
        strings[i] = term
    return strings


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
