"""`/pdf/<doc_id>?page=`: a rendered PDF page and the lecture moments that showed it."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from ...rank.links import shown_in
from ...urls import Urls
from .. import helpers
from ..config import MAX_QUERY_CHARS
from ..store import current_store

bp = Blueprint("pdf", __name__)


def pdf_page(doc_id: int, template: str):
    cat = current_store().catalog()
    lec = cat.lecture(doc_id)
    if lec is None or lec["kind"] != "pdf":
        abort(404)
    pages = int(lec["pages"] or 0)
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not 1 <= int(raw) <= max(pages, 1):
        abort(404)
    page = int(raw)
    row = cat.page_slide(doc_id, page)
    image = Urls.thumb(row["id"]) if row is not None and row["image"] else None
    q = " ".join((request.args.get("q") or "").split())[:MAX_QUERY_CHARS]
    urls = helpers.urls()
    return render_template(template, lec=lec, page=page, pages=pages, image=image,
                           text=(row["text"] if row is not None else "") or "", q=q,
                           shown_in=[dict(s, href=urls.watch(s["lecture_id"], s["start_s"]))
                                     for s in shown_in(cat, doc_id, page)])


@bp.route("/pdf/<id:doc_id>")
def page(doc_id: int):
    return pdf_page(doc_id, "pdf.html")
