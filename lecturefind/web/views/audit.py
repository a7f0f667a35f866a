"""The course audit page: objectives pasted or uploaded, the coverage matrix back (off unless AUDIT is set;
instructor-only once access control exists)."""
from __future__ import annotations

import os
import tempfile

from flask import Blueprint, abort, current_app, render_template, request

from ...audit import report
from ...audit.objectives import MAX_FILE_BYTES, read_objectives
from ...errors import LectureFindError
from .. import access
from ..security import check_rate, clean_message
from ..store import current_store

bp = Blueprint("audit", __name__)
MAX_TEXT_CHARS = 200_000
_SUFFIX = {".pdf", ".csv", ".md", ".txt"}


@bp.before_request
def _enabled() -> None:
    if not (current_app.config.get("AUDIT") or access.lti_mode()):    # in lti mode: instructors (the guard)
        abort(404)


def _objectives_file() -> tuple[str, str]:
    """The request's objectives saved to a temp file: (path, the name to show in messages)."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        suffix = os.path.splitext(upload.filename)[1].lower()
        data = upload.stream.read(MAX_FILE_BYTES + 1)
        name = "the uploaded file"
    else:
        suffix, name = ".md", "the objectives"
        data = (request.form.get("objectives") or "")[:MAX_TEXT_CHARS].encode("utf-8")
    fd, path = tempfile.mkstemp(prefix="lecturefind-objectives-", suffix=suffix if suffix in _SUFFIX else ".txt")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path, name


@bp.route("/audit", methods=["GET", "POST"])
def audit_page():
    store = current_store()
    courses = access.visible(store.catalog().course_names())
    course = access.scope((request.values.get("course") or "").strip() or None)
    ctx = {"courses": courses, "course": course, "max_chars": MAX_TEXT_CHARS, "audit": None, "error": None,
           "objectives_text": request.form.get("objectives", "")[:MAX_TEXT_CHARS]}
    if request.method == "POST":
        check_rate()
        upload = request.files.get("file")
        if not (upload is not None and upload.filename) and not (request.form.get("objectives") or "").strip():
            ctx["error"] = "Paste the learning objectives, one per line, or choose a file."
            return render_template("audit.html", **ctx), 400
        path, name = _objectives_file()
        try:
            items = read_objectives(path, limit=int(current_app.config["AUDIT_MAX_OBJECTIVES"]))
            result = report.run_audit(store.catalog(), store.search_text, items, course)
            ctx.update(report.html_context(result))
        except LectureFindError as e:
            ctx["error"] = clean_message(str(e).replace(path, name), {})
        finally:
            os.unlink(path)
    status = 400 if ctx["error"] else 200
    return render_template("audit.html", **ctx), status
