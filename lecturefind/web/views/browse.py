"""Course and lecture browsing."""
from flask import Blueprint, abort, render_template

from .. import helpers
from ..pages import store

bp = Blueprint("browse", __name__)


@bp.route("/courses")
def courses():
    cat = store().catalog()
    rows = cat.q("SELECT c.id, c.name, COUNT(l.id) AS n, SUM(CASE WHEN l.kind != 'pdf' THEN l.duration END) AS secs "
                 "FROM courses c LEFT JOIN lectures l ON l.course_id = c.id GROUP BY c.id ORDER BY c.name")
    return render_template("courses.html", courses=rows)


@bp.route("/courses/<int:course_id>")
def course(course_id: int):
    cat = store().catalog()
    row = cat.one("SELECT id, name FROM courses WHERE id = ?", (course_id,))
    if row is None:
        abort(404)
    lectures = cat.lectures(course=row["name"])
    return render_template("course.html", course=row, lectures=lectures)


@bp.route("/lectures/<int:lecture_id>")
def lecture(lecture_id: int):
    cat = store().catalog()
    lec = cat.lecture(lecture_id)
    if lec is None:
        abort(404)
    course_row = cat.one("SELECT id, name FROM courses WHERE id = ?", (lec["course_id"],))
    slides = cat.q("SELECT id, idx, start_s, end_s, page, text, image FROM slides WHERE lecture_id = ? "
                   "ORDER BY COALESCE(page, 0), start_s", (lecture_id,))
    items = []
    for s in slides:
        title = ((s["text"] or "").strip().splitlines() or [""])[0][:90]
        if lec["kind"] == "pdf":
            href, when = f"/pdf/{lecture_id}?page={s['page']}", f"page {s['page']}"
        else:
            href, when = f"/watch/{lecture_id}?t={int(s['start_s'])}", helpers.mmss(s["start_s"])
        items.append({"href": href, "when": when, "title": title,
                      "thumb": f"/thumb/{s['id']}.jpg" if s["image"] else None})
    return render_template("lecture.html", lec=lec, course=course_row, items=items)
