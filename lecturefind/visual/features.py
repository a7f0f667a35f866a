"""Local visual descriptors (SIFT → RootSIFT) and RANSAC homography verification."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from ..segment.slides import crop_borders

INDEX_SIDE = 1280      # slides and pages: fine detail so that a crop of a small diagram still matches
QUERY_SIDE = 800       # photos are blurred anyway; smaller is faster
# PDF pages are detected on a smaller copy, keypoints kept in the frame of the 1280 px render (see `extract`):
PAGE_SIDE = 960        # slides, figures, pages without text: 1.8x less CPU than 1280, the sample course keeps its
                       # 5 page↔slide links and image-query recall (at 800 one link is lost: its vote shortlist fails)
TEXT_PAGE_SIDE = 400   # portrait pages of text alone (a textbook's): ~0.11 s CPU, 6x less than 960. Phone photos of
                       # such pages (whole, projected, half and a quarter of the page; testing/pdfs.py textbook) are
                       # found better than at 1280: 32 of 32 at rank 1, confident (at 1280: 24, 2 wrong ones confident);
                       # at 240, or with no descriptors on text pages, 6 of 16 whole-page photos
N_FEATURES = 2000
_local = threading.local()     # one detector per thread: files are read in parallel (ingest --jobs)


def _detector():
    sift = getattr(_local, "sift", None)
    if sift is None:
        sift = _local.sift = cv2.SIFT_create(nfeatures=N_FEATURES, contrastThreshold=0.01)
    return sift


@dataclass
class Features:
    keypoints: np.ndarray     # (n, 2) float32, pixel coords in the normalised image
    descriptors: np.ndarray   # (n, 128) uint8 raw SIFT
    width: int
    height: int

    def root(self) -> np.ndarray:
        """RootSIFT: L1-normalise, square-root; unit L2 norm, comparable by inner product."""
        d = self.descriptors.astype(np.float32)
        d /= d.sum(axis=1, keepdims=True) + 1e-7
        return np.sqrt(d)

    def to_blobs(self) -> tuple[bytes, bytes]:
        return self.keypoints.astype(np.float32).tobytes(), self.descriptors.astype(np.uint8).tobytes()

    @classmethod
    def from_blobs(cls, kp: bytes, desc: bytes, width: int, height: int) -> "Features":
        return cls(np.frombuffer(kp, np.float32).reshape(-1, 2), np.frombuffer(desc, np.uint8).reshape(-1, 128),
                   width, height)


def normalise(img: np.ndarray, crop: bool = True, max_side: int = INDEX_SIDE) -> np.ndarray:
    """Grey, borders cropped, at most max_side px, contrast equalised (CLAHE) — for index and query alike."""
    if crop:
        img = crop_borders(img)
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    h, w = gray.shape
    s = max_side / max(h, w)
    if s < 1:
        gray = cv2.resize(gray, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(gray)


def extract(img: np.ndarray, crop: bool = True, max_side: int = INDEX_SIDE,
            work_side: Optional[int] = None) -> Features:
    """SIFT of the normalised image (at most max_side px). With `work_side`, detected on a copy at most that many
    pixels (SIFT's cost grows with the pixels), keypoints scaled back: the features are in the frame of the
    max_side image either way, so a homography maps between stored renders whatever size they were detected at."""
    gray = normalise(img, crop, max_side)
    h, w = gray.shape
    work, s = gray, 1.0
    if work_side and max(h, w) > work_side:
        s = work_side / max(h, w)
        work = cv2.resize(gray, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    kps, desc = _detector().detectAndCompute(work, None)
    if desc is None or not kps:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, 128), np.uint8), w, h)
    order = np.argsort([-k.response for k in kps])          # strongest first: prefixes are the best subsets
    pts = np.array([kps[i].pt for i in order], np.float32)
    if s != 1.0:
        pts = (pts + 0.5) / np.float32(s) - 0.5               # pixel centres of the work copy → the frame's
    return Features(pts, np.clip(desc[order], 0, 255).astype(np.uint8), w, h)


@dataclass
class Match:
    inliers: int
    matches: int
    coverage_query: float     # share of the query's feature area covered by inliers
    coverage_ref: float       # same, in the reference slide
    homography: Optional[np.ndarray] = None   # query → reference, in normalised-image pixels

    @property
    def strength(self) -> float:
        """Inliers, discounted when they cluster in a small corner (a shared logo or footer)."""
        return self.inliers * min(1.0, 2.5 * self.coverage_query) ** 0.5


def _hull_share(pts: np.ndarray, ref_pts: np.ndarray) -> float:
    if len(pts) < 3 or len(ref_pts) < 3:
        return 0.0
    a = cv2.contourArea(cv2.convexHull(pts.astype(np.float32)))
    b = cv2.contourArea(cv2.convexHull(ref_pts.astype(np.float32)))
    return float(a / b) if b > 0 else 0.0


def verify(query: Features, ref: Features, q_root: Optional[np.ndarray] = None,
           r_root: Optional[np.ndarray] = None, ratio: float = 0.8) -> Match:
    """Ratio-test matches, then a RANSAC homography; returns inlier count and coverage."""
    if len(query.descriptors) < 4 or len(ref.descriptors) < 4:
        return Match(0, 0, 0.0, 0.0)
    qd = q_root if q_root is not None else query.root()
    rd = r_root if r_root is not None else ref.root()
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    pairs = matcher.knnMatch(qd, rd, k=2)
    good = [m for m, *rest in (p for p in pairs if p) if not rest or m.distance < ratio * rest[0].distance]
    if len(good) < 6:
        return Match(0, len(good), 0.0, 0.0)
    src = query.keypoints[[m.queryIdx for m in good]]
    dst = ref.keypoints[[m.trainIdx for m in good]]
    H, mask = cv2.findHomography(src, dst, cv2.RANSAC, 6.0, maxIters=2000, confidence=0.995)
    if H is None or mask is None:
        return Match(0, len(good), 0.0, 0.0)
    mask = mask.ravel().astype(bool)
    n = int(mask.sum())
    if n < 6 or not _sane(H):
        return Match(0, len(good), 0.0, 0.0)
    return Match(n, len(good), _hull_share(src[mask], query.keypoints), _hull_share(dst[mask], ref.keypoints), H)


def residual(query_img: np.ndarray, ref_img: np.ndarray, H: np.ndarray, width: int = 640, block: int = 8) -> float:
    """How different two aligned normalised images are where they overlap: the largest mean absolute
    difference of any block×block window (contrast-normalised units), at a fixed working width.
    Near-identical renders stay around 0.1-0.3; a changed word or digit stands out (> 1)."""
    h, w = ref_img.shape[:2]
    warped = cv2.warpPerspective(query_img, H, (w, h), flags=cv2.INTER_AREA)
    valid = cv2.warpPerspective(np.full(query_img.shape[:2], 255, np.uint8), H, (w, h)) > 0
    s = width / w
    size = (width, max(1, int(h * s)))
    a = cv2.resize(warped, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(ref_img, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    valid = cv2.resize(valid.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    valid = cv2.erode(valid, np.ones((5, 5), np.uint8)) > 0
    if valid.sum() < 100:
        return float("inf")
    a = cv2.GaussianBlur(a, (0, 0), 1.0)
    b = cv2.GaussianBlur(b, (0, 0), 1.0)
    # compensate global brightness/contrast differences between a render and a video frame
    a = (a - a[valid].mean()) / (a[valid].std() + 1e-3)
    b = (b - b[valid].mean()) / (b[valid].std() + 1e-3)
    diff = np.where(valid, np.abs(a - b), 0.0).astype(np.float32)
    local = cv2.boxFilter(diff, -1, (block, block))
    inside = cv2.boxFilter(valid.astype(np.float32), -1, (block, block)) > 0.95
    return float(local[inside].max()) if inside.any() else float("inf")


def _sane(H: np.ndarray) -> bool:
    """Reject degenerate homographies (mirroring, extreme scaling or perspective)."""
    det = H[0, 0] * H[1, 1] - H[0, 1] * H[1, 0]
    return 0.02 < abs(det) < 50 and det > 0 and abs(H[2, 0]) < 0.005 and abs(H[2, 1]) < 0.005
