"""`/` (and `/embed`): the search page — a question, a slide photo, a spoken question, course filter."""
from __future__ import annotations

from flask import Blueprint, make_response, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from ...timecode import clock_span
from .. import access, helpers
from ..config import MAX_QUERY_CHARS
from ..searching import SearchRun, has_upload, read_params, run_search
from ..store import current_store

bp = Blueprint("search", __name__)
COURSE_COOKIE = "lf_course"


def present(run: SearchRun) -> list[dict]:
    """Results grouped per lecture, each moment with its thumbnail, time range, highlighted snippet and link."""
    cat = current_store().catalog()
    urls = helpers.urls()
    q = run.text or None
    groups = helpers.group_by_lecture(run.results)
    for grp in groups:
        starts = [m.start_s for m in grp["moments"] if m.start_s is not None]
        hits = ",".join(f"{s:g}" for s in starts[:50])
        items = []
        for m in grp["moments"]:
            shown_in = [dict(s, href=urls.watch(s["lecture_id"], s["start_s"], q=q))
                        for s in (m.shown_in or [])] if m.kind == "pdf" else []
            slide_ref = dict(m.slide_ref, href=urls.pdf(m.slide_ref["lecture_id"], m.slide_ref["page"])) \
                if m.slide_ref else None
            items.append({
                "m": m, "href": urls.moment(m.kind, m.lecture_id, m.start_s, m.page, q=q,
                                            hits=hits if m.kind != "pdf" else None),
                "thumb": helpers.thumb_url(cat, m.lecture_id, m.kind, m.start_s, m.page),
                "when": f"page {m.page}" if m.kind == "pdf" else clock_span(m.start_s, m.end_s),
                "snippet": helpers.highlight(m.snippet, run.text),
                "shown_in": shown_in, "slide_ref": slide_ref,
            })
        grp["entries"] = items
    return groups


def search_page(template: str):
    """The form and, with a question, the grouped results. POST adds image/audio uploads."""
    is_post = request.method == "POST"
    error = None
    status = 200
    run = SearchRun()
    cookie_course = request.cookies.get(COURSE_COOKIE, "")
    source = request.form if is_post else request.args
    try:
        if is_post and not (has_upload("image") or has_upload("audio")):
            # a plain question: redirect to a shareable GET URL (post/redirect/get)
            p = read_params(request.form)
            endpoint = "embed.search" if template.startswith("embed") else "search.index"
            url = url_for(endpoint, q=p.text or None, course=p.course or "", k=p.k if p.k != 10 else None)
            resp = redirect(url, 303)
            helpers.set_pref_cookie(resp, COURSE_COOKIE, p.course or "")
            return resp
        if "course" not in source and cookie_course:
            source = source.copy()
            source["course"] = cookie_course
        run = run_search(source, allow_uploads=is_post)
    except HTTPException as e:
        if e.code not in (400, 413, 415, 429):
            raise
        error, status = e.description, e.code
        try:
            run = read_params(source)
        except HTTPException:
            run = SearchRun(text=(source.get("q") or "")[:MAX_QUERY_CHARS])
        headers = e.get_headers()
    else:
        headers = []
    cat = current_store().catalog()
    courses = access.visible(cat.course_names())
    n_lectures = len(cat.lectures(access.scope())) if access.lti_mode() else len(cat.lectures())
    html = render_template(template, run=run, groups=present(run) if run.results else [], error=error,
                           courses=courses, n_lectures=n_lectures)
    resp = make_response(html, status)
    for k, v in headers:
        if k.lower() == "retry-after":
            resp.headers[k] = v
    if "course" in request.args or (is_post and "course" in request.form):
        helpers.set_pref_cookie(resp, COURSE_COOKIE, run.course or "")
    return resp


@bp.route("/", methods=["GET", "POST"])
def index():
    return search_page("search.html")
