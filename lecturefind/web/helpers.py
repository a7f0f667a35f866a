"""Template helpers: the clock filter, safe highlighting, thumbnails, embed-aware links, preference cookies."""
from __future__ import annotations

import os
import re
from typing import Iterable, Optional

from flask import current_app, g, request
from markupsafe import Markup, escape

from ..timecode import clock
from ..urls import Urls
from ..words import matched_spans, stems

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def highlight(text: Optional[str], query: Optional[str]) -> Markup:
    """The text HTML-escaped, with the words that match the query (the scoring rule, `words.word_matches`)
    wrapped in <mark>.

    The text is cut into word and non-word pieces; every piece is escaped first and only then
    wrapped, so markup in a transcript or a title can never become live HTML.
    """
    text = text or ""
    wanted = stems(query or "")
    if not wanted:
        return escape(text)
    out, pos = [], 0
    for m in _WORD.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        word, at = m.group(0), 0
        for a, b in matched_spans(word, wanted):
            out.append(str(escape(word[at:a])) + f"<mark>{escape(word[a:b])}</mark>")
            at = b
        out.append(str(escape(word[at:])))
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def urls() -> Urls:
    """The link builder of this request: inside the LMS embed, watch/PDF/search links stay in the embed."""
    return Urls(embed=getattr(g, "embed", False))


def thumb_url(catalog, lecture_id: int, kind: str, start_s: Optional[float] = None,
              page: Optional[int] = None) -> Optional[str]:
    """The keyframe shown at a moment's start (a PDF result: its page render)."""
    row = catalog.page_slide(lecture_id, page) if kind == "pdf" and page else \
        catalog.slide_at(lecture_id, float(start_s or 0.0))
    if row is None or not row["image"]:
        return None
    return Urls.thumb(row["id"])


def chapter_items(catalog, lec) -> list[dict]:
    """A video lecture's chapters as the course map, the player and the API show them: start, end, title,
    the link that plays it and its slide's thumbnail."""
    if lec["kind"] == "pdf":
        return []
    from ..segment.chapters import lecture_chapters

    images = {s["id"]: s["image"] for s in catalog.slides(lec["id"])}
    return [{"start_s": round(c.start, 2), "end_s": round(c.end, 2), "title": c.title,
             "url": urls().watch(lec["id"], c.start),
             "thumbnail_url": Urls.thumb(c.slide_id) if c.slide_id and images.get(c.slide_id) else None}
            for c in lecture_chapters(catalog, lec)]


def set_pref_cookie(resp, name: str, value: str, max_age: int = 30 * 24 * 3600) -> None:
    """A preference cookie; inside an LMS iframe it must be SameSite=None; Secure, which needs HTTPS."""
    if request.is_secure:
        resp.set_cookie(name, value, max_age=max_age, secure=True, httponly=True, samesite="None", path="/")
    else:
        resp.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax", path="/")


def group_by_lecture(moments: Iterable) -> list[dict]:
    """Results grouped per lecture, in the order each lecture first appears."""
    groups: dict = {}
    for m in moments:
        grp = groups.setdefault(m.lecture_id, {"lecture_id": m.lecture_id, "lecture": m.lecture, "course": m.course,
                                               "kind": m.kind, "language": m.language,
                                               "moments": []})
        grp["moments"].append(m)
    return list(groups.values())


def _audit_on() -> bool:
    from . import access

    if access.lti_mode():
        s = access.session()
        return bool(s and s.instructor)
    return bool(current_app.config.get("AUDIT"))


def _picker() -> bool:
    """An instructor choosing a moment for the LMS (a Deep Linking session): results get a Choose button."""
    from . import access

    s = access.session()
    return bool(s and s.deep_link and s.instructor)


def install(app) -> None:
    app.jinja_env.filters["clock"] = clock
    app.jinja_env.filters["highlight"] = highlight
    app.jinja_env.filters["basename"] = lambda p: os.path.basename(p or "")
    app.jinja_env.autoescape = True

    @app.context_processor
    def _ctx():
        return {"embed": getattr(g, "embed", False), "app_name": "LectureFind", "urls": urls(),
                "audit_on": _audit_on(),
                "picker": _picker(),
                "static_v": current_app.config.get("STATIC_VERSION", "1")}
