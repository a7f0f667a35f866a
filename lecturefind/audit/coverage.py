"""Judging each learning objective against the indexed course: covered / thin / missing, where, and for how long.

An objective is asked as a question (the Searcher's text path, both embedding models and BM25). Its *strength* is
the best moment's score, the same calibrated 0..1 confidence search results carry; moments scoring at least the
`thin` threshold teach it. Time spent is the union of the spans of the moments at the objective's own level
(covered: at least `covered`), per lecture; the same moments are what an objective claims of a lecture.
The thresholds were chosen on objective sets with known answers (`scripts/bench/audit_thresholds.py`; the README
gives the numbers).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from ..errors import LectureFindError
from ..records import Moment, Span
from .objectives import Objective

COVERED = float(os.environ.get("LECTUREFIND_AUDIT_COVERED", "0.65"))
THIN = float(os.environ.get("LECTUREFIND_AUDIT_THIN", "0.5"))
ASK_K = 20              # moments asked per objective
KEEP_MOMENTS = 8        # teaching moments listed per objective


@dataclass(frozen=True)
class Thresholds:
    covered: float = COVERED
    thin: float = THIN

    def __post_init__(self) -> None:
        if not 0.0 <= self.thin <= self.covered <= 1.0:
            raise LectureFindError(f"audit thresholds must satisfy 0 <= thin ({self.thin}) <= covered "
                                   f"({self.covered}) <= 1")

    def verdict(self, strength: float) -> str:
        return "covered" if strength >= self.covered else "thin" if strength >= self.thin else "missing"


@dataclass
class LectureShare:
    """How one lecture teaches an objective: its best moment and the time its teaching moments span."""

    lecture_id: int
    lecture: str
    file: str
    kind: str
    strength: float
    seconds: float
    url: str


@dataclass
class ObjectiveCoverage:
    objective: Objective
    verdict: str
    strength: float
    seconds: float
    lectures: list[LectureShare] = field(default_factory=list)    # best first
    moments: list[Moment] = field(default_factory=list)           # teaching moments, best first
    closest: Optional[Moment] = None                              # for a missing objective: the nearest thing
    repeated: bool = False       # taught (covered strength) in two or more video/audio lectures
    pdf_only: bool = False       # at its level only in PDF pages, in no lecture recording
    level: float = 1.0           # moments scoring at least this are time spent on it (its verdict's threshold)

    @property
    def best(self) -> Optional[Moment]:
        return self.moments[0] if self.moments else None


def union_seconds(spans: Sequence[Span]) -> float:
    """Length of the union of spans."""
    total, end = 0.0, float("-inf")
    for s in sorted(spans, key=lambda s: s.start):
        if s.end <= end:
            continue
        total += s.end - max(s.start, end)
        end = s.end
    return total


def spans_of(moments: Sequence[Moment]) -> list[Span]:
    return [Span(m.start_s, m.end_s) for m in moments if m.start_s is not None and m.end_s is not None]


class Auditor:
    """Asks the Searcher about each objective; `search(text, k, course, latent) -> [Moment]` is the text path."""

    def __init__(self, search: Callable[..., list[Moment]], thresholds: Optional[Thresholds] = None, k: int = ASK_K):
        self.search = search
        self.thresholds = thresholds or Thresholds()
        self.k = k

    def judge(self, objective: Objective, course: Optional[str] = None) -> ObjectiveCoverage:
        # without latent terms: the thresholds were chosen without them, and with them an objective the course
        # does not teach borrows a related lecture's terms (dev1+dev2 audit sets: "covered" precision 0.970 -> 0.918)
        found = self.search(objective.question, k=self.k, course=course, latent=False)
        t = self.thresholds
        teaching = [m for m in found if m.score >= t.thin]
        strength = found[0].score if found else 0.0
        verdict = t.verdict(strength)
        # time spent counts the moments at the objective's own level: a covered objective's near misses elsewhere
        # are listed, but they are not time spent teaching it
        level = t.covered if verdict == "covered" else t.thin
        shares = []
        for lid in dict.fromkeys(m.lecture_id for m in teaching):
            mine = [m for m in teaching if m.lecture_id == lid]
            seconds = union_seconds(spans_of([m for m in mine if m.score >= level]))
            first = mine[0]
            shares.append(LectureShare(lid, first.lecture, first.file, first.kind, first.score, seconds, first.url))
        recorded = [s for s in shares if s.kind != "pdf"]
        in_pdf = any(s.kind == "pdf" and s.strength >= level for s in shares)
        return ObjectiveCoverage(
            objective, verdict, strength, sum(s.seconds for s in shares), shares,
            teaching[:KEEP_MOMENTS], closest=None if teaching else (found[0] if found else None),
            repeated=sum(1 for s in recorded if s.strength >= t.covered) >= 2,
            pdf_only=in_pdf and not any(s.strength >= level for s in recorded), level=level)

    def run(self, objectives: Sequence[Objective], course: Optional[str] = None,
            progress: Optional[Callable[[int, int], None]] = None) -> list[ObjectiveCoverage]:
        out = []
        for i, o in enumerate(objectives):
            out.append(self.judge(o, course))
            if progress:
                progress(i + 1, len(objectives))
        return out
