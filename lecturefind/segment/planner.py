"""Plan overlapping clips over a timeline, snapping edges to slide changes."""
from __future__ import annotations

import bisect

from ..records import Span


def _nearest(points: list[float], t: float, within: float, lo: float, hi: float) -> float | None:
    """The point closest to t within `within` seconds and strictly inside (lo, hi)."""
    i = bisect.bisect_left(points, t)
    best = None
    for p in points[max(0, i - 2): i + 2]:
        if lo < p < hi and abs(p - t) <= within and (best is None or abs(p - t) < abs(best - t)):
            best = p
    return best


def plan_clips(duration: float, changes: list[float], *, window: float = 30.0, overlap: float = 10.0,
               snap: float = 4.0, max_len: float = 80.0, start: float = 0.0) -> list[Span]:
    """Overlapping clips of about `window` s covering [start, duration].

    Clip ends snap to a slide change within `snap` s, the next clip starts
    `overlap` s before the previous end (also snapped), no clip exceeds
    `max_len`, and a short tail is folded into the last clip when that keeps it
    within `max_len`.
    """
    if duration <= 0:
        return []
    window = min(window, max_len)
    overlap = min(overlap, window / 2)
    changes = sorted(c for c in changes if 0 < c < duration)
    start = min(max(0.0, start), max(0.0, duration - 1.0))
    if duration - start <= window:
        return [Span(start, duration)]
    spans: list[Span] = []
    s = start
    min_len = window / 2
    while True:
        target = s + window
        prev_end = spans[-1].end if spans else s     # a clip must reach past the previous one
        if duration - target < window / 3:         # fold the tail into this clip
            e = duration if duration - s <= max_len else s + window
        else:
            lo = max(s + min_len, prev_end + 1.0)
            e = _nearest(changes, target, snap, lo, min(duration, s + max_len)) or target
        e = min(max(e, prev_end + 1.0), duration, s + max_len)
        spans.append(Span(round(s, 3), round(e, 3)))
        if e >= duration:
            break
        nxt = e - overlap
        nxt = _nearest(changes, nxt, snap, s + 1.0, e - 1.0) or nxt
        s = max(nxt, s + 1.0)
    return spans
