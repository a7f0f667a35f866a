"""Friendly error pages (JSON under /api/), never a stack trace."""
from __future__ import annotations

import logging

from flask import jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .store import IndexMissing

log = logging.getLogger("lecturefind.web")

TITLES = {400: "That query could not be answered", 404: "Not found", 405: "Method not allowed",
          413: "Upload too large", 415: "Unsupported file", 429: "Slow down", 500: "Something went wrong",
          503: "No index yet"}
DEFAULT_MESSAGES = {
    404: "There is nothing at this address. It may have been a lecture that is no longer indexed.",
    405: "This address does not accept that kind of request.",
    413: "The upload is larger than this server accepts.",
    500: "The server hit an unexpected problem. It has been logged; please try again.",
}


def _respond(code: int, message: str, headers=None):
    if request.path.startswith("/api/"):
        resp = make_response(jsonify({"error": {"code": code, "message": message}}), code)
    else:
        try:
            resp = make_response(render_template("error.html", code=code, title=TITLES.get(code, "Error"),
                                                 message=message), code)
        except Exception:   # never let the error page itself fail with a trace
            log.exception("error page failed")
            resp = make_response(f"{code} {TITLES.get(code, 'Error')}: {message}", code)
            resp.mimetype = "text/plain"
    for k, v in headers or []:
        if k.lower() == "retry-after":
            resp.headers[k] = v
    return resp


def install(app) -> None:
    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        code = e.code or 500
        msg = DEFAULT_MESSAGES.get(code) if code in (404, 405, 500) else None
        if code == 413 and (e.description or "").startswith("The data value transmitted"):
            msg = DEFAULT_MESSAGES[413]
        if msg is None:
            msg = e.description or TITLES.get(code, "Error")
        return _respond(code, msg, e.get_headers())

    @app.errorhandler(IndexMissing)
    def _no_index(e):
        return _respond(503, "No lectures have been indexed yet. Run `lecturefind ingest` and reload.")

    @app.errorhandler(Exception)
    def _crash(e: Exception):
        if isinstance(e, HTTPException):
            return _http(e)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(500, DEFAULT_MESSAGES[500])

    @app.errorhandler(InternalServerError)
    def _ise(e):
        return _respond(500, DEFAULT_MESSAGES[500])
