"""A fake LTI 1.3 platform (an LMS) on 127.0.0.1: its own RSA key and JWKS, an OIDC authorization endpoint that
answers with a signed id_token (form post, as Canvas and Moodle do), a course page that frames the tool, and a Deep
Linking return endpoint that verifies the tool's signed answer against the tool's JWKS.

Switches for the attack tests: `jwks_mode` ("ok", "down", "slow"), `rotate()` (a new key the cached JWKS lacks),
and `id_token(**overrides)` to sign any claims (or sign with another key, or `alg: none`).
"""
from __future__ import annotations

import html
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlencode, urlparse

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
DL_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


def new_key():
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakePlatform:
    CLIENT_ID = "lf-client-1"
    DEPLOYMENT = "deploy-1"

    def __init__(self, tool_url: str = ""):
        self.tool_url = tool_url.rstrip("/")           # where the tool runs (set before a browser flow)
        self.key, self.kid = new_key(), "platform-key-1"
        self.old_keys: list[tuple[str, object]] = []
        self.jwks_mode = "ok"
        self.jwks_hits = 0
        self.deep_link_results: list[dict] = []
        self.user = {"sub": "student-1", "roles": [LEARNER], "context": {"id": "ctx-101", "title": "EE 101"}}
        self.message = "LtiResourceLinkRequest"
        self.custom: dict = {}
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: bytes, ctype: str = "text/html; charset=utf-8"):
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                u = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                if u.path == "/jwks":
                    platform.jwks_hits += 1
                    if platform.jwks_mode == "down":
                        self._send(503, b"down")
                        return
                    if platform.jwks_mode == "slow":
                        time.sleep(30)
                    self._send(200, json.dumps(platform.jwks()).encode(), "application/json")
                elif u.path == "/auth":
                    self._send(200, platform.auth_response(q).encode())
                elif u.path == "/course":
                    self._send(200, platform.course_page(q.get("message", "LtiResourceLinkRequest")).encode())
                else:
                    self._send(404, b"not found")

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(n).decode()).items()}
                if urlparse(self.path).path == "/dl-return":
                    platform.deep_link_results.append(platform.verify_deep_link(form.get("JWT", "")))
                    self._send(200, b"<!doctype html><p id='dl-done'>Added to the course.</p>")
                else:
                    self._send(404, b"not found")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- what the tool registers ---------------------------------------------------------------------
    @property
    def auth_url(self) -> str:
        return self.issuer + "/auth"

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/jwks"

    def register(self, index_dir: str, course: Optional[str] = None) -> None:
        """Register this platform with the tool's index; with `course`, link its course (ctx-101) to it."""
        from lecturefind.index.access_store import AccessStore, Platform

        store = AccessStore(index_dir)
        store.add_platform(Platform(self.issuer, self.CLIENT_ID, self.auth_url, self.jwks_url, "",
                                    (self.DEPLOYMENT,), "fake LMS"))
        if course:
            store.link_context(self.issuer, self.user["context"]["id"], course, self.user["context"]["title"])
        store.close()

    # -- keys and tokens ---------------------------------------------------------------------------
    def jwks(self) -> dict:
        from jwt.algorithms import RSAAlgorithm

        keys = []
        for kid, key in [(self.kid, self.key), *self.old_keys]:
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))      # type: ignore[attr-defined]
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def rotate(self) -> None:
        self.old_keys.append((self.kid, self.key))
        self.key, self.kid = new_key(), f"platform-key-{len(self.old_keys) + 1}"

    def claims(self, nonce: str, overrides: Optional[dict] = None) -> dict:
        """The launch claims; `overrides` sets claims (full names) and removes those it maps to None."""
        now = int(time.time())
        c = {"iss": self.issuer, "aud": self.CLIENT_ID, "sub": self.user["sub"], "iat": now, "exp": now + 300,
             "nonce": nonce, "name": "Ada Student",
             CLAIM + "message_type": self.message, CLAIM + "version": "1.3.0",
             CLAIM + "deployment_id": self.DEPLOYMENT, CLAIM + "roles": self.user["roles"],
             CLAIM + "context": self.user["context"],
             CLAIM + "target_link_uri": (self.tool_url or "http://tool") + "/lti/launch",
             CLAIM + "resource_link": {"id": "link-1"}}
        if self.custom:
            c[CLAIM + "custom"] = self.custom
        if self.message == "LtiDeepLinkingRequest":
            c.pop(CLAIM + "resource_link")
            c[DL_CLAIM + "deep_linking_settings"] = {
                "deep_link_return_url": self.issuer + "/dl-return", "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"], "data": "opaque-123"}
        for k, v in (overrides or {}).items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        return c

    def id_token(self, nonce: str, key=None, kid: Optional[str] = None, alg: str = "RS256",
                 overrides: Optional[dict] = None) -> str:
        import jwt

        claims = self.claims(nonce, overrides)
        if alg == "none":
            return jwt.encode(claims, None, algorithm="none", headers={"kid": kid or self.kid})
        return jwt.encode(claims, key or self.key, algorithm=alg, headers={"kid": kid or self.kid})

    # -- the browser flow ------------------------------------------------------------------------------
    def auth_response(self, q: dict) -> str:
        """The OIDC authorization endpoint: a signed id_token form-posted to the tool's redirect_uri."""
        if q.get("client_id") != self.CLIENT_ID or q.get("response_mode") != "form_post":
            return "<p>bad request</p>"
        token = self.id_token(q["nonce"])
        return (f"<!doctype html><form id='f' method='post' action='{html.escape(q['redirect_uri'])}'>"
                f"<input type='hidden' name='id_token' value='{token}'>"
                f"<input type='hidden' name='state' value='{html.escape(q['state'])}'></form>"
                "<script>document.getElementById('f').submit()</script>")

    def login_url(self, message_hint: str = "") -> str:
        return self.tool_url + "/lti/login?" + urlencode({
            "iss": self.issuer, "login_hint": self.user["sub"], "target_link_uri": self.tool_url + "/lti/launch",
            "client_id": self.CLIENT_ID, "lti_message_hint": message_hint or str(uuid.uuid4())})

    def course_page(self, message: str) -> str:
        """The LMS page that frames the tool (on this platform's own origin)."""
        self.message = message
        return ("<!doctype html><title>EE 101 · Fake LMS</title><h1>EE 101</h1>"
                f"<iframe id='tool' src='{html.escape(self.login_url())}' width='1100' height='760' "
                "allow='autoplay; fullscreen'></iframe>")

    def verify_deep_link(self, token: str) -> dict:
        """Check the tool's answer as a platform must: signature against the tool's JWKS, iss/aud/exp."""
        import jwt

        client = jwt.PyJWKClient(self.tool_url + "/lti/jwks.json", timeout=5)
        key = client.get_signing_key_from_jwt(token).key
        return jwt.decode(token, key, algorithms=["RS256"], audience=self.issuer, issuer=self.CLIENT_ID)
