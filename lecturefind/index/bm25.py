"""BM25 in memory: FTS5's own ranking over the same stems, from arrays mapped from one file.

FTS5 scores every segment holding a query word on each query: 17 ms at 100 k segments with the rarest words
only (the others pruned, at a cost in recall), 71 ms with all of them. Here the postings of each stem are
contiguous arrays (segment, term frequency), mapped read-only from `bm25.idx` beside the catalog (pages of the
words asked for are what becomes resident), and a query adds up the postings of its stems with numpy.

The score is FTS5's `bm25()` (k1 1.2, b 0.75, idf log((N - n + 0.5) / (n + 0.5)), at least 1e-6), so the
ranking is the one `Catalog.bm25` gives. SQLite's FTS5 table stays the truth: the file is a cache stamped
with the catalog's text generation; while it is missing or behind, search uses FTS5 (`Bm25Cache.get` → None).
"""
from __future__ import annotations

import json
import os
import re
import threading
from typing import BinaryIO, Iterable, Optional

import numpy as np

from .catalog import Catalog, same_catalog

K1, B = 1.2, 0.75
FILE = "bm25.idx"
_MAGIC = b"LFBM25\x01\n"
_ALIGN = 64
_MERGE_TERMS = 4096     # old terms merged at a time by `Bm25Index.updated`


_PLAIN = re.compile(r"[a-z0-9 ]*")
_TOKEN = re.compile(r"[^\W_]+")


def doc_terms(text: str) -> list[str]:
    """The tokens FTS5 (unicode61, diacritics removed) reads in a `words.fts_text` text. Its stems are folded,
    lower-case words separated by spaces; the few that folding left with a separator or a capital (½ → 1⁄2,
    ⑴ → (1), ᴬ → A, final ς) are split and case-folded as unicode61 does."""
    if _PLAIN.fullmatch(text):
        return text.split()
    return _TOKEN.findall(text.casefold())


Key = tuple[int, int, str]      # `Catalog.texts_key`: (texts changed count, highest segment id, catalog identity)


def _key(stored: list) -> Key:
    """A header's key (a file written before catalog identities has none)."""
    return (int(stored[0]), int(stored[1]), str(stored[2]) if len(stored) > 2 else "")


def _patchable(have: Optional[Key], key: Key) -> bool:
    """Whether a file stamped `have` holds an earlier state of the texts now at `key` (else it is built anew)."""
    return have is not None and have[0] <= key[0] and have[1] <= key[1] and same_catalog(have[2], key[2])


def in_step(have: Optional[Key], key: Key) -> bool:
    """Whether a file stamped `have` holds the texts of the catalog now at `key`."""
    return have is not None and have[:2] == key[:2] and same_catalog(have[2], key[2])


