"""Link each slide-PDF page to the video slides that showed it (visual match above a threshold)."""
from __future__ import annotations

from ..index.catalog import Catalog
from .features import residual
from .index import VisualIndex

MIN_INLIERS = 20
MIN_COVERAGE = 0.35   # inliers must spread over the page and the slide, not sit on a shared footer
MAX_RESIDUAL = 0.8    # worst aligned window difference (contrast-normalised): same content, not a look-alike


def _image(catalog: Catalog, slide_id: int, crop: bool):
    import os

    import cv2

    from .features import normalise

    row = catalog.one("SELECT image FROM slides WHERE id=?", (slide_id,))
    if row is None or not row["image"]:
        return None
    img = cv2.imread(os.path.join(catalog.index_dir, "keyframes", row["image"]))
    return None if img is None else normalise(img, crop=crop)  # same geometry as the stored keypoints


def rebuild_links(catalog: Catalog, course_ids: set[int]) -> int:
    """Recompute the links of the given courses; returns how many links exist for them."""
    # pages and video slides of the same deck are near-identical renders: a few hundred of the
    # strongest descriptors per image shortlist reliably, at a fraction of the cost
    vis = VisualIndex(catalog, per_slide=400, query_descriptors=300, kinds=("video",))
    pages_vis = VisualIndex(catalog, kinds=("pdf",))
    total = 0
    with catalog.transaction() as c:
        for course_id in course_ids:
            slides = catalog.q(
                "SELECT s.id, l.kind FROM slides s JOIN lectures l ON l.id = s.lecture_id "
                "JOIN visual v ON v.slide_id = s.id WHERE l.course_id = ?", (course_id,))
            pages = [r["id"] for r in slides if r["kind"] == "pdf"]
            video = {r["id"] for r in slides if r["kind"] == "video"}
            all_ids = pages + list(video)
            if all_ids:
                marks = ",".join("?" * len(all_ids))
                c.execute(f"DELETE FROM links WHERE page_slide_id IN ({marks}) OR video_slide_id IN ({marks})",
                          all_ids + all_ids)
            catalog.clear_links_dirty(course_id)
            if not pages or not video:
                continue
            for pid in pages:
                feats = pages_vis.features(pid)
                if feats is None:
                    continue
                page_img = None
                for hit in vis.match(feats, n=4, among=video, min_inliers=MIN_INLIERS, min_votes=MIN_INLIERS):
                    m = hit.match
                    if m.coverage_query >= MIN_COVERAGE and m.coverage_ref >= MIN_COVERAGE:
                        page_img = page_img if page_img is not None else _image(catalog, pid, crop=False)
                        slide_img = _image(catalog, hit.slide_id, crop=True)
                        if page_img is None or slide_img is None:
                            continue
                        res = residual(page_img, slide_img, m.homography)
                        if res > MAX_RESIDUAL:
                            continue
                        c.execute("INSERT INTO links(page_slide_id, video_slide_id, inliers, score) VALUES(?,?,?,?)",
                                  (pid, hit.slide_id, m.inliers, round(m.strength, 2)))
                        total += 1
    return total
