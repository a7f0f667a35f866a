"""`/embed...`: the compact UI for LMS iframes; these routes allow the configured LMS origins as frame ancestors."""
from flask import Blueprint

from .pdf import pdf_page
from .search import search_page
from .watch import watch_page

bp = Blueprint("embed", __name__, url_prefix="/embed")


@bp.route("", methods=["GET", "POST"])
@bp.route("/", methods=["GET", "POST"])
def search():
    return search_page("embed/search.html")


@bp.route("/watch/<id:lecture_id>")
def watch(lecture_id: int):
    return watch_page(lecture_id, "embed/watch.html")


@bp.route("/pdf/<id:doc_id>")
def pdf(doc_id: int):
    return pdf_page(doc_id, "embed/pdf.html")
