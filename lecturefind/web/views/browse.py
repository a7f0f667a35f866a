"""Course and lecture browsing."""
from __future__ import annotations

from flask import Blueprint, render_template

from ...timecode import clock
from ...urls import URLS, Urls
from ...words import title_line
from .. import access, helpers
from ..store import current_store, or_404

bp = Blueprint("browse", __name__)


@bp.route("/courses")
def courses():
    return render_template("courses.html", courses=access.visible(current_store().catalog().course_summaries()))


@bp.route("/courses/<id:course_id>")
def course(course_id: int):
    cat = current_store().catalog()
    row = or_404(cat.course(course_id))
    lectures = cat.lectures(course=row["name"])
    chapters = {lec["id"]: helpers.chapter_items(cat, lec) for lec in lectures}
    return render_template("course.html", course=row, lectures=lectures, chapters=chapters)


@bp.route("/lectures/<id:lecture_id>")
def lecture(lecture_id: int):
    cat = current_store().catalog()
    lec = or_404(cat.lecture(lecture_id))
    items = []
    for s in cat.slides(lecture_id):
        title = (s["title"] or title_line(s["text"] or ""))[:90]
        if lec["kind"] == "pdf":
            href, when = URLS.pdf(lecture_id, s["page"]), f"page {s['page']}"
        else:
            href, when = URLS.watch(lecture_id, s["start_s"]), clock(s["start_s"])
        items.append({"href": href, "when": when, "title": title, "thumb": Urls.thumb(s["id"]) if s["image"] else None})
    return render_template("lecture.html", lec=lec, course=cat.course(lec["course_id"]), items=items)
