"""PDF page ↔ video links on results: `shown_in` on pages (page → moments), `slide_ref` on video moments."""
from __future__ import annotations

import os
from typing import Optional

from ..index.catalog import Catalog
from ..records import Moment
from ..timecode import clock
from ..urls import URLS


def shown_in(catalog: Catalog, lecture_id: int, page: int) -> list[dict]:
    """Every video moment that showed this PDF page (each return of the slide included), strongest link first."""
    out = []
    for video_slide_id in catalog.page_links(lecture_id, page):
        for occ in catalog.slide_occurrences(video_slide_id):
            out.append({"lecture": occ["title"], "lecture_id": occ["lecture_id"], "start_s": round(occ["start_s"], 2),
                        "end_s": round(occ["end_s"], 2), "url": URLS.watch(occ["lecture_id"], occ["start_s"]),
                        "label": f"{occ['title']} at {clock(occ['start_s'])}"})
    return out


def slide_ref(catalog: Catalog, lecture_id: int, t: float) -> Optional[dict]:
    """The PDF page shown at time t of a video, if that slide is linked to one."""
    sl = catalog.slide_at(lecture_id, t)
    if sl is None or not (sl["start_s"] <= t + 0.01 < sl["end_s"]):
        return None
    idx = sl["same_as"] if sl["same_as"] is not None else sl["idx"]
    row = catalog.linked_page(lecture_id, idx)
    if row is None:
        return None
    deck = os.path.basename(row["path"])
    return {"deck": deck, "lecture_id": row["lecture_id"], "page": row["page"],
            "url": URLS.pdf(row["lecture_id"], row["page"]), "label": f"slide {row['page']} of {deck}"}


def annotate(catalog: Catalog, moments: list[Moment]) -> list[Moment]:
    for m in moments:
        if m.kind == "pdf" and m.page:
            m.shown_in = shown_in(catalog, m.lecture_id, m.page)
        elif m.kind == "video" and m.start_s is not None:
            m.slide_ref = slide_ref(catalog, m.lecture_id, m.start_s)
    return moments
