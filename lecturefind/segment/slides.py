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


KEYFRAME_LEAD_S = 0.75   # a slide's picture is taken this long before it ends: its final state, clear of the cut


def keyframe_time(start: float, end: float) -> float:
    """When a slide shown during [start, end) is pictured (and read): its last state before the next change."""
    return max(start, end - KEYFRAME_LEAD_S)


@dataclass
class SlideChangeDetector:
    """Streams frames in (`process_frame`); each slide comes out as soon as the next change ends it, so its
    picture can be read while the video is still decoding; `slides` ends the last one."""

    threshold: float = 0.004      # share of changed pixels that counts as a new slide
    min_slide_s: float = 2.0
    same_slide_threshold: float = 0.004
    max_transition_s: float = 6.0
    _last_trigger: float | None = None
    _ref: np.ndarray | None = None
    _last_t: float = 0.0
    _content_start: float | None = None
    _changes: list[float] = field(default_factory=list)
    _frames: list[tuple[float, np.ndarray]] = field(default_factory=list)    # current slide: first, last seconds
    _slides: list[Slide] = field(default_factory=list)
    _thumbs: list[np.ndarray | None] = field(default_factory=list)
    _ended: bool = False

    def process_frame(self, t: float, gray: np.ndarray) -> Slide | None:
        """Look at one frame; the slide it ends, if it shows a new one."""
        self._last_t = t
        self._frames.append((t, gray))
        if len(self._frames) > 16:   # a keyframe is the slide's first frame or one of its last seconds
            self._frames = self._frames[:1] + [f for f in self._frames[1:] if f[0] >= t - KEYFRAME_LEAD_S - 1.5]
        if self._content_start is None:
            if is_black(gray):
                self._frames.clear()
                return None
            self._content_start = t
            self._ref = gray
            return None
        # The reference only moves when a frame differs from it, so a slow fade (each step too small to
        # count) still adds up to a change; a transition keeps its first change time while frames keep
        # differing less than min_slide_s apart, for at most max_transition_s.
        if self._ref is None or frame_distance(gray, self._ref) > self.threshold:
            moving = self._last_trigger is not None and t - self._last_trigger < self.min_slide_s
            self._last_trigger = t
            self._ref = gray
            since = self._changes[-1] if self._changes else self._content_start
            if moving and t - since < self.max_transition_s:
                return None                 # still changing: keep the first change time
            if t - self._content_start < self.min_slide_s and not self._changes:
                return None
            self._changes.append(t)
            return self._close(t)
        return None

    def _close(self, end: float) -> Slide:
        """The current slide, ended at `end`: its keyframe (the last sampled frame at or before
        `keyframe_time`) and a link to an identical earlier slide."""
        i = len(self._slides)
        start = self._content_start if i == 0 else self._changes[i - 1]
        assert start is not None
        kt = keyframe_time(start, end)
        before = [f for f in self._frames if f[0] <= kt + 1e-6]
        t_key, thumb = before[-1] if before else self._frames[0]
        same = None
        if not is_black(thumb):
            for k, other in enumerate(self._thumbs):
                if other is not None and frame_distance(thumb, other) < self.same_slide_threshold:
                    same = k
                    break
        self._thumbs.append(None if is_black(thumb) else thumb)
        slide = Slide(index=i, start=round(start, 3), end=round(end, 3), keyframe_t=round(t_key, 3), same_as=same)
        self._slides.append(slide)
        self._frames = [f for f in self._frames if f[0] >= end]    # the next slide's frames only
        return slide

    def slides(self, duration: float) -> list[Slide]:
        """Every slide, the last one ended at the end of the video; each with a keyframe time (`keyframe_t`,
        a sampled frame's time) and a link to an identical earlier slide."""
        if self._content_start is None:
            return []
        if not self._ended:
            self._ended = True
            if self._frames:
                self._close(max(duration, self._last_t))
            self._frames = []   # free memory
        return list(self._slides)

    @property
    def slides_so_far(self) -> list[Slide]:
        """The slides ended so far."""
        return list(self._slides)

    @property
    def content_start(self) -> float:
        return self._content_start or 0.0

    @property
    def changes(self) -> list[float]:
        return list(self._changes)


def border_box(img: np.ndarray, tol: int = 12) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the image inside uniform letterbox/pillarbox bars of any colour (all of it if none)."""
    gray = img if img.ndim == 2 else img.mean(axis=2)
    h, w = gray.shape[:2]
    corner = np.median(np.concatenate([gray[0, :], gray[-1, :], gray[:, 0], gray[:, -1]]))
    rows = np.where((np.abs(gray - corner) > tol).mean(axis=1) > 0.01)[0]
    cols = np.where((np.abs(gray - corner) > tol).mean(axis=0) > 0.01)[0]
    if len(rows) == 0 or len(cols) == 0:
        return 0, h, 0, w
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if (y1 - y0) < h * 0.3 or (x1 - x0) < w * 0.3:
        return 0, h, 0, w
    return y0, y1, x0, x1


def crop_borders(img: np.ndarray, tol: int = 12) -> np.ndarray:
    """Remove uniform letterbox/pillarbox bars of any colour."""
    y0, y1, x0, x1 = border_box(img, tol)
    return img[y0:y1, x0:x1]
