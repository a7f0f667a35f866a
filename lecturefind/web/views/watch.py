"""`/watch/<lecture_id>?t=`: the player with captions, transcript and the query's other hits."""
from flask import Blueprint

from ..pages import watch_page

bp = Blueprint("watch", __name__)


@bp.route("/watch/<int:lecture_id>")
def watch(lecture_id: int):
    return watch_page(lecture_id, "watch.html")
