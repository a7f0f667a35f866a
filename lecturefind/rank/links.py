"""Annotate moments with PDF page ↔ video links: `shown_in` on pages, `slide_ref` on video moments."""
from __future__ import annotations

from ..index.catalog import Catalog
from ..values import Moment, fmt_ts


def _occurrences(catalog: Catalog, video_slide_id: int) -> list:
    """A video slide and every later return of the same slide (same_as) in that lecture."""
    s = catalog.one("SELECT lecture_id, idx FROM slides WHERE id=?", (video_slide_id,))
    return catalog.q("SELECT s.*, l.title FROM slides s JOIN lectures l ON l.id = s.lecture_id "
                     "WHERE s.lecture_id=? AND (s.idx=? OR s.same_as=?) ORDER BY s.start_s",
                     (s["lecture_id"], s["idx"], s["idx"]))


def shown_in(catalog: Catalog, lecture_id: int, page: int) -> list[dict]:
    out = []
    for link in catalog.q("SELECT k.video_slide_id FROM links k JOIN slides p ON p.id = k.page_slide_id "
                          "WHERE p.lecture_id=? AND p.page=? ORDER BY k.inliers DESC", (lecture_id, page)):
        for occ in _occurrences(catalog, link["video_slide_id"]):
            out.append({"lecture": occ["title"], "lecture_id": occ["lecture_id"], "start_s": round(occ["start_s"], 2),
                        "end_s": round(occ["end_s"], 2), "url": f"/watch/{occ['lecture_id']}?t={int(occ['start_s'])}",
                        "label": f"shown in {occ['title']} at {fmt_ts(occ['start_s'])}"})
    return out


def slide_ref(catalog: Catalog, lecture_id: int, t: float) -> dict | None:
    """The PDF page shown at time t of a video, if that slide is linked to one."""
    sl = catalog.one("SELECT idx, same_as FROM slides WHERE lecture_id=? AND start_s <= ? AND end_s > ? "
                     "ORDER BY start_s DESC LIMIT 1", (lecture_id, t + 0.01, t + 0.01))
    if sl is None:
        return None
    idx = sl["same_as"] if sl["same_as"] is not None else sl["idx"]
    row = catalog.one(
        "SELECT p.page, p.lecture_id, l.title, f.path FROM links k JOIN slides v ON v.id = k.video_slide_id "
        "JOIN slides p ON p.id = k.page_slide_id JOIN lectures l ON l.id = p.lecture_id "
        "JOIN files f ON f.id = l.file_id WHERE v.lecture_id=? AND v.idx=? ORDER BY k.inliers DESC LIMIT 1",
        (lecture_id, idx))
    if row is None:
        return None
    import os

    deck = os.path.basename(row["path"])
    return {"deck": deck, "lecture_id": row["lecture_id"], "page": row["page"],
            "url": f"/pdf/{row['lecture_id']}?page={row['page']}", "label": f"slide {row['page']} of {deck}"}


def annotate(catalog: Catalog, moments: list[Moment]) -> list[Moment]:
    for m in moments:
        if m.kind == "pdf" and m.page:
            m.shown_in = shown_in(catalog, m.lecture_id, m.page)
        elif m.kind == "video" and m.start_s is not None:
            m.slide_ref = slide_ref(catalog, m.lecture_id, m.start_s)
    return moments
