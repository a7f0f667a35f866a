"""The app's hold on its index: one Searcher (models loaded once, searches serialised by a lock) and
per-thread read-only catalog connections for the pages."""
from __future__ import annotations

import threading
from typing import Optional

from flask import abort, current_app

from ..index.catalog import Catalog


class IndexMissing(Exception):
    """The configured index directory holds no catalog yet."""


class Store:
    def __init__(self, index_dir: str, models=None, searcher=None):
        self.index_dir = index_dir
        self._models = models
        self._searcher = searcher
        self._lock = threading.Lock()        # guards the shared Searcher: its SQLite connection and models
        self._local = threading.local()

    def _get_searcher(self):
        if self._searcher is None:
            from ..rank.searcher import Searcher

            try:
                self._searcher = Searcher(self.index_dir, models=self._models)
            except FileNotFoundError as e:
                raise IndexMissing(str(e)) from e
        return self._searcher

    def search(self, text: Optional[str] = None, image: Optional[str] = None, audio: Optional[str] = None,
               k: int = 10, course: Optional[str] = None):
        with self._lock:
            return self._get_searcher().search(text=text, image=image, audio=audio, k=k, course=course)

    def search_text(self, text: str, k: int = 10, course: Optional[str] = None):
        """The text path alone (the course audit asks one of these per objective)."""
        with self._lock:
            return self._get_searcher().search_text(text, k=k, course=course)

    def warm(self) -> None:
        """Open the index and load the text model now rather than on the first request."""
        with self._lock:
            self._get_searcher().warm()

    def catalog(self) -> Catalog:
        """A read-only catalog connection private to the calling thread."""
        cat = getattr(self._local, "catalog", None)
        if cat is None:
            try:
                cat = Catalog(self.index_dir, readonly=True)
            except FileNotFoundError as e:
                raise IndexMissing(str(e)) from e
            self._local.catalog = cat
        return cat


def current_store() -> Store:
    """The Store of the app handling this request."""
    return current_app.extensions["lecturefind"]


def or_404(row):
    """A catalog row, or the 404 page when the id names nothing."""
    if row is None:
        abort(404)
    return row
