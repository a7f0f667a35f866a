"""A course audit as one value (`Audit`) and its renderings: terminal table, JSON, CSV and the HTML coverage matrix.

The HTML body (`_audit.html`) is shared by the standalone report file and the web page `/audit`.
"""
from __future__ import annotations

import csv
import io
import shutil
from dataclasses import asdict, dataclass
from typing import Callable, Optional, Sequence

from ..errors import LectureFindError, printable
from ..index.catalog import Catalog
from ..timecode import clock
from .coverage import Auditor, ObjectiveCoverage, Thresholds
from .objectives import Objective
from .overlap import Duplicate, LectureCoverage, lecture_coverage, near_same_slides, shown_pages

FORMATS = ("table", "json", "csv", "html")
EVIDENCE = {"speech": "speech", "slide": "slide", "page": "PDF page", "clip": "slides + speech"}


@dataclass
class Audit:
    course: Optional[str]
    thresholds: Thresholds
    objectives: list[ObjectiveCoverage]
    lectures: list[LectureCoverage]
    duplicates: list[Duplicate]

    @property
    def counts(self) -> dict[str, int]:
        out = {"covered": 0, "thin": 0, "missing": 0}
        for o in self.objectives:
            out[o.verdict] += 1
        return out

    def strength(self, objective: ObjectiveCoverage, lecture_id: int) -> Optional[float]:
        return next((s.strength for s in objective.lectures if s.lecture_id == lecture_id), None)

    def to_json(self) -> dict:
        def moment(m) -> dict:
            d = m.to_json()
            d["evidence"] = [EVIDENCE.get(m.evidence or "", m.evidence)] if m.evidence else []
            return {k: d[k] for k in ("lecture_id", "lecture", "file", "kind", "start_s", "end_s", "page",
                                      "score", "evidence", "url", "snippet")}

        objectives = []
        for o in self.objectives:
            objectives.append({
                "objective": o.objective.text, "group": o.objective.group, "line": o.objective.line,
                "verdict": o.verdict, "strength": round(o.strength, 4), "seconds": round(o.seconds, 1),
                "repeated": o.repeated, "pdf_only": o.pdf_only,
                "lectures": [{**asdict(s), "strength": round(s.strength, 4), "seconds": round(s.seconds, 1)}
                             for s in o.lectures],
                "moments": [moment(m) for m in o.moments],
                "closest": moment(o.closest) if o.closest else None})
        return {"course": self.course, "thresholds": asdict(self.thresholds), "counts": self.counts,
                "objectives": objectives, "lectures": [asdict(c) for c in self.lectures],
                "duplicates": [asdict(d) for d in self.duplicates],
                "unmatched": [{"lecture_id": c.lecture_id, "lecture": c.lecture, **asdict(s)}
                              for c in self.lectures for s in c.unclaimed]}


def run_audit(catalog: Catalog, search: Callable, objectives: Sequence[Objective], course: Optional[str] = None,
              thresholds: Optional[Thresholds] = None,
              progress: Optional[Callable[[int, int], None]] = None) -> Audit:
    """Judge every objective, then find what the course teaches twice and what no objective claims."""
    if course and course not in catalog.course_names():
        names = ", ".join(catalog.course_names()) or "none yet"
        raise LectureFindError(f"no course named {course!r} in this index (courses: {names})")
    lectures = catalog.lectures(course)
    if not lectures:
        raise LectureFindError("the index holds no lectures yet; run `lecturefind ingest` first")
    auditor = Auditor(search, thresholds or Thresholds())
    results = auditor.run(objectives, course, progress)
    ids = {lec["lecture_id"] for lec in lectures}
    return Audit(course, auditor.thresholds, results, lecture_coverage(catalog, results, course),
                 shown_pages(catalog, ids) + near_same_slides(catalog, course))


