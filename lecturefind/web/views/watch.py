"""`/watch/<lecture_id>?t=`: the player with captions, transcript and the query's other hits."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from ... import formats
from ...rank.links import slide_ref
from .. import helpers
from ..config import MAX_QUERY_CHARS
from ..store import current_store

bp = Blueprint("watch", __name__)


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
    cat = current_store().catalog()
    lec = cat.lecture(lecture_id)
    if lec is None or lec["kind"] == "pdf":
        abort(404)
    urls = helpers.urls()
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
    ref = slide_ref(cat, lecture_id, t)
    page_ref = {"href": urls.pdf(ref["lecture_id"], ref["page"]), "label": ref["label"]} if ref else None
    return render_template(template, lec=lec, t=t, q=q, hits=sorted(set(hits)), duration=duration,
                           sentences=cat.sentences(lecture_id), chapters=helpers.chapter_items(cat, lec),
                           poster=helpers.thumb_url(cat, lecture_id, "video", t),
                           back=urls.search(q=q or None), page_ref=page_ref, mime=formats.mime(lec["path"]))


@bp.route("/watch/<id:lecture_id>")
def watch(lecture_id: int):
    return watch_page(lecture_id, "watch.html")
