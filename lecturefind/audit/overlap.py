"""What a course teaches twice, and what no objective claims.

Taught twice: the same PDF page shown in several lectures (the page↔slide links of ingest), and near-same slides
in two lectures (e5 cosine and word overlap both high; a deck's title or "Questions?" slide is too short to count).
Unclaimed: stretches of a recording that no objective's teaching moments touch, titled by their chapters, and PDF
pages no objective matched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from ..index.catalog import Catalog, from_blob
from ..records import Span
from ..segment.chapters import lecture_chapters
from ..urls import URLS
from ..words import title_line, tokens
from .coverage import ObjectiveCoverage, spans_of, union_seconds

SAME_SLIDE_COS = 0.95      # e5 cosine of two slides' text
SAME_SLIDE_WORDS = 0.6     # and the share of their words in common (Jaccard)
MIN_SLIDE_WORDS = 6        # slides with fewer words (titles, "Questions?") are not compared
MIN_STRETCH_S = 45.0       # an unclaimed stretch shorter than this is a transition, not content


@dataclass
class Place:
    lecture_id: int
    lecture: str
    kind: str
    start_s: Optional[float]
    page: Optional[int]
    url: str


@dataclass
class Duplicate:
    kind: str                 # 'pdf page' (one page shown in several lectures) | 'slide' (near-same slides)
    label: str
    places: list[Place]
    similarity: float = 1.0


@dataclass
class Stretch:
    start_s: float
    end_s: float
    url: str
    titles: list[str]


@dataclass
class LectureCoverage:
    """What one lecture covers: the objectives it teaches, the time they span, what no objective claims."""

    lecture_id: int
    lecture: str
    file: str
    kind: str
    duration_s: float
    pages: int
    objectives: list[int] = field(default_factory=list)       # indices into the audit's objectives
    claimed_s: float = 0.0
    unclaimed: list[Stretch] = field(default_factory=list)
    unclaimed_pages: list[int] = field(default_factory=list)


def _place(row, start: Optional[float] = None, page: Optional[int] = None) -> Place:
    kind = row["kind"]
    return Place(row["lecture_id"], row["title"], kind, None if kind == "pdf" else start,
                 page if kind == "pdf" else None, URLS.moment(kind, row["lecture_id"], start, page))


def shown_pages(catalog: Catalog, lecture_ids: set[int]) -> list[Duplicate]:
    """PDF pages that slides of two or more lectures show (ingest's geometric page↔slide links)."""
    groups: dict[tuple, list] = {}
    for k in catalog.all_links():
        if k["lecture_id"] in lecture_ids:
            groups.setdefault((k["deck"], k["page"]), []).append(k)
    out = []
    for (deck, page), links in groups.items():
        firsts: dict[int, object] = {}
        for k in links:
            firsts.setdefault(k["lecture_id"], k)
        if len(firsts) < 2:
            continue
        places = [Place(k["lecture_id"], k["lecture"], "video", k["start_s"], None,   # type: ignore[index]
                        URLS.watch(k["lecture_id"], k["start_s"])) for k in firsts.values()]   # type: ignore[index]
        out.append(Duplicate("pdf page", f"{deck}, page {page}", places))
    return out


def near_same_slides(catalog: Catalog, course: Optional[str]) -> list[Duplicate]:
    """Slides (or PDF pages) of different lectures, of the same kind of source, that carry the same content."""
    rows = [r for r in catalog.distinct_slides(course)
            if len(set(tokens(r["text"] or ""))) >= MIN_SLIDE_WORDS]
    if len(rows) < 2:
        return []
    rows = [r for r in rows if from_blob(r["embedding"]) is not None]     # not pages still owed their vectors
    if len(rows) < 2:
        return []
    vecs = np.stack([v for r in rows if (v := from_blob(r["embedding"])) is not None])
    words = [set(tokens(r["text"])) for r in rows]
    lecture = np.array([r["lecture_id"] for r in rows])
    recorded = np.array([r["kind"] != "pdf" for r in rows])
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    best: dict[int, float] = {}
    for lo in range(0, len(rows), 1024):          # bounded memory for courses with many slides
        sims = vecs[lo:lo + 1024] @ vecs.T
        for a, b in zip(*np.nonzero(sims >= SAME_SLIDE_COS)):
            i, j = lo + int(a), int(b)
            if j <= i or lecture[i] == lecture[j] or recorded[i] != recorded[j]:
                continue
            jac = len(words[i] & words[j]) / len(words[i] | words[j])
            if jac >= SAME_SLIDE_WORDS:
                ri, rj = find(i), find(j)
                parent[rj] = ri
                best[find(i)] = max(best.get(ri, 0.0), best.get(rj, 0.0), float(sims[a, b]))
    groups: dict[int, list[int]] = {}
    for i in range(len(rows)):
        groups.setdefault(find(i), []).append(i)
    out = []
    for root, members in groups.items():
        firsts: dict[int, int] = {}
        for i in members:
            firsts.setdefault(int(lecture[i]), i)
        if len(firsts) < 2:
            continue
        first = rows[members[0]]
        label = first["slide_title"] or title_line(first["text"]) or first["text"][:60]
        places = [_place(rows[i], rows[i]["start_s"], rows[i]["page"]) for i in firsts.values()]
        out.append(Duplicate("slide", " ".join(label.split())[:120], places, round(best.get(root, 1.0), 3)))
    return out


def _complement(spans: Sequence[Span], duration: float) -> list[Span]:
    out, t = [], 0.0
    for s in sorted(spans, key=lambda s: s.start):
        if s.start > t:
            out.append(Span(t, s.start))
        t = max(t, s.end)
    if duration > t:
        out.append(Span(t, duration))
    return out


def lecture_coverage(catalog: Catalog, results: Sequence[ObjectiveCoverage],
                     course: Optional[str]) -> list[LectureCoverage]:
    """Per lecture of the course: which objectives it teaches and what of it no objective claims."""
    out = []
    for lec in catalog.lectures(course):
        lid = lec["lecture_id"]
        mine = [(i, m) for i, r in enumerate(results) for m in r.moments
                if m.lecture_id == lid and m.score >= r.level]
        cov = LectureCoverage(lid, lec["title"], lec["path"], lec["kind"], float(lec["duration"] or 0.0),
                              int(lec["pages"] or 0), sorted({i for i, _ in mine}))
        if lec["kind"] == "pdf":
            matched = {m.page for _, m in mine}
            cov.unclaimed_pages = [p for p in range(1, cov.pages + 1) if p not in matched]
        else:
            spans = spans_of([m for _, m in mine])
            cov.claimed_s = round(union_seconds(spans), 1)
            chaps = lecture_chapters(catalog, lec)
            for gap in _complement(spans, cov.duration_s):
                if gap.duration >= MIN_STRETCH_S:
                    titles = list(dict.fromkeys(c.title for c in chaps if Span(c.start, c.end).overlaps(gap)))
                    cov.unclaimed.append(Stretch(round(gap.start, 1), round(gap.end, 1),
                                                 URLS.watch(lid, gap.start), titles[:5]))
        out.append(cov)
    return out
