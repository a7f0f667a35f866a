"""`/pdf/<doc_id>?page=`: a rendered PDF page and the lecture moments that showed it."""
from flask import Blueprint

from ..pages import pdf_page

bp = Blueprint("pdf", __name__)


@bp.route("/pdf/<int:doc_id>")
def page(doc_id: int):
    return pdf_page(doc_id, "pdf.html")
