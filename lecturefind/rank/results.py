"""The one place a search result (`Moment`) is made: link, snippet, rounding and the confidence mark."""
from __future__ import annotations

from typing import Any, Optional

from ..records import Moment
from ..urls import URLS

CONFIDENT = 0.5      # a result scoring at least this is marked `confident`
SNIPPET_CHARS = 240


def snippet(text: Optional[str]) -> str:
    """One line of at most 240 characters."""
    return " ".join((text or "").split())[:SNIPPET_CHARS]


def make_moment(lecture: Any, *, score: float, text: Optional[str] = "", start: Optional[float] = None,
                end: Optional[float] = None, page: Optional[int] = None,
                segment_id: Optional[int] = None, evidence: Optional[str] = None) -> Moment:
    """A result in `lecture` (a catalog row with lecture_id, title, course, kind, path).

    PDF results carry a page and no times; video/audio results carry [start, end) and no page.
    """
    kind = lecture["kind"]
    if kind == "pdf":
        start = end = None
    else:
        page = None
        start = round(float(start or 0.0), 2)
        end = round(max(float(end if end is not None else start), start), 2)
    return Moment(file=lecture["path"], lecture=lecture["title"], lecture_id=lecture["lecture_id"],
                  course=lecture["course"], kind=kind, start_s=start, end_s=end, page=page, score=score,
                  snippet=snippet(text), url=URLS.moment(kind, lecture["lecture_id"], start, page),
                  confident=score >= CONFIDENT, segment_id=segment_id, evidence=evidence,
                  language=lecture["language"] if "language" in lecture.keys() else None)


def answered(moments: list[Moment]) -> bool:
    """Whether the results hold an answer: the best one is confident. Below the threshold the UI, the API and
    the CLI say there is no good answer and show the closest moments as such."""
    return bool(moments) and moments[0].score >= CONFIDENT


def mark_confidence(moments: list[Moment]) -> list[Moment]:
    """Re-mark `confident` after scores changed (fusion)."""
    for m in moments:
        m.confident = m.score >= CONFIDENT
    return moments
