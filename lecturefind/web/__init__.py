"""The web front end: search page, jump-to player, PDF pages, browsing, LMS embed and a JSON API.

`create_app(config)` builds the Flask app (one Searcher per app); `lecturefind serve` runs it under waitress.
Templates and static assets live in the top-level `web/` folder of the repository, installed as `lecturefind.webui`.
"""
from __future__ import annotations

import os
from importlib.resources import files
from typing import Optional

from flask import Flask, g, request
from werkzeug.routing import IntegerConverter

from .config import config_from_env, finalize_config
from .store import Store

PKG_DIR = os.path.dirname(os.path.abspath(__file__))
# `web/` is mapped to the package `lecturefind.webui` (pyproject.toml), so wheels and editable installs both find it;
# LECTUREFIND_WEB_DIR only overrides it (e.g. to try other templates).
WEB_DIR = os.environ.get("LECTUREFIND_WEB_DIR") or str(files("lecturefind.webui"))


class RowId(IntegerConverter):
    """`<id:name>`: a SQLite row id (0 … 2^63-1); a larger number matches no route (404), never a 500."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def create_app(config: Optional[dict] = None) -> Flask:
    """The Flask app. `config` overrides the environment (see `web/config.py` for the keys)."""
    app = Flask("lecturefind.web", root_path=PKG_DIR, template_folder=os.path.join(WEB_DIR, "templates"),
                static_folder=os.path.join(WEB_DIR, "static"), static_url_path="/static")
    app.url_map.converters["id"] = RowId
    app.config.update(config_from_env())
    if config:
        app.config.update(config)
    finalize_config(app.config)
    if app.config.get("TRUST_PROXY"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = int(app.config["TRUST_PROXY"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)   # type: ignore[method-assign]

    app.extensions["lecturefind"] = Store(app.config["INDEX"], models=app.config.get("MODELS"),
                                          searcher=app.config.get("SEARCHER"), searchers=app.config.get("SEARCHERS"),
                                          store=app.config.get("STORE"))

    from . import access, errors, helpers, security
    from .views import api, audit, browse, embed, lti, media, pdf, search, watch

    for bp in (search.bp, watch.bp, pdf.bp, browse.bp, api.bp, media.bp, embed.bp, audit.bp, lti.bp):
        app.register_blueprint(bp)
    access.install(app)
    helpers.install(app)
    security.install(app)
    errors.install(app)

    @app.before_request
    def _embed_flag() -> None:
        g.embed = request.blueprint in ("embed", "lti")

    return app