# -- terminal table ---------------------------------------------------------------------------------
def _cut(text: str, width: int) -> str:
    text = printable(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def table(audit: Audit, width: Optional[int] = None) -> str:
    """Readable at 100 columns: one line per objective, then what is taught twice and what no objective claims."""
    width = width or min(shutil.get_terminal_size((100, 24)).columns, 140)
    t = audit.thresholds
    c = audit.counts
    lines = [f"{len(audit.objectives)} objectives: {c['covered']} covered, {c['thin']} thin, {c['missing']} missing",
             f"(strength = the best moment's score; covered ≥ {t.covered:.2f}, thin ≥ {t.thin:.2f}, else missing)", ""]
    where_w = 26
    text_w = max(20, width - 8 - 6 - 7 - 5 - where_w - 5)
    lines.append(f"{'verdict':<8} {'str':>5} {'time':>6} {'lect':>4}  {'objective':<{text_w}} "
                 f"{'best moment':<{where_w}}".rstrip())
    group = None
    for o in audit.objectives:
        if o.objective.group != group:
            group = o.objective.group
            if group:
                lines.append(f"── {_cut(group, width - 3)}")
        best = o.best
        where = ""
        if best is not None:
            at = f"p.{best.page}" if best.kind == "pdf" else clock(best.start_s)
            where = _cut(best.lecture, where_w - len(at) - 1) + " " + at
        flags = ("²" if o.repeated else "") + ("ᴾ" if o.pdf_only else "")
        lines.append(f"{o.verdict:<8} {o.strength:>5.2f} {clock(o.seconds) if o.seconds else '-':>6} "
                     f"{len(o.lectures):>4}  {_cut(o.objective.text, text_w - len(flags)) + flags:<{text_w}} {where}")
    lines.append("")
    lines.append("² taught in two or more lectures   ᴾ only in PDF pages, in no recording")
    if audit.duplicates:
        lines += ["", "Taught twice:"]
        for d in audit.duplicates:
            places = "; ".join(f"{p.lecture} " + (f"p.{p.page}" if p.kind == "pdf" else clock(p.start_s))
                               for p in d.places)
            lines.append("  " + _cut(f"{d.kind} “{d.label}”: {places}", width - 2))
    pdf_only = [o for o in audit.objectives if o.pdf_only]
    if pdf_only:
        lines += ["", "Only in PDF pages, in no recording:"]
        for o in pdf_only:
            b = o.best
            lines.append("  " + _cut(f"{o.objective.text} ({b.lecture} p.{b.page})" if b else o.objective.text,
                                     width - 2))
    gaps = [(c, s) for c in audit.lectures for s in c.unclaimed]
    pages = [(c, c.unclaimed_pages) for c in audit.lectures if c.unclaimed_pages]
    if gaps or pages:
        lines += ["", "Not claimed by any objective:"]
        for cov, s in gaps:
            titles = ", ".join(s.titles) if s.titles else "no slide titles"
            lines.append("  " + _cut(f"{cov.lecture} {clock(s.start_s)}–{clock(s.end_s)}: {titles}", width - 2))
    for cov, ps in pages:
        lines.append("  " + _cut(f"{cov.lecture}: pages {page_ranges(ps)} match no objective", width - 2))
    return "\n".join(lines) + "\n"


def page_ranges(pages: Sequence[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1–3, 7, 9–10'."""
    out: list[str] = []
    run: list[int] = []
    for p in sorted(pages):
        if run and p == run[-1] + 1:
            run.append(p)
            continue
        if run:
            out.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [p]
    if run:
        out.append(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]))
    return ", ".join(out)


# -- CSV --------------------------------------------------------------------------------------------
def csv_text(audit: Audit, base_url: str = "") -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["group", "objective", "verdict", "strength", "seconds", "lectures", "repeated", "pdf_only",
                "best_lecture", "best_at", "best_url", "evidence"])
    for o in audit.objectives:
        b = o.best
        w.writerow([o.objective.group, o.objective.text, o.verdict, f"{o.strength:.3f}", f"{o.seconds:.0f}",
                    "; ".join(s.lecture for s in o.lectures), int(o.repeated), int(o.pdf_only),
                    b.lecture if b else "", (f"p.{b.page}" if b.kind == "pdf" else clock(b.start_s)) if b else "",
                    base_url + b.url if b else "", EVIDENCE.get(b.evidence or "", "") if b else ""])
    return buf.getvalue()


# -- HTML -------------------------------------------------------------------------------------------
def cell_class(strength: Optional[float], t: Thresholds) -> str:
    if strength is None or strength < t.thin:
        return "none"
    return "covered" if strength >= t.covered else "thin"


def html_context(audit: Audit, base_url: str = "") -> dict:
    """What `_audit.html` renders: the matrix rows (objective × lecture cells) and the lists."""
    rows = []
    for o in audit.objectives:
        cells = []
        for lec in audit.lectures:
            share = next((s for s in o.lectures if s.lecture_id == lec.lecture_id), None)
            cells.append({"strength": share.strength if share else None, "url": share.url if share else None,
                          "cls": cell_class(share.strength if share else None, audit.thresholds),
                          "lecture": lec.lecture})
        rows.append({"o": o, "cells": cells})
    return {"audit": audit, "rows": rows, "base": base_url, "counts": audit.counts, "evidence": EVIDENCE,
            "page_ranges": page_ranges}


def html(audit: Audit, base_url: str = "") -> str:
    """A standalone HTML report (inline style, no scripts); links point at `base_url` (the LectureFind server)."""
    import os

    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from ..web import WEB_DIR

    env = Environment(loader=FileSystemLoader(os.path.join(WEB_DIR, "templates")),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["clock"] = clock
    with open(os.path.join(WEB_DIR, "static", "audit.css"), encoding="utf-8") as fh:
        css = fh.read()
    return env.get_template("audit_report.html").render(css=css, **html_context(audit, base_url))
