"""`/`: the search page (text, slide photo, spoken question, course filter)."""
from flask import Blueprint

from ..pages import search_page

bp = Blueprint("search", __name__)


@bp.route("/", methods=["GET", "POST"])
def index():
    return search_page("search.html")
