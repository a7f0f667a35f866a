"""Reciprocal rank fusion and merging of overlapping hits into moments."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Optional, Sequence


def rrf(rankings: Sequence[Sequence[Hashable]], k: float = 60.0,
        weights: Optional[Sequence[float]] = None) -> dict:
    """Reciprocal rank fusion: sum of w / (k + rank) over the rankings an item appears in (rank from 1)."""
    weights = weights or [1.0] * len(rankings)
    out: dict = {}
    for ranking, w in zip(rankings, weights):
        for r, item in enumerate(ranking, start=1):
            out[item] = out.get(item, 0.0) + w / (k + r)
    return out


@dataclass
class Hit:
    """A scored time interval in one lecture (page for PDFs)."""

    lecture_id: int
    start: Optional[float]
    end: Optional[float]
    score: float
    payload: object = None
    page: Optional[int] = None
    build: Optional[int] = None      # a PDF page's: the first page of its build (one slide's steps, a page each)


def merge_hits(hits: list[Hit]) -> list[Hit]:
    """Merge overlapping hits of the same lecture; the merged hit keeps the best hit's start and score.

    Hits are visited best first, so each merged moment is anchored on its best-matching point and
    keeps that hit's extent (a union of overlapping clips would grow into minutes); hits starting
    30 s or more apart stay separate moments. PDF pages merge only with the same page, or the same build.
    """
    out: list[Hit] = []
    for h in sorted(hits, key=lambda h: -h.score):
        for m in out:
            if m.lecture_id != h.lecture_id:
                continue
            if h.page is not None or m.page is not None:
                if (h.page if h.build is None else h.build) == (m.page if m.build is None else m.build):
                    break
                continue
            assert h.start is not None and h.end is not None and m.start is not None and m.end is not None
            if h.start < m.end and m.start < h.end and abs(h.start - m.start) < 30.0:
                break
        else:
            out.append(Hit(h.lecture_id, h.start, h.end, h.score, h.payload, h.page, h.build))
    return out
