"""Visual retrieval: a query photo's local descriptors vote for slides, verified by a RANSAC homography."""
from __future__ import annotations

from typing import Optional

from ...index.catalog import Catalog
from ...visual.features import QUERY_SIDE, extract
from ...visual.index import VisualIndex
from ..query import Query
from .base import CANDIDATES, Ranked, Reads


class VisualRetriever:
    """Ranks the segments showing slides that match the photo; score = verified inlier strength."""

    name = "visual"
    reads: Reads = "image"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._index: Optional[VisualIndex] = None     # built on the first image query

    @property
    def index(self) -> VisualIndex:
        if self._index is None:
            self._index = VisualIndex(self.catalog)
        return self._index

    def rank(self, query: Query, n: int = CANDIDATES) -> list[Ranked]:
        if query.image is None:
            return []
        feats = extract(query.image.pixels, crop=True, max_side=QUERY_SIDE)
        out = []
        for hit in self.index.match(feats)[:n]:
            seg = self.catalog.segment_of_slide(hit.slide_id)
            if seg is not None:
                out.append(Ranked(seg, hit.strength, hit.slide_id))
        return out
