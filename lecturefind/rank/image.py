"""Image queries: verified visual matches fused with the text path fed by OCR of the photo (and any typed text)."""
from __future__ import annotations

import math
from typing import Optional

from ..query_inputs import load_image
from ..values import Moment
from ..visual.features import QUERY_SIDE, extract

CONFIDENT = 0.5
DECISIVE = 60.0   # verified strength beyond which OCR of the photo cannot change the answer
TEXT_WEIGHT_TYPED = 0.5    # share of typed text in the score of a visual match (equal say)
TEXT_WEIGHT_OCR = 0.2      # share of text read off the photo
TEXT_ONLY_TYPED = 0.9      # text-path moments when nothing matched visually
TEXT_ONLY_OCR = 0.5        # ... when the text came only from OCR of the photo (never confident alone)


def visual_confidence(strength: float) -> float:
    """Verified-inlier strength to 0..1: ~0.25 at 8 (noise level), ~0.75 at 35, ~0.95 at 80."""
    return 1.0 / (1.0 + math.exp(-(strength - 20.0) / 8.0))


def _visual_moments(searcher, hits, course: Optional[str]) -> tuple[list[Moment], list[int]]:
    """Moments for verified hits, and for each its twin group (linked page and video slide share one)."""
    cat = searcher.catalog
    out: list[Moment] = []
    best = max((h.strength for h in hits), default=1.0) or 1.0
    strength = {h.slide_id: h.strength for h in hits}
    for h in hits:            # a slide and its linked twin (page ↔ video slide) are one answer: same evidence
        for twin in _linked_group(searcher, h.slide_id):
            if twin in strength:
                strength[h.slide_id] = max(strength[h.slide_id], strength[twin])
    groups: list[int] = []
    for hit in hits:
        group = min(_linked_group(searcher, hit.slide_id))
        r = cat.one("SELECT s.*, l.kind, l.title, c.name AS course, f.path FROM slides s "
                    "JOIN lectures l ON l.id = s.lecture_id JOIN courses c ON c.id = l.course_id "
                    "JOIN files f ON f.id = l.file_id WHERE s.id = ?", (hit.slide_id,))
        if r is None or (course and r["course"] != course):
            continue
        # absolute evidence × evidence relative to the best match (a deck's shared template gives other
        # slides a few dozen inliers: they must not look as certain as the slide in the photo)
        st = strength[hit.slide_id]
        conf = visual_confidence(st) * min(1.0, st / best) ** 0.5
        snippet = " ".join((r["text"] or "").split())[:240]
        if r["kind"] == "pdf":
            out.append(Moment(file=r["path"], lecture=r["title"], lecture_id=r["lecture_id"], course=r["course"],
                              kind="pdf", start_s=None, end_s=None, page=r["page"], score=conf, snippet=snippet,
                              url=f"/pdf/{r['lecture_id']}?page={r['page']}"))
            groups.append(group)
            continue
        occ = cat.q("SELECT start_s, end_s FROM slides WHERE lecture_id=? AND (idx=? OR same_as=?) ORDER BY start_s",
                    (r["lecture_id"], r["idx"], r["idx"]))
        for o in occ:
            out.append(Moment(file=r["path"], lecture=r["title"], lecture_id=r["lecture_id"], course=r["course"],
                              kind=r["kind"], start_s=round(o["start_s"], 2), end_s=round(o["end_s"], 2), page=None,
                              score=conf, snippet=snippet, url=f"/watch/{r['lecture_id']}?t={int(o['start_s'])}"))
            groups.append(group)
    return out, groups


def _same_place(a: Moment, b: Moment) -> bool:
    if a.lecture_id != b.lecture_id:
        return False
    if a.kind == "pdf" or b.kind == "pdf":
        return a.page == b.page
    return a.start_s < b.end_s and b.start_s < a.end_s


def _linked_group(searcher, slide_id: int) -> set[int]:
    """A slide and the PDF pages / video slides linked to it: one answer shown twice."""
    rows = searcher.catalog.q("SELECT page_slide_id, video_slide_id FROM links WHERE page_slide_id=? OR video_slide_id=?",
                              (slide_id, slide_id))
    return {slide_id} | {r[0] for r in rows} | {r[1] for r in rows}


def search_image(searcher, path: str, text: str = "", k: int = 10, course: Optional[str] = None,
                 extra_rankings: Optional[list[list[int]]] = None) -> list[Moment]:
    img = load_image(path)
    feats = extract(img, crop=True, max_side=QUERY_SIDE)
    hits = searcher.visual.match(feats)
    # OCR of the photo feeds the text path; skipped when geometry already settles it and nothing was typed:
    # one strong match with no rival other than its own linked twin (the same slide as a handout page)
    decisive = False
    if hits and hits[0].strength >= DECISIVE:
        twins = _linked_group(searcher, hits[0].slide_id)
        rivals = [h for h in hits[1:] if h.slide_id not in twins]
        decisive = not rivals or rivals[0].strength < 0.5 * hits[0].strength
    # typed words say which part of the picture is meant: they alone drive the text path; otherwise
    # the text read off the photo does, unless the geometry is decisive
    query = text or ("" if decisive else searcher.models.ocr.read(_for_ocr(img)))
    textual = searcher.search_text(query, k=30, course=course, extra_rankings=extra_rankings) \
        if (query or extra_rankings) else []
    visual, groups = _visual_moments(searcher, hits, course)
    return fuse(visual, textual, typed=bool(text), k=k, groups=groups)


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
    for m in fused:
        m.confident = m.score >= CONFIDENT
    return fused[:k]


def _for_ocr(img, max_side: int = 1280):
    import cv2

    h, w = img.shape[:2]
    s = max_side / max(h, w)
    return cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img
