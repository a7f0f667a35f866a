"""Template helpers: time formatting, safe highlighting, thumbnails, embed-aware links, preference cookies."""
from __future__ import annotations

import os
import re
from typing import Iterable, Optional
from urllib.parse import urlencode

from flask import current_app, g, request
from markupsafe import Markup, escape

from ..rank.text import STOPWORDS, stem

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def mmss(seconds: Optional[float]) -> str:
    """Seconds as mm:ss (h:mm:ss past an hour)."""
    if seconds is None:
        return ""
    s = int(max(0.0, float(seconds)))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def query_stems(query: str) -> set[str]:
    return {stem(t) for t in _WORD.findall((query or "").lower()) if t not in STOPWORDS and len(t) > 1}


def _matches(word: str, wanted: set[str]) -> bool:
    w = stem(word.lower())
    return w in wanted or any(len(q) >= 5 and (w.startswith(q) or (len(w) >= 5 and q.startswith(w))) for q in wanted)


def highlight(text: Optional[str], query: Optional[str]) -> Markup:
    """The text HTML-escaped, with the words that match the query wrapped in <mark>.

    The text is cut into word and non-word pieces; every piece is escaped first and only then
    wrapped, so markup in a transcript or a title can never become live HTML.
    """
    text = text or ""
    wanted = query_stems(query or "")
    if not wanted:
        return escape(text)
    out, pos = [], 0
    for m in _WORD.finditer(text):
        out.append(str(escape(text[pos:m.start()])))
        word = m.group(0)
        if _matches(word, wanted):
            out.append(f"<mark>{escape(word)}</mark>")
        else:
            out.append(str(escape(word)))
        pos = m.end()
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def slide_at(catalog, lecture_id: int, t: float):
    """The slide row shown at time t (the one whose span covers t; else the last one before t; else the first)."""
    row = catalog.one("SELECT id, image FROM slides WHERE lecture_id=? AND start_s <= ? AND end_s > ? "
                      "ORDER BY start_s DESC LIMIT 1", (lecture_id, t + 0.01, t + 0.01))
    if row is None:
        row = catalog.one("SELECT id, image FROM slides WHERE lecture_id=? AND start_s <= ? ORDER BY start_s DESC "
                          "LIMIT 1", (lecture_id, t + 0.01))
    if row is None:
        row = catalog.one("SELECT id, image FROM slides WHERE lecture_id=? ORDER BY start_s LIMIT 1", (lecture_id,))
    return row


def page_slide(catalog, lecture_id: int, page: int):
    return catalog.one("SELECT id, image, text FROM slides WHERE lecture_id=? AND page=? ORDER BY idx LIMIT 1",
                       (lecture_id, page))


def thumb_url(catalog, lecture_id: int, kind: str, start_s: Optional[float] = None,
              page: Optional[int] = None) -> Optional[str]:
    row = page_slide(catalog, lecture_id, page) if kind == "pdf" and page else \
        slide_at(catalog, lecture_id, float(start_s or 0.0))
    if row is None or not row["image"]:
        return None
    return f"/thumb/{row['id']}.jpg"


def link(url: str) -> str:
    """A moment/page URL, kept inside the compact UI when rendering the embed."""
    if getattr(g, "embed", False) and (url.startswith("/watch/") or url.startswith("/pdf/")):
        return "/embed" + url
    return url


def with_params(url: str, **params) -> str:
    params = {k: v for k, v in params.items() if v not in (None, "", [])}
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params)


def set_pref_cookie(resp, name: str, value: str, max_age: int = 30 * 24 * 3600) -> None:
    """A preference cookie; inside an LMS iframe it must be SameSite=None; Secure, which needs HTTPS."""
    if request.is_secure:
        resp.set_cookie(name, value, max_age=max_age, secure=True, httponly=True, samesite="None", path="/")
    else:
        resp.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax", path="/")


def courses(catalog) -> list[str]:
    return [r[0] for r in catalog.q("SELECT name FROM courses ORDER BY name")]


def group_by_lecture(moments: Iterable) -> list[dict]:
    """Results grouped per lecture, in the order each lecture first appears."""
    groups: dict = {}
    for m in moments:
        grp = groups.setdefault(m.lecture_id, {"lecture_id": m.lecture_id, "lecture": m.lecture, "course": m.course,
                                               "kind": m.kind, "moments": []})
        grp["moments"].append(m)
    return list(groups.values())


def install(app) -> None:
    app.jinja_env.filters["mmss"] = mmss
    app.jinja_env.filters["highlight"] = highlight
    app.jinja_env.filters["basename"] = lambda p: os.path.basename(p or "")
    app.jinja_env.globals.update(link=link, with_params=with_params)
    app.jinja_env.autoescape = True

    @app.context_processor
    def _ctx():
        return {"embed": getattr(g, "embed", False), "app_name": "LectureFind",
                "static_v": current_app.config.get("STATIC_VERSION", "1")}
