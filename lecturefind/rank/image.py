"""Image queries: verified visual matches (slides on screen) fused with the text path's moments."""
from __future__ import annotations

import math
from typing import Optional

from ..index.catalog import Catalog
from ..records import Moment
from .results import make_moment, mark_confidence
from .retrievers import Ranked

DECISIVE = 60.0   # verified strength beyond which OCR of the photo cannot change the answer
TEXT_WEIGHT_TYPED = 0.5    # share of typed text in the score of a visual match (equal say)
TEXT_WEIGHT_OCR = 0.2      # share of text read off the photo
TEXT_ONLY_TYPED = 0.9      # text-path moments when nothing matched visually
TEXT_ONLY_OCR = 0.5        # ... when the text came only from OCR of the photo (never confident alone)


def visual_confidence(strength: float) -> float:
    """Verified-inlier strength to 0..1: ~0.25 at 8 (noise level), ~0.75 at 35, ~0.95 at 80."""
    return 1.0 / (1.0 + math.exp(-(strength - 20.0) / 8.0))


def is_decisive(catalog: Catalog, hits: list[Ranked]) -> bool:
    """One strong match with no rival other than its own linked twin (the same slide as a handout page):
    the geometry settles the answer and reading the photo's text cannot change it."""
    if not hits or hits[0].score < DECISIVE or hits[0].slide_id is None:
        return False
    twins = catalog.linked_slides(hits[0].slide_id)
    rivals = [h for h in hits[1:] if h.slide_id not in twins]
    return not rivals or rivals[0].score < 0.5 * hits[0].score


def visual_moments(catalog: Catalog, hits: list[Ranked], course: Optional[str]) -> tuple[list[Moment], list[int]]:
    """Moments for verified hits, and for each its twin group (linked page and video slide share one)."""
    out: list[Moment] = []
    best = max((h.score for h in hits), default=1.0) or 1.0
    strength = {h.slide_id: h.score for h in hits}
    groups_of = {h.slide_id: catalog.linked_slides(h.slide_id) for h in hits if h.slide_id is not None}
    for sid, group in groups_of.items():   # a slide and its linked twin are one answer: same evidence
        for twin in group:
            if twin in strength:
                strength[sid] = max(strength[sid], strength[twin])
    groups: list[int] = []
    for sid, group in groups_of.items():
        r = catalog.slide(sid)
        if r is None or (course and r["course"] != course):
            continue
        # absolute evidence × evidence relative to the best match (a deck's shared template gives other
        # slides a few dozen inliers: they must not look as certain as the slide in the photo)
        st = strength[sid]
        conf = visual_confidence(st) * min(1.0, st / best) ** 0.5
        if r["kind"] == "pdf":
            out.append(make_moment(r, score=conf, text=r["text"], page=r["page"]))
            groups.append(min(group))
            continue
        for o in catalog.slide_occurrences(sid):
            out.append(make_moment(r, score=conf, text=r["text"], start=o["start_s"], end=o["end_s"]))
            groups.append(min(group))
    return out, groups


def _same_place(a: Moment, b: Moment) -> bool:
    if a.lecture_id != b.lecture_id:
        return False
    if a.kind == "pdf" or b.kind == "pdf":
        return a.page == b.page
    if a.start_s is None or a.end_s is None or b.start_s is None or b.end_s is None:
        return False
    return a.start_s < b.end_s and b.start_s < a.end_s


def fuse(visual: list[Moment], textual: list[Moment], typed: bool, k: int,
         groups: Optional[list[int]] = None) -> list[Moment]:
    """One ranking from visual moments (scored by verified strength) and text-path moments.

    Visual scores are already relative to the best match; text blends in additively so that typed
    words can choose between two strong visual matches (a 2-up handout), while text read off a photo
    only nudges. Text-only moments rank below any real visual match.
    """
    w = TEXT_WEIGHT_TYPED if typed else TEXT_WEIGHT_OCR
    fused: list[Moment] = []
    for v in visual:
        t = next((m for m in textual if _same_place(v, m)), None)
        if textual:
            v.score = (1 - w) * v.score + w * (t.score if t is not None else 0.0)
        if t is not None and typed:          # the typed words choose the snippet inside the slide span
            v.snippet = t.snippet or v.snippet
        fused.append(v)
    if groups:                # twins (a video slide and its identical handout page) share the best score
        best: dict[int, float] = {}
        for g, v in zip(groups, visual):
            best[g] = max(best.get(g, 0.0), v.score)
        for g, v in zip(groups, visual):
            v.score = best[g]
    alone = TEXT_ONLY_TYPED if typed else TEXT_ONLY_OCR
    for t in textual:
        if not any(_same_place(t, v) for v in visual):
            t.score *= alone if not visual else w
            fused.append(t)
    # on a tie the lecture moment comes before its handout page
    fused.sort(key=lambda m: (-round(m.score, 3), m.kind == "pdf"))
    return mark_confidence(fused)[:k]


def for_ocr(img, max_side: int = 1280):
    """The photo at most `max_side` pixels wide or high, for reading its text."""
    import cv2

    h, w = img.shape[:2]
    s = max_side / max(h, w)
    return cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img
