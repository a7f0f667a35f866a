"""`/lti/*`: OIDC login initiation, the launch, the tool's JWKS, Deep Linking, course linking, the cookie check
and the new-window fallback for browsers that block cookies in an LMS iframe."""
from __future__ import annotations

from urllib.parse import urlencode, urlparse

from flask import Blueprint, abort, g, jsonify, make_response, redirect, render_template, request, url_for

from ...index.access_store import SESSION_TTL_S, STATE_TTL_S, Session
from ...lti.deeplink import resource_link, response_jwt
from ...lti.launch import DEEP_LINKING, LaunchError
from ...urls import Urls
from ..access import SESSION_COOKIE, STATE_COOKIE, current_access, set_cookie
from ..store import current_store

bp = Blueprint("lti", __name__, url_prefix="/lti")
EMBED = Urls(embed=True)


def _error(message: str, status: int = 400):
    return make_response(render_template("lti_error.html", message=message), status)


def launch_url() -> str:
    return url_for("lti.launch", _external=True)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Third-party initiated login: check the platform is registered, remember state + nonce, send the browser to
    the platform's authorization endpoint."""
    v = request.values
    issuer, hint = (v.get("iss") or "").strip(), v.get("login_hint")
    if not issuer or not hint:
        return _error("The login request lacks iss or login_hint.")
    access = current_access()
    platform = access.store.platform(issuer, v.get("client_id") or None)
    if platform is None:
        return _error("This LMS is not registered with LectureFind (lecturefind lti add-platform).")
    state, nonce = access.store.new_state(platform.issuer, platform.client_id)
    params = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
              "client_id": platform.client_id, "redirect_uri": launch_url(), "login_hint": hint,
              "state": state, "nonce": nonce}
    if v.get("lti_message_hint"):
        params["lti_message_hint"] = v["lti_message_hint"]
    sep = "&" if "?" in platform.auth_url else "?"
    resp = redirect(platform.auth_url + sep + urlencode(params), code=302)
    set_cookie(resp, STATE_COOKIE, state, max_age=STATE_TTL_S, path="/lti")
    return resp


def _start_page(launch, course) -> str:
    """Where a launch lands: the picker for Deep Linking, the chosen moment for a link made by it, else search."""
    if launch.message_type == DEEP_LINKING:
        return EMBED.search(pick=1)
    custom = launch.custom
    try:
        lid = int(custom.get("lecture_id", ""))
    except (TypeError, ValueError):
        return EMBED.search()
    lec = current_store().catalog().lecture(lid)
    if lec is None or lec["course"] != course:
        return EMBED.search()
    if lec["kind"] == "pdf":
        return EMBED.pdf(lid, int(custom.get("page") or 1))
    try:
        t = float(custom.get("t") or 0)
    except ValueError:
        t = 0.0
    return EMBED.watch(lid, t)


@bp.post("/launch")
def launch():
    """The platform's form post: validate the id_token, map its context to a course, open a session."""
    access = current_access()
    try:
        got = access.validator.validate(request.form.get("id_token", ""), request.form.get("state", ""),
                                        request.cookies.get(STATE_COOKIE))
    except LaunchError as e:
        return _error(f"The launch was refused: {e}.", 401)
    course = access.store.context_course(got.platform.issuer, got.context_id) if got.context_id else None
    role = "instructor" if got.instructor else "learner"
    if course is None and role != "instructor":
        return _error("This course is not linked to LectureFind yet. Ask your instructor to open LectureFind from "
                      "the course once.", 403)
    s = Session(course=course, role=role, user=got.user, issuer=got.platform.issuer,
                client_id=got.platform.client_id, deployment_id=got.deployment_id, context_id=got.context_id,
                context_title=got.context_title, deep_link=got.deep_link)
    secret = access.store.new_session(s)
    nxt = _start_page(got, course) if course else url_for("lti.link_course")
    resp = make_response(render_template("lti_launched.html", next=nxt,
                                         ticket=access.store.new_ticket(secret), course=course))
    set_cookie(resp, SESSION_COOKIE, secret, max_age=int(SESSION_TTL_S))
    resp.delete_cookie(STATE_COOKIE, path="/lti")
    return resp


def _session():
    s = current_access().store.session(request.cookies.get(SESSION_COOKIE))
    if s is None:
        abort(401)
    return s


@bp.get("/check")
def check():
    """204 when this browser sends its session cookie (the launch page's test inside the iframe), else 401."""
    ok = current_access().store.session(request.cookies.get(SESSION_COOKIE)) is not None
    return ("", 204) if ok else ("", 401)


def _local(path: str) -> str:
    """`path` if it is a path on this server, else the search page (no open redirect)."""
    u = urlparse(path or "")
    return path if path.startswith("/") and not path.startswith("//") and not u.scheme and not u.netloc \
        else EMBED.search()


@bp.get("/resume")
def resume():
    """The new-window fallback: a one-time ticket from the launch page opens the session first-party."""
    secret = current_access().store.take_ticket(request.args.get("ticket", ""))
    if secret is None or current_access().store.session(secret) is None:
        return _error("This link has expired. Open LectureFind from your course again.", 401)
    resp = redirect(_local(request.args.get("next", "")), code=303)
    set_cookie(resp, SESSION_COOKIE, secret, max_age=int(SESSION_TTL_S))
    return resp


@bp.route("/link-course", methods=["GET", "POST"])
def link_course():
    """An instructor's first launch from an unlinked LMS course: which LectureFind course is it?"""
    secret = request.cookies.get(SESSION_COOKIE)
    store = current_access().store
    s = _session()
    if not s.instructor:
        abort(403)
    courses = current_store().catalog().course_names()
    if request.method == "POST":
        course = request.form.get("course", "")
        if course not in courses:
            return _error("Choose one of the listed courses.")
        store.link_context(s.issuer, s.context_id, course, s.context_title)
        s.course = course
        store.update_session(secret or "", s)
        return redirect(EMBED.search(pick=1) if s.deep_link else EMBED.search(), code=303)
    return render_template("lti_link.html", courses=courses, context=s.context_title or s.context_id)


@bp.post("/deep-link")
def deep_link():
    """The instructor chose a moment, a PDF page or a lecture: answer the platform with a signed content item."""
    s = _session()
    if not s.deep_link or not s.instructor or not s.course:
        abort(403)
    try:
        lid = int(request.form.get("lecture_id", ""))
    except ValueError:
        abort(400)
    lec = current_store().catalog().lecture(lid)
    if lec is None or lec["course"] != s.course:
        abort(404)
    page = request.form.get("page")
    t = request.form.get("t")
    try:
        page_n = int(page) if page else None
        t_s = float(t) if t else None
    except ValueError:
        abort(400)
    from ...timecode import clock

    where = f", page {page_n}" if page_n else (f" at {clock(t_s)}" if t_s else "")
    item = resource_link(f"{lec['title']}{where}", launch_url(), lid, t_s, page_n,
                         (request.form.get("text") or "")[:500])
    token = response_jwt(current_access().keys, s, [item])
    return_url = s.deep_link["return_url"]
    u = urlparse(return_url)
    g.form_action = f"{u.scheme}://{u.netloc}"          # the CSP lets this one form post to the platform
    return render_template("lti_return.html", return_url=return_url, jwt=token)


@bp.get("/jwks.json")
def jwks():
    resp = jsonify(current_access().keys.jwks())
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
