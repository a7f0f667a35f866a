"""Media, thumbnails, captions and chapters, served only by catalog id (never by a path from the request)."""
from __future__ import annotations

import os
import re

from flask import Blueprint, Response, abort, send_file

from ... import formats
from ...errors import printable
from ...segment.chapters import lecture_chapters
from ...timecode import Timecode
from ..store import current_store

bp = Blueprint("media", __name__)
_KEYFRAME = re.compile(r"^[A-Za-z0-9_-]+\.(jpg|jpeg|png|webp)$")


@bp.route("/media/<id:lecture_id>")
def media(lecture_id: int):
    """The lecture's source file with Range (206), ETag and Last-Modified, for seeking in <video>."""
    lec = current_store().catalog().lecture(lecture_id)
    if lec is None or not lec["path"] or not os.path.isfile(lec["path"]):
        abort(404)
    return send_file(lec["path"], mimetype=formats.mime(lec["path"]), conditional=True, etag=True, max_age=3600,
                     download_name=printable(os.path.basename(lec["path"])), as_attachment=False)


@bp.route("/thumb/<id:slide_id>.jpg")
def thumb(slide_id: int):
    """A keyframe (video slide) or page render (PDF) from <index>/keyframes/, by slide id."""
    st = current_store()
    name = st.catalog().slide_image(slide_id)
    if not name or not _KEYFRAME.match(name):
        abort(404)
    base = os.path.realpath(os.path.join(st.index_dir, "keyframes"))
    path = os.path.realpath(os.path.join(base, name))
    if os.path.dirname(path) != base or not os.path.isfile(path):
        abort(404)
    return send_file(path, mimetype=formats.mime(path), conditional=True, etag=True, max_age=86400)


def vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def caption_cues(cat, lecture_id: int, max_chars: int = 84, max_s: float = 6.0) -> list[tuple[float, float, str]]:
    """Cues of at most two short lines / 6 s, cut at word boundaries inside each transcript sentence."""
    cues = []
    words_of = cat.words(lecture_id)
    for s in cat.sentences(lecture_id):
        words = words_of.get(s["id"], [])
        if not words:
            if (s["text"] or "").strip():
                cues.append((s["start_s"], s["end_s"], " ".join(s["text"].split())))
            continue
        cur: list[str] = []
        c0 = c1 = 0.0
        started = False
        for w in words:
            token = (w["word"] or "").strip()
            if not token:
                continue
            if cur and (len(" ".join(cur)) + 1 + len(token) > max_chars or w["end_s"] - c0 > max_s):
                cues.append((c0, c1, " ".join(cur)))
                cur, started = [], False
            if not started:
                c0, started = w["start_s"], True
            cur.append(token)
            c1 = w["end_s"]
        if cur:
            cues.append((c0, max(c1, s["end_s"] if s["end_s"] else c1), " ".join(cur)))
    # no overlaps, no empty cues
    out = []
    for i, (a, b, text) in enumerate(cues):
        if i + 1 < len(cues):
            b = min(b, cues[i + 1][0])
        if b <= a:
            b = a + 0.5
        out.append((a, b, text))
    return out


def _wrap(text: str, width: int = 42) -> str:
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, len(text) // 2 + 10)
    return text if cut <= 0 else text[:cut] + "\n" + text[cut + 1:]


@bp.route("/captions/<id:lecture_id>.vtt")
def captions(lecture_id: int):
    """WebVTT captions built from the transcript's words (sentences when a sentence has no word timings)."""
    cat, _ = _timed_lecture(lecture_id)
    return _vtt((a, b, _wrap(text)) for a, b, text in caption_cues(cat, lecture_id))


def _timed_lecture(lecture_id: int):
    """(catalog, lecture) of a video or audio lecture; 404 for a PDF or an unknown id."""
    cat = current_store().catalog()
    lec = cat.lecture(lecture_id)
    if lec is None or lec["kind"] == "pdf":
        abort(404)
    return cat, lec


def _vtt(cues) -> Response:
    """A WebVTT file of (start, end, text) cues."""
    lines = ["WEBVTT", ""]
    for n, (a, b, text) in enumerate(cues, 1):
        lines += [str(n), f"{Timecode(a).vtt()} --> {Timecode(b).vtt()}", vtt_escape(text), ""]
    resp = Response("\n".join(lines), mimetype="text/vtt")
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


@bp.route("/chapters/<id:lecture_id>.vtt")
def chapters_track(lecture_id: int):
    """WebVTT chapters: one cue per chapter (distinct slide title, else topic shift), for `<track kind="chapters">`."""
    cat, lec = _timed_lecture(lecture_id)
    return _vtt((c.start, c.end, c.title) for c in lecture_chapters(cat, lec))
