"""Shortlist slides for a query image by descriptor voting (FAISS), then verify geometrically."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional

import faiss
import numpy as np

from ..index.catalog import Catalog
from ..index.vectors import fp16_flat
from .features import Features, Match, verify

VOTE_RATIO = 0.85        # Lowe ratio between the best slide and the next-best other slide
NEIGHBOURS = 8
SHORTLIST = 12
QUERY_DESCRIPTORS = 600  # strongest query descriptors used for voting
INDEX_DESCRIPTORS = 2000 # strongest descriptors per slide in the voting index
VERIFY_SHARE = 0.15      # verify only slides with at least this share of the top slide's votes


@dataclass
class VisualHit:
    slide_id: int
    match: Match

    @property
    def strength(self) -> float:
        return self.match.strength


class VisualIndex:
    """In-memory FAISS index over every stored descriptor, rebuilt when the catalog generation changes."""

    def __init__(self, catalog: Catalog, per_slide: int = INDEX_DESCRIPTORS, query_descriptors: int = QUERY_DESCRIPTORS,
                 kinds: tuple[str, ...] = ("video", "pdf", "audio")):
        self.catalog = catalog
        self.per_slide = per_slide
        self.query_descriptors = query_descriptors
        self.kinds = kinds
        self.generation = -1
        self.index: Optional[faiss.Index] = None
        self.owner = np.zeros(0, np.int64)
        self._features: dict[int, Features] = {}
        self._roots: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def _load(self) -> None:
        gen = self.catalog.generation
        if gen == self.generation and self.index is not None:
            return
        rows = self.catalog.visual_features(self.kinds)
        feats, roots, owners = {}, [], []
        for r in rows:
            f = Features.from_blobs(r["keypoints"], r["descriptors"], r["width"], r["height"])
            if len(f.descriptors) == 0:
                continue
            feats[r["slide_id"]] = f
            root = f.root()
            self._roots[r["slide_id"]] = root
            roots.append(root[:self.per_slide])
            owners.append(np.full(len(roots[-1]), r["slide_id"], np.int64))
        index = fp16_flat(128)     # exhaustive and exact enough for voting
        if roots:
            index.add(np.ascontiguousarray(np.concatenate(roots), dtype=np.float32))
        self.index, self._features = index, feats
        self.owner = np.concatenate(owners) if owners else np.zeros(0, np.int64)
        self._roots = {k: v for k, v in self._roots.items() if k in feats}
        self.generation = gen

    def features(self, slide_id: int) -> Optional[Features]:
        with self._lock:
            self._load()
            return self._features.get(slide_id)

    def shortlist(self, query: Features, n: int = SHORTLIST, among: Optional[set[int]] = None,
                  min_votes: float = 3.0) -> list[int]:
        with self._lock:
            self._load()
            assert self.index is not None
            if self.index.ntotal == 0 or len(query.descriptors) == 0:
                return []
            q = query.root()[:self.query_descriptors]
            sims, idx = self.index.search(np.ascontiguousarray(q), NEIGHBOURS)
        votes: dict[int, float] = {}
        dist = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * sims))      # unit vectors: inner product → L2 distance
        for row_d, row_i in zip(dist, idx):
            # vote for the nearest slide only when it is clearly nearer than any *other* slide, so that
            # features every slide of a deck shares (logo, footer, title bar) do not vote
            best_sid, best_d = None, None
            for d, i in zip(row_d, row_i):
                if i < 0:
                    break
                sid = int(self.owner[i])
                if among is not None and sid not in among:
                    continue
                if best_sid is None:
                    best_sid, best_d = sid, d
                elif sid != best_sid:
                    if best_d < VOTE_RATIO * d:
                        votes[best_sid] = votes.get(best_sid, 0.0) + 1.0
                    break
            else:
                if best_sid is not None:
                    votes[best_sid] = votes.get(best_sid, 0.0) + 1.0
        ranked = sorted(votes.items(), key=lambda kv: -kv[1])[:n]
        floor = max(min_votes, VERIFY_SHARE * ranked[0][1]) if ranked else min_votes
        return [sid for sid, v in ranked if v >= floor]

    def match(self, query: Features, n: int = SHORTLIST, among: Optional[set[int]] = None,
              min_inliers: int = 8, min_votes: float = 3.0) -> list[VisualHit]:
        """Verified matches, strongest first."""
        q_root = query.root()
        hits = []
        for sid in self.shortlist(query, n, among, min_votes):
            ref = self.features(sid)
            if ref is None:
                continue
            m = verify(query, ref, q_root, self._roots.get(sid))
            if m.inliers >= min_inliers:
                hits.append(VisualHit(sid, m))
        return sorted(hits, key=lambda h: -h.strength)
