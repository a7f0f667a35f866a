"""Image queries: verified visual matches fused with the text path fed by OCR of the photo (and any typed text)."""
from __future__ import annotations

import math
from typing import Optional

from ..query_inputs import load_image
from ..values import Moment
from ..visual.features import QUERY_SIDE, extract
from ..visual.index import VisualIndex

CONFIDENT = 0.5
DECISIVE = 60.0   # verified strength beyond which OCR of the photo cannot change the answer


def visual_confidence(strength: float) -> float:
    """Verified-inlier strength to 0..1: ~0.25 at 8 (noise level), ~0.75 at 35, ~0.95 at 80."""
    return 1.0 / (1.0 + math.exp(-(strength - 20.0) / 8.0))


def _visual_index(searcher) -> VisualIndex:
    vi = getattr(searcher, "_visual", None)
    if vi is None:
        vi = searcher._visual = VisualIndex(searcher.catalog)
    return vi


def _visual_moments(searcher, hits, course: Optional[str]) -> list[Moment]:
    cat = searcher.catalog
    out: list[Moment] = []
    for hit in hits:
        r = cat.one("SELECT s.*, l.kind, l.title, c.name AS course, f.path FROM slides s "
                    "JOIN lectures l ON l.id = s.lecture_id JOIN courses c ON c.id = l.course_id "
                    "JOIN files f ON f.id = l.file_id WHERE s.id = ?", (hit.slide_id,))
        if r is None or (course and r["course"] != course):
            continue
        conf = visual_confidence(hit.strength)
        snippet = " ".join((r["text"] or "").split())[:240]
        if r["kind"] == "pdf":
            out.append(Moment(file=r["path"], lecture=r["title"], lecture_id=r["lecture_id"], course=r["course"],
                              kind="pdf", start_s=None, end_s=None, page=r["page"], score=conf, snippet=snippet,
                              url=f"/pdf/{r['lecture_id']}?page={r['page']}"))
            continue
        occ = cat.q("SELECT start_s, end_s FROM slides WHERE lecture_id=? AND (idx=? OR same_as=?) ORDER BY start_s",
                    (r["lecture_id"], r["idx"], r["idx"]))
        for o in occ:
            out.append(Moment(file=r["path"], lecture=r["title"], lecture_id=r["lecture_id"], course=r["course"],
                              kind=r["kind"], start_s=round(o["start_s"], 2), end_s=round(o["end_s"], 2), page=None,
                              score=conf, snippet=snippet, url=f"/watch/{r['lecture_id']}?t={int(o['start_s'])}"))
    return out


def _same_place(a: Moment, b: Moment) -> bool:
    if a.lecture_id != b.lecture_id:
        return False
    if a.kind == "pdf" or b.kind == "pdf":
        return a.page == b.page
    return a.start_s < b.end_s and b.start_s < a.end_s


def search_image(searcher, path: str, text: str = "", k: int = 10, course: Optional[str] = None,
                 extra_rankings: Optional[list[list[int]]] = None) -> list[Moment]:
    img = load_image(path)
    feats = extract(img, crop=True, max_side=QUERY_SIDE)
    hits = _visual_index(searcher).match(feats)
    visual = _visual_moments(searcher, hits, course)
    # OCR of the photo feeds the text path; skipped when geometry already settles it and nothing was typed
    decisive = bool(hits) and hits[0].strength >= DECISIVE and (len(hits) < 2 or hits[1].strength < 0.5 * hits[0].strength)
    ocr_text = "" if decisive and not text else searcher.models.ocr.read(_for_ocr(img))
    query = " ".join(t for t in (text, ocr_text) if t).strip()
    textual = searcher.search_text(query, k=30, course=course, extra_rankings=extra_rankings) \
        if (query or extra_rankings) else []
    # typed text is a deliberate signal; text read off a photo is a weaker, noisier one
    text_weight = 0.9 if text else 0.6
    fused: list[Moment] = []
    for v in visual:
        t = next((m for m in textual if _same_place(v, m)), None)
        if t is not None:
            v.score = 1.0 - (1.0 - v.score) * (1.0 - text_weight * t.score)
            if text:                    # the typed words choose the snippet inside the slide span
                v.snippet = t.snippet or v.snippet
        fused.append(v)
    for t in textual:
        if not any(_same_place(t, v) for v in visual):
            t.score *= text_weight
            fused.append(t)
    # on a tie (scores saturate for a clean match) the lecture moment comes before a handout page
    fused.sort(key=lambda m: (-round(m.score, 2), m.kind == "pdf"))
    for m in fused:
        m.confident = m.score >= CONFIDENT
    return fused[:k]


def _for_ocr(img, max_side: int = 1280):
    import cv2

    h, w = img.shape[:2]
    s = max_side / max(h, w)
    return cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else img
