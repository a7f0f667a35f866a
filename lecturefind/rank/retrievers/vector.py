"""Dense retrieval: the query's e5 embedding against the segment vectors (the store: FAISS or Milvus), and for an
English query its English MiniLM embedding against the English segment vectors, merged into one ranking."""
from __future__ import annotations

from typing import Optional

from ...index.catalog import Catalog
from ...index.store import SegmentStore
from ..query import Query
from .base import CANDIDATES, Ranked, Reads


class VectorRetriever:
    """Each segment ranks by its better place in the two nearest-neighbour lists, so a segment found by both
    models does not count twice and a lecture without English vectors (German, French...) competes on e5 alone
    on equal terms."""

    name = "vector"
    reads: Reads = "text"

    def __init__(self, catalog: Catalog, store: SegmentStore, english: Optional[SegmentStore] = None):
        self.catalog = catalog
        self.store = store
        self.english = english

    def rank(self, query: Query, n: int = CANDIDATES) -> list[Ranked]:
        best: dict[int, float] = {}
        for store, qv in ((self.store, query.vector()),
                          (self.english, query.english_vector() if self.english is not None else None)):
            if store is None or qv is None:
                continue
            store.load(self.catalog)
            _, ids = store.search(qv, n)
            for r, i in enumerate(ids):
                best[int(i)] = max(best.get(int(i), 0.0), 1.0 / (r + 1))
        return [Ranked(i, s) for i, s in sorted(best.items(), key=lambda kv: -kv[1])[:n]]
