"""The one search path shared by the page, the embed and the API: validate, save uploads, search, clean errors."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

from flask import request
from werkzeug.exceptions import BadRequest

from ..errors import LectureFindError
from ..rank.results import answered
from . import access
from .config import MAX_K, MAX_QUERY_CHARS
from .security import check_rate, clean_message, saved_uploads
from .store import current_store


@dataclass
class SearchRun:
    text: str = ""
    k: int = 10
    course: Optional[str] = None
    had_image: bool = False
    had_audio: bool = False
    results: list = field(default_factory=list)
    took_ms: float = 0.0

    @property
    def asked(self) -> bool:
        return bool(self.text or self.had_image or self.had_audio)

    @property
    def answered(self) -> bool:
        return answered(self.results)


def read_params(source) -> SearchRun:
    text = " ".join((source.get("q") or "").split())
    if len(text) > MAX_QUERY_CHARS:
        raise BadRequest(f"The question is too long (at most {MAX_QUERY_CHARS} characters).")
    raw_k = source.get("k") or "10"
    try:
        k = int(raw_k)
    except ValueError:
        raise BadRequest("k must be a whole number.") from None
    if not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be between 1 and {MAX_K}.")
    course = access.scope((source.get("course") or "").strip() or None)
    return SearchRun(text=text, k=k, course=course)


def has_upload(kind: str) -> bool:
    f = request.files.get(kind)
    return f is not None and bool(f.filename or f.content_length)


def run_search(source, allow_uploads: bool = False) -> SearchRun:
    """Search with the request's parameters (and uploads); an unanswerable query is a 400 with a readable message."""
    run = read_params(source)
    store = current_store()
    uploads = allow_uploads and (has_upload("image") or has_upload("audio"))
    if not run.text and not uploads:
        return run
    check_rate()
    if not uploads:
        return _search(store, run, {"image": None, "audio": None})
    with saved_uploads() as paths:
        run.had_image, run.had_audio = bool(paths["image"]), bool(paths["audio"])
        if not run.asked:
            return run
        return _search(store, run, paths)


def _search(store, run: SearchRun, paths: dict) -> SearchRun:
    t0 = time.perf_counter()
    try:
        run.results = store.search(text=run.text or None, image=paths["image"], audio=paths["audio"], k=run.k,
                                   course=run.course)
    except LectureFindError as e:
        raise BadRequest(clean_message(str(e), paths) or "The query could not be answered.") from None
    run.took_ms = (time.perf_counter() - t0) * 1000
    return run
