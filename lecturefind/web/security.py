"""Response headers (CSP with frame-ancestors, nosniff, referrer policy), per-client rate limit, upload checks."""
from __future__ import annotations

import os
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Optional

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from .. import formats
from ..formats import Limits

BASE_CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
            "script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")


FRAMED = ("embed", "lti")      # blueprints an LMS may frame


def lms_origins() -> list[str]:
    """Origins allowed to frame the embed and LTI pages: LECTUREFIND_EMBED_ORIGINS, and in `lti` mode the
    registered platforms' own origins."""
    origins = list(current_app.config["EMBED_ORIGINS"])
    if current_app.config.get("ACCESS") == "lti":
        from urllib.parse import urlparse

        from .access import current_access

        for p in current_access().store.platforms():
            for url in (p.issuer, p.auth_url):
                u = urlparse(url)
                if u.scheme in ("http", "https") and u.netloc and f"{u.scheme}://{u.netloc}" not in origins:
                    origins.append(f"{u.scheme}://{u.netloc}")
    return origins


def frame_ancestors(embed: bool) -> str:
    return " ".join(["'self'", *(lms_origins() if embed else [])])


def install(app) -> None:
    @app.after_request
    def _headers(resp):
        from flask import g

        embed = request.blueprint in FRAMED
        csp = BASE_CSP
        if getattr(g, "form_action", None):          # a Deep Linking answer posts to the platform
            csp = csp.replace("form-action 'self'", f"form-action 'self' {g.form_action}")
        resp.headers["Content-Security-Policy"] = f"{csp}; frame-ancestors {frame_ancestors(embed)}"
        if not embed:
            resp.headers["X-Frame-Options"] = "SAMEORIGIN"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "strict-origin-when-cross-origin" if embed else "same-origin"
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Cache-Control", "no-store")
        return resp


# -- rate limit -----------------------------------------------------------------------------------
class TooManyRequests(HTTPException):
    code = 429
    description = "Too many searches from you. Please wait a moment and try again."

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after

    def get_headers(self, environ=None, scope=None):
        return super().get_headers(environ, scope) + [("Retry-After", str(self.retry_after))]


class RateLimiter:
    """A token bucket per client (`rate_key`): `n` searches per `per` seconds, refilled continuously."""

    def __init__(self, n: int, per: float):
        self.n, self.per = n, per
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def hit(self, key: str) -> Optional[int]:
        """None when allowed, else the seconds to wait."""
        now = time.monotonic()
        rate = self.n / self.per
        with self.lock:
            if len(self.buckets) > 10000:   # forget idle clients
                self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < self.per}
            tokens, last = self.buckets.get(key, (float(self.n), now))
            tokens = min(float(self.n), tokens + (now - last) * rate)
            if tokens < 1.0:
                self.buckets[key] = (tokens, now)
                return max(1, int((1.0 - tokens) / rate + 0.999))
            self.buckets[key] = (tokens - 1.0, now)
            return None


def check_rate() -> None:
    rate = current_app.config.get("RATE")
    if not rate:
        return
    limiter = current_app.extensions.get("lecturefind.ratelimit")
    if limiter is None:
        limiter = current_app.extensions.setdefault("lecturefind.ratelimit", RateLimiter(*rate))
    wait = limiter.hit(rate_key())
    if wait is not None:
        raise TooManyRequests(wait)


def rate_key() -> str:
    """Whom a search counts against: the LMS user of an LTI session (a class behind one campus NAT is one
    address), else the client address."""
    from .access import session

    s = session()
    if s is not None and s.user and s.role != "api":
        return f"user\x00{s.issuer}\x00{s.user}"
    return request.remote_addr or "?"


# -- uploads --------------------------------------------------------------------------------------
class UploadError(HTTPException):
    code = 415


class UploadTooLarge(HTTPException):
    code = 413


def _check_image(path: str) -> None:
    """Decode-check an uploaded image against the same limits as any query image (formats.Limits)."""
    from PIL import Image

    limit = Limits.from_env().image_pixels
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > limit:
                raise UploadError(description=f"The image is too large (more than {limit // 1_000_000} megapixels).")
            im.verify()
    except UploadError:
        raise
    except Exception:
        raise UploadError(
            description=f"The uploaded image could not be read; use {formats.names('image', 'query')}.") from None


def _save(storage, kind: str, limit: int) -> Optional[str]:
    head = storage.stream.read(32)   # enough for every magic number in formats.py
    if not head:
        return None
    fmt = formats.sniff(head, kind)
    if fmt is None:
        what = "an image" if kind == "image" else "an audio recording"
        raise UploadError(description=f"The uploaded {kind} file is not {what} ({formats.names(kind, 'query')}).")
    fd, path = tempfile.mkstemp(prefix=f"lecturefind-{kind}-", suffix=fmt.ext)
    size = len(head)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(head)
            while True:
                chunk = storage.stream.read(1 << 16)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(description=f"The {kind} is too large (limit {limit // (1024 * 1024)} MB).")
                out.write(chunk)
        if kind == "image":
            _check_image(path)
    except BaseException:
        os.unlink(path)
        raise
    return path


@contextmanager
def saved_uploads():
    """The request's `image` / `audio` uploads sniffed, size-checked and saved to temp files; removed on exit."""
    paths: dict[str, Optional[str]] = {"image": None, "audio": None}
    try:
        for kind, key in (("image", "MAX_IMAGE_BYTES"), ("audio", "MAX_AUDIO_BYTES")):
            storage = request.files.get(kind)
            if storage is not None:
                paths[kind] = _save(storage, kind, int(current_app.config[key]))
        yield paths
    finally:
        for p in paths.values():
            if p and os.path.exists(p):
                os.unlink(p)


def clean_message(msg: str, paths: dict) -> str:
    """An error message with the server's temp paths replaced by what the user uploaded."""
    for kind, p in paths.items():
        if p:
            msg = msg.replace(p, f"uploaded {kind}")
    tmp = tempfile.gettempdir()
    if tmp in msg:
        msg = msg.replace(tmp + os.sep, "")
    return msg
