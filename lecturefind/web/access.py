"""Who may see what: `LECTUREFIND_ACCESS=open` (everyone sees everything: the local demo) or `lti` (every route
needs an LTI session or an API token, scoped to one course, except /healthz, static files and /lti/*).

One guard runs before every request: it finds the session (the `lf_session` cookie, or `Authorization: Bearer`
for API tokens), and for any route naming a lecture, PDF, slide or course by id it checks that the id belongs to
the session's course; another course's id answers exactly as an unknown id does (404). Pages that list or search
use `scope()` for their course. `/audit` is for instructors only.
"""
from __future__ import annotations

import threading
from typing import Optional

from flask import abort, current_app, g, jsonify, make_response, render_template, request

from ..index.access_store import AccessStore, Session

SESSION_COOKIE = "lf_session"
STATE_COOKIE = "lf_lti_state"
OPEN_ENDPOINTS = {"static", "health"}
_ID_ARGS = ("lecture_id", "doc_id", "slide_id", "course_id")
_MAKE = threading.Lock()


class Access:
    """The app's access store and LTI objects, made once per app."""

    def __init__(self, index_dir: str, jwks_timeout: float, jwks_cooldown: float = 30.0):
        from ..lti.keys import ToolKeys
        from ..lti.launch import KeySets, LaunchValidator

        self.store = AccessStore(index_dir)
        self.keys = ToolKeys(index_dir)
        self.validator = LaunchValidator(self.store, KeySets(timeout=jwks_timeout, cooldown=jwks_cooldown))


def current_access() -> Access:
    """The app's Access, made on first use (an `open` server that no LMS launches writes no access store)."""
    ext = current_app.extensions
    if "lecturefind.access" not in ext:
        with _MAKE:
            if "lecturefind.access" not in ext:
                cfg = current_app.config
                ext["lecturefind.access"] = Access(cfg["INDEX"], float(cfg["LTI_JWKS_TIMEOUT"]),
                                                   float(cfg.get("LTI_JWKS_COOLDOWN", 30.0)))
    return ext["lecturefind.access"]


def lti_mode() -> bool:
    return current_app.config.get("ACCESS") == "lti"


def session() -> Optional[Session]:
    return getattr(g, "lf_session", None)


def scope(asked: Optional[str] = None) -> Optional[str]:
    """The course a request may see: the session's in `lti` mode (whatever was asked), else what was asked."""
    if not lti_mode():
        return asked
    s = session()
    assert s is not None and s.course, "guard() lets no unscoped request through"
    return s.course


def visible(names):
    """Of these course names (or rows with `name`), the ones this request may see."""
    if not lti_mode():
        return list(names)
    course = scope()
    return [n for n in names if (n if isinstance(n, str) else n["name"]) == course]


def set_cookie(resp, name: str, value: str, max_age: int, path: str = "/") -> None:
    """A cookie that survives inside an LMS iframe where it can: SameSite=None; Secure; Partitioned over HTTPS
    (or on localhost, a secure context to browsers); SameSite=Lax otherwise (same-site use, or the new-window
    fallback)."""
    secure = request.is_secure or request.host.split(":")[0] in ("localhost",)
    if secure:
        resp.set_cookie(name, value, max_age=max_age, secure=True, httponly=True, samesite="None", path=path,
                        partitioned=True)
    else:
        resp.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax", path=path)


def _bearer() -> Optional[str]:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth[:7].lower() == "bearer " else None


def _refuse(status: int, message: str):
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return make_response(jsonify({"error": message}), status)
    title = "Sign in through your course" if status == 401 else "Not available"
    return make_response(render_template("error.html", title=title, message=message), status)


def _course_of(catalog, arg: str, value: int) -> Optional[str]:
    if arg in ("lecture_id", "doc_id"):
        row = catalog.lecture(value)
    elif arg == "slide_id":
        row = catalog.slide(value)
    else:
        row = catalog.course(value)
        return row["name"] if row is not None else None
    return row["course"] if row is not None else None


def guard():
    """Before every request in `lti` mode: a session, its course, and ids inside that course."""
    if not lti_mode():
        return None
    endpoint = request.endpoint or ""
    if endpoint in OPEN_ENDPOINTS or endpoint.startswith("lti."):
        return None
    store = current_access().store
    token = _bearer()
    if token is not None:
        course = store.token_course(token)
        g.lf_session = Session(course=course, role="api") if course else None
    else:
        g.lf_session = store.session(request.cookies.get(SESSION_COOKIE))
    s = session()
    if s is None:
        return _refuse(401, "Sign in through your course: open LectureFind from your LMS (LTI launch), or send an "
                            "API token.")
    if not s.course:
        return _refuse(403, "This course is not linked to LectureFind yet.")
    if endpoint.startswith("audit.") and not s.instructor:
        return _refuse(403, "The course audit is for instructors.")
    from .store import current_store

    catalog = current_store().catalog()
    for arg in _ID_ARGS:
        if request.view_args and arg in request.view_args:
            if _course_of(catalog, arg, int(request.view_args[arg])) != s.course:
                abort(404)          # another course's id answers as an unknown one
    return None


def install(app) -> None:
    app.before_request(guard)

    @app.get("/healthz", endpoint="health")
    def _health():
        return {"ok": True}
