"""Slide/scene change detection on small grey frames sampled at 1-2 fps.

The detector sees one frame at a time (`process_frame`) and compares it with the
last stable reference frame, so slow fades and build-ups do not fire on every
sample; changes closer than `min_slide_s` are folded into one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..records import Slide


def is_black(gray: np.ndarray) -> bool:
    return float(gray.mean()) < 18.0 and float(gray.std()) < 8.0


def frame_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels that changed noticeably (robust to compression noise)."""
    return float((np.abs(a.astype(np.int16) - b.astype(np.int16)) > 24).mean())


@dataclass
class SlideChangeDetector:
    threshold: float = 0.004      # share of changed pixels that counts as a new slide
    min_slide_s: float = 2.0
    same_slide_threshold: float = 0.004
    max_transition_s: float = 6.0
    _last_trigger: float | None = None
    _ref: np.ndarray | None = None
    _last_t: float = 0.0
    _content_start: float | None = None
    _changes: list[float] = field(default_factory=list)
    _frames: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def process_frame(self, t: float, gray: np.ndarray) -> None:
        self._last_t = t
        self._frames.append((t, gray))
        if self._content_start is None:
            if is_black(gray):
                return
            self._content_start = t
            self._ref = gray
            return
        # The reference only moves when a frame differs from it, so a slow fade (each step too small to
        # count) still adds up to a change; a transition keeps its first change time while frames keep
        # differing less than min_slide_s apart, for at most max_transition_s.
        if self._ref is None or frame_distance(gray, self._ref) > self.threshold:
            moving = self._last_trigger is not None and t - self._last_trigger < self.min_slide_s
            self._last_trigger = t
            self._ref = gray
            since = self._changes[-1] if self._changes else self._content_start
            if moving and t - since < self.max_transition_s:
                return                      # still changing: keep the first change time
            if t - self._content_start < self.min_slide_s and not self._changes:
                return
            self._changes.append(t)

    def slides(self, duration: float) -> list[Slide]:
        """Spans between changes, each with a keyframe time and a link to an identical earlier slide."""
        if self._content_start is None:
            return []
        bounds = [self._content_start] + self._changes + [max(duration, self._last_t)]
        out: list[Slide] = []
        thumbs: list[np.ndarray | None] = []
        frames_t = np.array([t for t, _ in self._frames])
        for i in range(len(bounds) - 1):
            start, end = bounds[i], bounds[i + 1]
            kt = max(start, min(end - 0.75, start + max(0.0, end - start) * 0.9))
            j = int(np.clip(np.searchsorted(frames_t, kt, side="right") - 1, 0, len(frames_t) - 1))
            thumb = self._frames[j][1]
            same = None
            if not is_black(thumb):
                for k, other in enumerate(thumbs):
                    if other is not None and frame_distance(thumb, other) < self.same_slide_threshold:
                        same = k
                        break
            thumbs.append(None if is_black(thumb) else thumb)
            out.append(Slide(index=i, start=round(start, 3), end=round(end, 3), keyframe_t=round(kt, 3),
                             same_as=same))
        self._frames = []  # free memory
        return out

    @property
    def content_start(self) -> float:
        return self._content_start or 0.0

    @property
    def changes(self) -> list[float]:
        return list(self._changes)


def crop_borders(img: np.ndarray, tol: int = 12) -> np.ndarray:
    """Remove uniform letterbox/pillarbox bars of any colour."""
    gray = img if img.ndim == 2 else img.mean(axis=2)
    h, w = gray.shape[:2]
    corner = np.median(np.concatenate([gray[0, :], gray[-1, :], gray[:, 0], gray[:, -1]]))
    rows = np.where((np.abs(gray - corner) > tol).mean(axis=1) > 0.01)[0]
    cols = np.where((np.abs(gray - corner) > tol).mean(axis=0) > 0.01)[0]
    if len(rows) == 0 or len(cols) == 0:
        return img
    y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if (y1 - y0) < h * 0.3 or (x1 - x0) < w * 0.3:
        return img
    return img[y0:y1, x0:x1]
