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

    name = catalog.slide_image(slide_id)
    if not name:
        return None
    img = cv2.imread(os.path.join(catalog.index_dir, "keyframes", name))
    return None if img is None else normalise(img, crop=crop)  # same geometry as the stored keypoints


def rebuild_links(catalog: Catalog, course_ids: set[int]) -> int:
    """Recompute the links of the given courses (one transaction each); returns how many links they have."""
    # pages and video slides of the same deck are near-identical renders: a few hundred of the
    # strongest descriptors per image shortlist reliably, at a fraction of the cost
    vis = VisualIndex(catalog, per_slide=400, query_descriptors=300, kinds=("video",))
    pages_vis = VisualIndex(catalog, kinds=("pdf",))
    total = 0
    for course_id in course_ids:
        slides = catalog.course_visual_slides(course_id)
        pages = [r["id"] for r in slides if r["kind"] == "pdf"]
        video = {r["id"] for r in slides if r["kind"] == "video"}
        links = _course_links(catalog, vis, pages_vis, pages, video) if pages and video else []
        catalog.replace_links(course_id, pages + sorted(video), links)
        total += len(links)
    return total


def _course_links(catalog: Catalog, vis: VisualIndex, pages_vis: VisualIndex, pages: list[int],
                  video: set[int]) -> list[tuple[int, int, int, float]]:
    out = []
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
                if m.homography is None or residual(page_img, slide_img, m.homography) > MAX_RESIDUAL:
                    continue
                out.append((pid, hit.slide_id, m.inliers, round(m.strength, 2)))
    return out