class Bm25Index:
    """The postings of one catalog text generation: `offsets[t]:offsets[t+1]` of `docs` (positions in `ids`)
    and `tfs` are the segments holding term t and how often."""

    def __init__(self, key: Key, terms: list[str], offsets: np.ndarray, docs: np.ndarray,
                 tfs: np.ndarray, ids: np.ndarray, lengths: np.ndarray):
        self.key = key
        self.vocab = {t: i for i, t in enumerate(terms)}
        self.offsets, self.docs, self.tfs, self.ids = offsets, docs, tfs, ids
        self.n = len(ids)
        self.lengths = lengths
        avgdl = float(lengths.sum(dtype=np.float64)) / self.n if self.n else 1.0
        # per segment, the length part of BM25's denominator
        self._norm = (K1 * (1.0 - B + B * lengths.astype(np.float64) / max(avgdl, 1e-9))).astype(np.float32)

    # -- building -----------------------------------------------------------------------------
    @classmethod
    def build(cls, key: Key, rows: Iterable[list[tuple[int, str]]]) -> "Bm25Index":
        """From (segment id, FTS text) rows, a batch at a time (`Catalog.fts_rows`)."""
        vocab: dict[str, int] = {}
        ids_parts: list[int] = []
        len_parts: list[np.ndarray] = []
        term_parts: list[np.ndarray] = []
        doc_parts: list[np.ndarray] = []
        tf_parts: list[np.ndarray] = []
        n = 0
        for batch in rows:
            texts = [text or "" for _, text in batch]
            toks = doc_terms(" ".join(texts))
            per_doc = [t.count(" ") + 1 if t else 0 for t in texts]      # `fts_text` puts one space between
            if sum(per_doc) != len(toks):
                per_doc = [len(doc_terms(t)) for t in texts]
            for t in sorted(set(toks).difference(vocab)):
                vocab[t] = len(vocab)
            tids = list(map(vocab.__getitem__, toks))
            ids_parts.extend(sid for sid, _ in batch)
            counts = np.array(per_doc, np.int64)
            doc_of = np.repeat(np.arange(n, n + len(batch), dtype=np.int64), counts)
            pair, tf = np.unique(doc_of * (1 << 32) + np.array(tids, np.int64), return_counts=True)
            doc_parts.append((pair >> 32).astype(np.int32))
            term_parts.append((pair & 0xFFFFFFFF).astype(np.int32))
            tf_parts.append(np.minimum(tf, 65535).astype(np.uint16))
            len_parts.append(counts.astype(np.float32))
            n += len(batch)
        terms = list(vocab)
        empty32 = np.zeros(0, np.int32)
        term = np.concatenate(term_parts) if term_parts else empty32
        del term_parts
        order = np.argsort(term, kind="stable")        # by term, each term's segments in id order
        offsets = np.zeros(len(terms) + 1, np.int64)
        np.cumsum(np.bincount(term, minlength=len(terms)), out=offsets[1:])
        del term
        docs = (np.concatenate(doc_parts) if doc_parts else empty32)[order]
        del doc_parts
        tfs = (np.concatenate(tf_parts) if tf_parts else np.zeros(0, np.uint16))[order]
        del tf_parts, order
        lengths = np.concatenate(len_parts) if len_parts else np.zeros(0, np.float32)
        return cls(key, terms, offsets, docs, tfs, np.array(ids_parts, np.int64), lengths)

    def updated(self, key: Key, present: np.ndarray, rows: Iterable[list[tuple[int, str]]]
                ) -> "Bm25Index":
        """This index brought to a later state of the catalog: without the segments no longer `present` (their
        ids), with the new ones (`rows`: those with ids above this index's highest). Sound because a segment's
        text never changes once stored and ids are never reused; the result equals `build` on the whole
        catalog (the new words' term numbers follow the old ones). Linear in the postings: seconds at 1 M."""
        new = Bm25Index.build(key, rows)
        keep = np.isin(self.ids, present)
        n_kept = int(keep.sum())
        # the merged vocabulary: the old terms, then the new index's terms the old one lacks
        vocab = dict(self.vocab)
        remap = np.array([vocab.setdefault(t, len(vocab)) for t in new.vocab], np.int64)
        terms = list(vocab)
        n_terms = len(terms)
        # postings kept per old term, and where each old posting goes
        old_offsets = np.asarray(self.offsets)
        n_old = len(old_offsets) - 1
        kept_counts = np.zeros(n_terms, np.int64)
        position = np.cumsum(keep, dtype=np.int64) - 1        # old segment position -> merged position
        for a in range(0, n_old, _MERGE_TERMS):
            b = min(a + _MERGE_TERMS, n_old)
            lo, hi = old_offsets[a], old_offsets[b]
            seen = np.concatenate([[0], np.cumsum(keep[np.asarray(self.docs[lo:hi])], dtype=np.int64)])
            kept_counts[a:b] = np.diff(seen[old_offsets[a:b + 1] - lo])
        new_counts = np.zeros(n_terms, np.int64)
        np.add.at(new_counts, remap, np.diff(new.offsets))
        offsets = np.zeros(n_terms + 1, np.int64)
        np.cumsum(kept_counts + new_counts, out=offsets[1:])
        docs = np.empty(int(offsets[-1]), np.int32)
        tfs = np.empty(int(offsets[-1]), np.uint16)
        # old postings, in term order already, a few terms at a time (bounded memory): each kept one goes to its
        # term's new place, after the kept ones before it
        for a in range(0, n_old, _MERGE_TERMS):
            b = min(a + _MERGE_TERMS, n_old)
            lo, hi = int(old_offsets[a]), int(old_offsets[b])
            d = np.asarray(self.docs[lo:hi])
            k = keep[d]
            counts = kept_counts[a:b]
            first = np.concatenate([[0], np.cumsum(counts)[:-1]])      # kept postings of this chunk before term t
            dst = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(offsets[a:b] - first, counts)
            docs[dst] = position[d[k]]
            tfs[dst] = np.asarray(self.tfs[lo:hi])[k]
        # new postings: after the kept old ones of their term
        for i in range(len(new.vocab)):
            lo, hi = int(new.offsets[i]), int(new.offsets[i + 1])
            t = int(remap[i])
            start = int(offsets[t] + kept_counts[t])
            docs[start:start + hi - lo] = new.docs[lo:hi] + n_kept
            tfs[start:start + hi - lo] = new.tfs[lo:hi]
        ids = np.concatenate([np.asarray(self.ids)[keep], new.ids])
        lengths = np.concatenate([np.asarray(self.lengths)[keep], new.lengths])
        return Bm25Index(key, terms, offsets, docs, tfs, ids, lengths)

    # -- the file -----------------------------------------------------------------------------
    def save(self, path: str) -> None:
        """Write atomically (a reader maps the old file or the new one)."""
        terms = "\n".join(self.vocab).encode("utf-8")
        arrays = {"offsets": self.offsets, "docs": self.docs, "tfs": self.tfs, "ids": self.ids,
                  "lengths": self.lengths, "terms": np.frombuffer(terms, np.uint8)}
        layout: dict[str, tuple[str, int, int]] = {}
        pos = 0
        for name, a in arrays.items():
            layout[name] = (a.dtype.str, pos, int(a.size))
            pos += -(-a.nbytes // _ALIGN) * _ALIGN
        header = json.dumps({"key": list(self.key), "arrays": layout}).encode()
        start = -(-(len(_MAGIC) + 8 + len(header)) // _ALIGN) * _ALIGN
        tmp = f"{path}.tmp{os.getpid()}.{threading.get_ident()}"
        try:
            with open(tmp, "wb") as f:
                f.write(_MAGIC + len(header).to_bytes(8, "little") + header)
                for name, a in arrays.items():
                    f.seek(start + layout[name][1])
                    f.write(np.ascontiguousarray(a).tobytes())
                f.truncate(start + pos)
            os.replace(tmp, path)
        except OSError:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @staticmethod
    def _header(f: BinaryIO) -> tuple[dict, int]:
        """(the file's header, where its arrays start); ValueError if it is not an index file."""
        head = f.read(len(_MAGIC) + 8)
        if head[:len(_MAGIC)] != _MAGIC:
            raise ValueError("not an index file")
        size = int.from_bytes(head[len(_MAGIC):], "little")
        return json.loads(f.read(size)), -(-(len(_MAGIC) + 8 + size) // _ALIGN) * _ALIGN

    @classmethod
    def file_key(cls, path: str) -> Optional[Key]:
        """The catalog texts the file in `path` was built from, by its header alone; None: no index file."""
        try:
            with open(path, "rb") as f:
                return _key(cls._header(f)[0]["key"])
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    @classmethod
    def load(cls, path: str) -> Optional["Bm25Index"]:
        """The index in `path`, its arrays mapped read-only; None if it is not one."""
        try:
            with open(path, "rb") as f:          # header and arrays from the one file, whatever replaces it
                header, start = cls._header(f)
                a = {name: (np.memmap(f, np.dtype(dt), "r", start + off, (size,)) if size
                            else np.zeros(0, np.dtype(dt)))
                     for name, (dt, off, size) in header["arrays"].items()}
            terms = bytes(a["terms"]).decode("utf-8").split("\n") if a["terms"].size else []
            return cls(_key(header["key"]), terms, a["offsets"], a["docs"], a["tfs"],
                       a["ids"], np.asarray(a["lengths"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    # -- asking ---------------------------------------------------------------------------------
    def doc_count(self, term: str) -> int:
        t = self.vocab.get(term)
        return 0 if t is None else int(self.offsets[t + 1] - self.offsets[t])

    def search(self, terms: list[str], k: int) -> Optional[list[int]]:
        """Segment ids best first: FTS5's `ORDER BY bm25(...)` for an OR of these stems (ties: lower id first).
        Each stem's postings are weighed in float32 and summed per segment by one `bincount`. None for a stem
        that FTS5 would read as several tokens (a phrase): FTS5 answers that query."""
        asked = []
        for term in dict.fromkeys(terms):
            toks = doc_terms(term)
            if len(toks) > 1:
                return None
            asked += toks
        terms = asked
        docs, weights = [], []
        for term in dict.fromkeys(terms):
            t = self.vocab.get(term)
            if t is None:
                continue
            lo, hi = int(self.offsets[t]), int(self.offsets[t + 1])
            idf = max(float(np.log((self.n - (hi - lo) + 0.5) / ((hi - lo) + 0.5))), 1e-6)
            d = self.docs[lo:hi]
            tf = self.tfs[lo:hi].astype(np.float32)
            w = tf * np.float32(idf * (K1 + 1.0))
            w /= tf + self._norm[d]
            docs.append(d)
            weights.append(w)
        if not docs:
            return []
        every = np.concatenate(docs)
        acc = np.bincount(every, weights=np.concatenate(weights), minlength=self.n)
        one = min((d for d in docs if len(d) >= k), key=len, default=None)
        if one is None:               # no word in k segments: the few segments holding any
            hit = np.unique(every)
        else:
            # a word's segments are distinct, so the k-th best of them scores at most the k-th best overall:
            # every contender scores at least that, and only those few are partitioned and sorted
            vals = acc[one]
            hit = np.flatnonzero(acc >= np.partition(vals, len(vals) - k)[len(vals) - k])
        if len(hit) > k:          # the k best, and every segment tied with the k-th, so ties go by id below
            kth = np.partition(acc[hit], len(hit) - k)[len(hit) - k]
            hit = hit[acc[hit] >= kth]
        best = hit[np.lexsort((hit, -acc[hit]))][:k]
        return [int(i) for i in self.ids[best]]


class Bm25Cache:
    """`bm25.idx` of one index, shared by every searcher of the process (one mapping, however many threads)."""

    _all: dict[str, "Bm25Cache"] = {}
    _all_lock = threading.Lock()

    def __init__(self, index_dir: str):
        self.path = os.path.join(index_dir, FILE)
        self.index: Optional[Bm25Index] = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, index_dir: str) -> "Bm25Cache":
        key = os.path.abspath(index_dir)
        with cls._all_lock:
            if key not in cls._all:
                cls._all[key] = cls(key)
            return cls._all[key]

    def get(self, catalog: Catalog) -> Optional[Bm25Index]:
        """The index of the catalog's texts now, or None (no file yet, or one behind: FTS5 answers)."""
        key = catalog.texts_key()
        index = self.index
        if index is not None and in_step(index.key, key):
            return index
        with self._lock:
            if self.index is None or not in_step(self.index.key, key):
                found = Bm25Index.load(self.path) if in_step(Bm25Index.file_key(self.path), key) else None
                self.index = found if found is not None and in_step(found.key, key) else None
            return self.index

    def refresh(self, catalog: Catalog) -> Optional[Bm25Index]:
        """Build and write the file when it is missing or behind the catalog's texts (after an ingest
        commits): the segments removed since and those added are applied to it (`Bm25Index.updated`); returns
        the index written, None when the file was already in step."""
        key = catalog.texts_key()
        have = Bm25Index.file_key(self.path)
        if in_step(have, key):
            return None
        if not _patchable(have, key):
            return self.rebuild(catalog)       # e.g. another catalog's texts: nothing of them can be kept
        with self._lock:
            old = Bm25Index.load(self.path)
            if old is None or not _patchable(old.key, key):
                index = Bm25Index.build(key, catalog.fts_rows())
            else:
                index = old.updated(key, catalog.segment_ids(), catalog.fts_rows(after=old.key[1]))
            index.save(self.path)
            self.index = Bm25Index.load(self.path)
            return index

    def rebuild(self, catalog: Catalog) -> Bm25Index:
        """Build from the catalog's FTS5 texts and write the file (`lecturefind reindex`)."""
        with self._lock:
            index = Bm25Index.build(catalog.texts_key(), catalog.fts_rows())
            index.save(self.path)
            self.index = Bm25Index.load(self.path)
            return index
