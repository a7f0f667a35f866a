"""Helpers for the web tests: app factories, a live waitress server in a thread, headless Chromium."""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "examples", "sample-course")
ARTIFACTS = os.path.join(ROOT, "test-artifacts")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


def make_app(index_dir: str, models=None, **config):
    from lecturefind.web import create_app

    cfg = {"INDEX": index_dir, "MODELS": models, "TESTING": True, "RATE_LIMIT": 0}
    cfg.update(config)
    return create_app(cfg)


def lecture_ids(index_dir: str) -> dict:
    """File name -> lecture id."""
    con = sqlite3.connect(os.path.join(index_dir, "catalog.sqlite"))
    try:
        return {os.path.basename(p): i for i, p in con.execute(
            "SELECT l.id, f.path FROM lectures l JOIN files f ON f.id = l.file_id")}
    finally:
        con.close()


@contextmanager
def browser_page(browser, width: int = 1280, height: int = 860):
    """A fresh Chromium context and page (30 s default timeout), closed afterwards."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    pg = ctx.new_page()
    pg.set_default_timeout(30000)
    try:
        yield pg
    finally:
        ctx.close()


class LiveServer:
    """A waitress server for `app` on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app, threads: int = 4):
        from waitress.server import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, threads=threads, ident="LectureFind-test")
        self.port = self.server.effective_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.close()
        self.thread.join(timeout=5)


class StaticPages:
    """A plain http.server on its own port (= its own origin) serving given HTML pages from memory."""

    def __init__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        pages = self.pages = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def chromium():
    """Debian's /usr/bin/chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def ask_at_once(app, queries: list[str], timeout: float = 120) -> dict:
    """Each query's /api/search results, all sent at the same moment from threads of their own."""
    import threading

    got: dict = {}
    errors: list = []
    start = threading.Barrier(len(queries))

    def ask(q):
        try:
            start.wait()
            got[q] = app.test_client().get("/api/search", query_string={"q": q}).get_json()["results"]
        except Exception as e:        # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(q,)) for q in queries]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not errors, errors
    return got
