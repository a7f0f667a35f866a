"""View models shared by the full pages and the embed: search results, the player, PDF pages."""
from __future__ import annotations

import os
import re
from typing import Optional

from flask import abort, current_app, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from . import helpers
from .config import MAX_QUERY_CHARS
from .searching import SearchRun, has_upload, read_params, run_search

COURSE_COOKIE = "lf_course"


def store():
    return current_app.extensions["lecturefind"]


def links_for_page(cat, lecture_id: int, page: int) -> list[dict]:
    """Video moments that showed this PDF page (from the catalog's page↔slide links)."""
    try:
        rows = cat.q("SELECT v.lecture_id, v.start_s, v.end_s, l.title FROM links k "
                     "JOIN slides p ON p.id = k.page_slide_id JOIN slides v ON v.id = k.video_slide_id "
                     "JOIN lectures l ON l.id = v.lecture_id WHERE p.lecture_id = ? AND p.page = ? "
                     "ORDER BY l.title, v.start_s", (lecture_id, page))
    except Exception:
        return []
    return [{"lecture": r["title"], "lecture_id": r["lecture_id"], "start_s": r["start_s"],
             "url": f"/watch/{r['lecture_id']}?t={int(r['start_s'])}",
             "label": f"{r['title']} at {helpers.mmss(r['start_s'])}"} for r in rows]


def page_for_time(cat, lecture_id: int, t: float) -> Optional[dict]:
    """The PDF page linked to the slide shown at time t, if any."""
    try:
        row = cat.one("SELECT p.lecture_id, p.page, l.title FROM slides v JOIN links k ON k.video_slide_id = v.id "
                      "JOIN slides p ON p.id = k.page_slide_id JOIN lectures l ON l.id = p.lecture_id "
                      "WHERE v.lecture_id = ? AND v.start_s <= ? AND v.end_s > ? ORDER BY k.inliers DESC LIMIT 1",
                      (lecture_id, t + 0.01, t + 0.01))
    except Exception:
        return None
    if row is None:
        return None
    return {"url": f"/pdf/{row['lecture_id']}?page={row['page']}", "label": f"page {row['page']} of {row['title']}"}


def present(run: SearchRun) -> list[dict]:
    """Results grouped per lecture, each moment with its thumbnail, time range, highlighted snippet and link."""
    cat = store().catalog()
    groups = helpers.group_by_lecture(run.results)
    for grp in groups:
        starts = [m.start_s for m in grp["moments"] if m.start_s is not None]
        hits = ",".join(f"{s:g}" for s in starts[:50])
        items = []
        for m in grp["moments"]:
            href = helpers.with_params(m.url, q=run.text or None, hits=hits if m.kind != "pdf" else None)
            shown_in = [dict(s) for s in (m.shown_in or [])] if m.kind == "pdf" else []
            if m.kind == "pdf" and not shown_in and m.page:
                shown_in = links_for_page(cat, m.lecture_id, m.page)
            for s in shown_in:
                label = str(s.get("label") or s.get("lecture") or "lecture")
                s["label"] = re.sub(r"^shown in\s+", "", label, flags=re.I)
                s["href"] = helpers.link(helpers.with_params(s.get("url", ""), q=run.text or None))
            slide_ref = dict(m.slide_ref) if isinstance(m.slide_ref, dict) and m.slide_ref.get("url") else None
            if slide_ref:
                slide_ref["href"] = helpers.link(slide_ref["url"])
            items.append({
                "m": m, "href": helpers.link(href),
                "thumb": helpers.thumb_url(cat, m.lecture_id, m.kind, m.start_s, m.page),
                "when": (f"page {m.page}" if m.kind == "pdf" else
                         f"{helpers.mmss(m.start_s)}–{helpers.mmss(m.end_s)}"),
                "snippet": helpers.highlight(m.snippet, run.text),
                "shown_in": shown_in, "slide_ref": slide_ref,
            })
        grp["entries"] = items
    return groups


def search_page(template: str):
    """GET / (and /embed): the form and, with a question, the grouped results. POST adds image/audio uploads."""
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
            from flask import redirect, url_for

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
    cat = store().catalog()
    html = render_template(template, run=run, groups=present(run) if run.results else [], error=error,
                           courses=helpers.courses(cat), n_lectures=len(cat.lectures()))
    resp = make_response(html, status)
    for k, v in headers:
        if k.lower() == "retry-after":
            resp.headers[k] = v
    if "course" in request.args or (is_post and "course" in request.form):
        helpers.set_pref_cookie(resp, COURSE_COOKIE, run.course or "")
    return resp


def _float_arg(name: str, default: float = 0.0) -> float:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = float(raw)
    except ValueError:
        abort(404)
    if v != v or v in (float("inf"), float("-inf")):
        abort(404)
    return v


def watch_page(lecture_id: int, template: str):
    cat = store().catalog()
    lec = cat.lecture(lecture_id)
    if lec is None or lec["kind"] == "pdf":
        abort(404)
    duration = float(lec["duration"] or 0.0)
    t = min(max(_float_arg("t"), 0.0), duration if duration > 0 else 1e9)
    q = " ".join((request.args.get("q") or "").split())[:MAX_QUERY_CHARS]
    hits = []
    for part in (request.args.get("hits") or "").split(",")[:50]:
        try:
            h = float(part)
        except ValueError:
            continue
        if 0 <= h <= (duration or 1e9):
            hits.append(h)
    sentences = cat.q("SELECT id, start_s, end_s, text FROM sentences WHERE lecture_id = ? ORDER BY start_s",
                      (lecture_id,))
    slides = cat.q("SELECT id, idx, start_s, end_s, text, image FROM slides WHERE lecture_id = ? ORDER BY start_s",
                   (lecture_id,))
    poster = helpers.thumb_url(cat, lecture_id, "video", t)
    back = helpers.with_params("/embed" if template.startswith("embed") else "/", q=q or None)
    return render_template(template, lec=lec, t=t, q=q, hits=sorted(set(hits)), duration=duration,
                           sentences=sentences, slides=slides, poster=poster, back=back,
                           page_ref=page_for_time(cat, lecture_id, t),
                           mime=media_mime(lec["path"]))


def pdf_page(doc_id: int, template: str):
    cat = store().catalog()
    lec = cat.lecture(doc_id)
    if lec is None or lec["kind"] != "pdf":
        abort(404)
    pages = int(lec["pages"] or 0)
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not 1 <= int(raw) <= max(pages, 1):
        abort(404)
    page = int(raw)
    row = helpers.page_slide(cat, doc_id, page)
    image = f"/thumb/{row['id']}.jpg" if row is not None and row["image"] else None
    q = " ".join((request.args.get("q") or "").split())[:MAX_QUERY_CHARS]
    return render_template(template, lec=lec, page=page, pages=pages, image=image,
                           text=(row["text"] if row is not None else "") or "", q=q,
                           shown_in=[dict(s, href=helpers.link(s["url"])) for s in links_for_page(cat, doc_id, page)])


MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
        ".webm": "video/webm", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4",
        ".flac": "audio/flac", ".pdf": "application/pdf"}


def media_mime(path: str) -> str:
    return MIME.get(os.path.splitext(path)[1].lower(), "application/octet-stream")
