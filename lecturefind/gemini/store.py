"""Gemini segment vectors (table `gemini_segments` in catalog.sqlite) and their two-stage FAISS search.

Rows are keyed by segment id and carry a signature of the segment (file sha256, span, page) so a row
left behind by a replaced file, or a reused segment id, is never taken for the new segment.
Search: shortlist on the first `prefix` dims (re-normalised, FAISS inner product), then re-rank the
shortlist on the full vectors.
"""
from __future__ import annotations

import sqlite3
from typing import Optional

import faiss
import numpy as np

from ..index.catalog import Catalog
from ..index.vectors import VectorStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS gemini_segments(
    segment_id INTEGER PRIMARY KEY, sig TEXT NOT NULL, model TEXT NOT NULL, dims INTEGER NOT NULL,
    content_key TEXT NOT NULL, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS gemini_meta(key TEXT PRIMARY KEY, value TEXT);
"""

SEGMENTS_SQL = ("SELECT s.id, s.start_s, s.end_s, s.page, l.kind, l.has_audio, l.duration, f.sha256, f.path "
                "FROM segments s JOIN lectures l ON l.id = s.lecture_id JOIN files f ON f.id = l.file_id")


def segment_sig(sha256: str, start, end, page) -> str:
    return f"{sha256}:{float(start or 0):.3f}:{float(end or 0):.3f}:{page or 0}"


def ensure_schema(catalog: Catalog) -> None:
    catalog.conn.executescript(SCHEMA)


def gemini_generation(catalog: Catalog) -> int:
    try:
        r = catalog.one("SELECT value FROM gemini_meta WHERE key='generation'")
    except sqlite3.OperationalError:
        return 0
    return int(r[0]) if r else 0


def valid_vectors(catalog: Catalog, model: Optional[str] = None) -> tuple[np.ndarray, np.ndarray, Optional[str]]:
    """(segment ids, vectors, model) of rows whose signature matches their segment (one model/dims)."""
    try:
        rows = catalog.q("SELECT g.segment_id, g.sig, g.model, g.dims, g.vec, s.start_s, s.end_s, s.page, f.sha256 "
                         "FROM gemini_segments g JOIN segments s ON s.id = g.segment_id "
                         "JOIN lectures l ON l.id = s.lecture_id JOIN files f ON f.id = l.file_id ORDER BY g.segment_id")
    except sqlite3.OperationalError:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), None
    rows = [r for r in rows if r["sig"] == segment_sig(r["sha256"], r["start_s"], r["end_s"], r["page"])]
    if model:
        rows = [r for r in rows if r["model"] == model]
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), None
    # one space per index: the most common (model, dims) wins
    counts: dict = {}
    for r in rows:
        counts[(r["model"], r["dims"])] = counts.get((r["model"], r["dims"]), 0) + 1
    best = max(counts, key=counts.get)
    rows = [r for r in rows if (r["model"], r["dims"]) == best]
    ids = np.array([r["segment_id"] for r in rows], np.int64)
    vecs = np.stack([np.frombuffer(r["vec"], np.float32) for r in rows])
    return ids, vecs, best[0]


def prefix_normalise(vecs: np.ndarray, prefix: int) -> np.ndarray:
    p = np.ascontiguousarray(vecs[:, :prefix], dtype=np.float32)
    n = np.linalg.norm(p, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return p / n


class TwoStage:
    """Prefix shortlist (FAISS IndexFlatIP on `prefix` dims) + full-vector re-rank."""

    def __init__(self, ids: np.ndarray, vecs: np.ndarray, prefix: int = 256):
        self.ids = np.asarray(ids, np.int64)
        self.full = np.ascontiguousarray(vecs, dtype=np.float32)
        self.dims = self.full.shape[1] if self.full.size else 0
        self.prefix = min(prefix, self.dims) if self.dims else prefix
        self.index = VectorStore.build(np.arange(len(self.ids), dtype=np.int64),
                                       prefix_normalise(self.full, self.prefix) if self.dims else self.full)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, q: np.ndarray, k: int, shortlist: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """(scores, segment ids) best first; scores are full-vector cosines."""
        if not len(self.ids):
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        q = np.asarray(q, np.float32).reshape(-1)
        qp = q[: self.prefix] / (np.linalg.norm(q[: self.prefix]) or 1.0)
        _, rows = self.index.search(qp.reshape(1, -1), min(max(shortlist, k), len(self.ids)))
        rows = rows[0][rows[0] >= 0]
        scores = np.einsum("ij,j->i", np.take(self.full, rows, axis=0), q)   # no BLAS threads for a small gemv
        order = np.argsort(-scores)[:k]
        return scores[order], self.ids[rows[order]]

    def exact(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores = self.full @ np.asarray(q, np.float32).reshape(-1)
        k = min(k, len(scores))
        part = np.argpartition(-scores, k - 1)[:k]
        order = part[np.argsort(-scores[part])]
        return scores[order], self.ids[order]


class GeminiStore(VectorStore):
    """The Gemini vectors of an index, rebuilt when the Gemini generation changes (never written by readers)."""

    def __init__(self, index_dir: str, prefix: int = 256):
        super().__init__(index_dir, name="gemini")
        self.prefix = prefix
        self.two_stage: Optional[TwoStage] = None
        self.model: Optional[str] = None

    def load(self, catalog: Catalog, persist: bool = False) -> faiss.Index:
        gen = gemini_generation(catalog)
        if self.two_stage is None or self.generation != gen:
            ids, vecs, self.model = valid_vectors(catalog)
            self.two_stage = TwoStage(ids, vecs, self.prefix)
            self.index = self.two_stage.index
            self.generation = gen
        return self.index

    @property
    def dims(self) -> int:
        return self.two_stage.dims if self.two_stage else 0

    def search(self, query: np.ndarray, k: int, shortlist: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        if self.two_stage is None:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        return self.two_stage.search(query, k, shortlist)
