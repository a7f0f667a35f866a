"""The JSON API: search (GET/POST multipart), lectures, and its OpenAPI 3 document."""
from __future__ import annotations

import os

from flask import Blueprint, abort, jsonify, request

from ...rank.results import CONFIDENT
from ...urls import URLS
from .. import access, helpers
from ..openapi import openapi_document
from ..searching import run_search
from ..store import current_store, or_404

bp = Blueprint("api", __name__, url_prefix="/api")


def moment_json(m) -> dict:
    """The CLI's `--json` result object; `file` is the file name only (the server's folders are not exposed)."""
    d = m.to_json()
    d["file"] = os.path.basename(d.get("file") or "")
    return d


def _search_response(run):
    return jsonify({
        "query": {"q": run.text, "k": run.k, "course": run.course, "image": run.had_image, "audio": run.had_audio},
        "took_ms": round(run.took_ms, 1),
        "answered": run.answered,
        "confidence_threshold": CONFIDENT,
        "results": [moment_json(m) for m in run.results],
    })


@bp.get("/search")
def search_get():
    if not (request.args.get("q") or "").strip():
        abort(400, "Give a question in `q`.")
    return _search_response(run_search(request.args))


@bp.post("/search")
def search_post():
    run = run_search(request.form, allow_uploads=True)
    if not run.asked:
        abort(400, "Give a question (`q`), an `image` or an `audio` file.")
    return _search_response(run)


def lecture_json(lec) -> dict:
    kind = lec["kind"]
    d = {"id": lec["id"], "title": lec["title"], "course": lec["course"], "kind": kind,
         "file": os.path.basename(lec["path"] or ""),
         "duration_s": round(float(lec["duration"]), 2) if lec["duration"] is not None else None,
         "pages": lec["pages"], "url": URLS.moment(kind, lec["id"]), "media_url": URLS.media(lec["id"]),
         "captions_url": None if kind == "pdf" else URLS.captions(lec["id"]), "language": lec["language"]}
    if "n_segments" in lec.keys():
        d["n_segments"] = lec["n_segments"]
    return d


@bp.get("/lectures")
def lectures():
    course = access.scope((request.args.get("course") or "").strip() or None)
    cat = current_store().catalog()
    return jsonify({"lectures": [lecture_json(lec) for lec in cat.lectures(course=course)]})


@bp.get("/lectures/<id:lecture_id>")
def lecture(lecture_id: int):
    cat = current_store().catalog()
    lec = or_404(cat.lecture(lecture_id))
    d = lecture_json(lec)
    d["n_segments"] = cat.segment_count(lecture_id)
    d["slides"] = [{"index": s["idx"], "start_s": None if lec["kind"] == "pdf" else round(s["start_s"], 2),
                    "end_s": None if lec["kind"] == "pdf" else round(s["end_s"], 2), "page": s["page"],
                    "text": s["text"] or "", "thumbnail_url": URLS.thumb(s["id"]) if s["image"] else None}
                   for s in cat.slides(lecture_id)]
    d["transcript"] = [{"start_s": round(r["start_s"], 2), "end_s": round(r["end_s"], 2), "text": r["text"]}
                       for r in cat.sentences(lecture_id)]
    d["chapters"] = helpers.chapter_items(cat, lec)
    return jsonify(d)


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(request.host_url.rstrip("/")))


