"""Chapters of a video lecture: one per distinct slide, titled by the slide's title (the tallest line near
the top of the OCR'd slide, else its first line).

Consecutive slides with the same title (incremental builds, a slide shown again after a detour) are one chapter;
a slide with no readable title, or one on screen for less than `MIN_S`, continues the chapter before it.
A lecture without slides has no chapters (topic shifts in the transcript are not detected yet).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from ..words import fold, title_line

MIN_S = 3.0       # a slide on screen for less than this (a transition, a flash) starts no chapter


@dataclass
class Chapter:
    start: float
    end: float
    title: str
    slide_id: Optional[int] = None


def _key(title: str) -> str:
    return " ".join(fold(title).split())


def _stored_title(sl) -> str:
    try:
        return sl["title"] or ""
    except (KeyError, IndexError):      # a row without the column (an index made before titles)
        return ""


def chapters(slides: Iterable, duration: float) -> list[Chapter]:
    """`slides`: rows with id, start_s, end_s, text and (when known) title, in time order."""
    out: list[Chapter] = []
    for sl in slides:
        start, end = float(sl["start_s"] or 0.0), float(sl["end_s"] or 0.0)
        title = " ".join((_stored_title(sl) or title_line(sl["text"] or "")).split())
        if out and (not title or end - start < MIN_S or _key(title) == _key(out[-1].title)):
            out[-1].end = max(out[-1].end, end)
            continue
        out.append(Chapter(start, end, title or "Untitled", sl["id"]))
    if out:
        out[0].start = 0.0
        for a, b in zip(out, out[1:]):
            a.end = b.start
        out[-1].end = max(out[-1].end, duration)
    return out
