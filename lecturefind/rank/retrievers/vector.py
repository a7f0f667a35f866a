"""Dense retrieval: the query's text embedding against the segment vectors (FAISS)."""
from __future__ import annotations

from ...index.catalog import Catalog
from ...index.vectors import VectorStore
from ..query import Query
from .base import CANDIDATES, Ranked, Reads


class VectorRetriever:
    name = "vector"
    reads: Reads = "text"

    def __init__(self, catalog: Catalog, store: VectorStore):
        self.catalog = catalog
        self.store = store

    def rank(self, query: Query, n: int = CANDIDATES) -> list[Ranked]:
        qv = query.vector()
        if qv is None:
            return []
        self.store.load(self.catalog)
        scores, ids = self.store.search(qv, n)
        return [Ranked(int(i), float(s)) for s, i in zip(scores, ids)]
