"""Errors of the Gemini backend; their text never contains the API key."""
from __future__ import annotations

import os
import re

from ..errors import LectureFindError

_KEY_ENV = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
# Google API keys look like "AIza" + 35 url-safe characters; scrub those even when not in the env.
_KEY_RE = re.compile(r"AIza[0-9A-Za-z_\-]{30,}")


def api_key() -> str | None:
    """The key, from the environment only (GEMINI_API_KEY wins over GOOGLE_API_KEY)."""
    for name in _KEY_ENV:
        v = os.environ.get(name, "").strip()
        if v:
            return v
    return None


def scrub(text: object) -> str:
    """`text` with every known key (and anything shaped like a Google API key) replaced."""
    s = str(text)
    for name in _KEY_ENV:
        v = os.environ.get(name, "").strip()
        if len(v) >= 4:
            s = s.replace(v, "[REDACTED]")
    s = re.sub(r"(?i)(key=)[^&\s'\"]+", r"\1[REDACTED]", s)
    s = re.sub(r"(?i)(x-goog-api-key['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+", r"\1[REDACTED]", s)
    return _KEY_RE.sub("[REDACTED]", s)


class GeminiError(LectureFindError):
    """A Gemini request failed; str() is one readable, key-free line."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(scrub(message))
        self.code = code


class LimitError(GeminiError):
    """An input breaks a documented model limit; refused before anything is sent."""
