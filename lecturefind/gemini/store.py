"""Search over the Gemini segment vectors (stored by the catalog, one per segment).

Embedded (FAISS): shortlist on the first `prefix` dims (re-normalised, inner product), then re-rank the shortlist
on the full vectors. With the Milvus store: Milvus searches its Gemini collection (`index.milvus`, column
`gemini`). Replacing a lecture removes its Gemini rows in the same transaction (catalog).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..index.catalog import Catalog
from ..index.vectors import VectorStore


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


class GeminiStore:
    """The Gemini vectors of an index, rebuilt when the catalog's Gemini generation changes."""

    def __init__(self, prefix: int = 256):
        self.prefix = prefix
        self.two_stage: Optional[TwoStage] = None
        self.model: Optional[str] = None
        self.generation = -1

    def load(self, catalog: Catalog) -> TwoStage:
        gen = catalog.gemini_generation()
        if self.two_stage is None or self.generation != gen:
            ids, vecs, self.model = catalog.gemini_vectors()
            self.two_stage = TwoStage(ids, vecs, self.prefix)
            self.generation = gen
        return self.two_stage

    @property
    def dims(self) -> int:
        return self.two_stage.dims if self.two_stage else 0

    def search(self, query: np.ndarray, k: int, shortlist: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        if self.two_stage is None:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        return self.two_stage.search(query, k, shortlist)


class MilvusGeminiStore:
    """The Gemini vectors in the index's Milvus (`GeminiStore`'s interface): the catalog says which space (model,
    dims) they are in, Milvus searches them. A missing collection is refused with the command that builds it."""

    def __init__(self, spec, catalog: Catalog):
        from ..index.milvus import GEMINI, MilvusStore

        self.collection = MilvusStore(spec, catalog, GEMINI)
        self.model: Optional[str] = None
        self.dims = 0
        self._count = 0
        self._gen = -1

    def load(self, catalog: Catalog) -> "MilvusGeminiStore":
        gen = catalog.gemini_generation()
        if gen != self._gen:
            space = catalog.gemini_space()
            self.model, self.dims, self._count = space if space else (None, 0, 0)
            if space:
                self.collection.load(catalog)
            self._gen = gen
        return self

    def __len__(self) -> int:
        return self._count

    def search(self, query: np.ndarray, k: int, shortlist: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        return self.collection.search(query, k) if self._count else (np.zeros(0, np.float32), np.zeros(0, np.int64))


def gemini_store(catalog: Catalog, index_dir: str, prefix: int = 256):
    """The Gemini vectors' search for this index's store: Milvus's collection, or FAISS two-stage."""
    from ..index.store import store_spec

    spec = store_spec(catalog, index_dir)
    return MilvusGeminiStore(spec, catalog) if spec.kind == "milvus" else GeminiStore(prefix=prefix)
