"""The app's hold on its index: a pool of Searchers (models loaded once and shared; searches in parallel) and
per-thread read-only catalog connections for the pages."""
from __future__ import annotations

import os
import queue
import threading
from contextlib import contextmanager
from typing import Optional

from flask import abort, current_app

from ..index.catalog import Catalog


class IndexMissing(Exception):
    """The configured index directory holds no catalog yet."""


class Store:
    """A pool of Searchers over one index: searches run side by side, each on a searcher of its own (its own
    SQLite connection), sharing the loaded models and the vector stores (FAISS in memory, or one Milvus client).
    `searchers` bounds the pool (default: the CPU count, at most 4); a Searcher handed in (tests) is the only one."""

    def __init__(self, index_dir: str, models=None, searcher=None, searchers: Optional[int] = None,
                 store: Optional[str] = None):
        self.index_dir = index_dir
        self._store = store           # `index.store.StoreSpec` text; None: the one the index records
        self._models = models
        self._size = 1 if searcher is not None else max(1, searchers or min(4, os.cpu_count() or 1))
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._made = 0
        self._shared = None           # (e5, English) vector stores of the first searcher
        self._make_lock = threading.Lock()
        if searcher is not None:
            self._idle.put(searcher)
            self._made = 1
        self._local = threading.local()

    def _new_searcher(self):
        from ..rank.searcher import Searcher

        if self._models is None:
            from ..ml_models import MLModels

            self._models = MLModels()
        try:
            s = Searcher(self.index_dir, models=self._models, vectors=self._shared, store=self._store)
        except FileNotFoundError as e:
            raise IndexMissing(str(e)) from e
        self._shared = (s.vectors, s.vectors_en)
        return s

    @contextmanager
    def searcher(self):
        """A searcher for this request alone; made on demand up to the pool size, else waited for."""
        try:
            s = self._idle.get_nowait()
        except queue.Empty:
            s = None
            with self._make_lock:
                if self._made < self._size:
                    s = self._new_searcher()
                    self._made += 1
            if s is None:
                s = self._idle.get()
        try:
            yield s
        finally:
            self._idle.put(s)

    @property
    def size(self) -> int:
        return self._made

    def search(self, text: Optional[str] = None, image: Optional[str] = None, audio: Optional[str] = None,
               k: int = 10, course: Optional[str] = None):
        with self.searcher() as s:
            return s.search(text=text, image=image, audio=audio, k=k, course=course)

    def search_text(self, text: str, k: int = 10, course: Optional[str] = None):
        """The text path alone (the course audit asks one of these per objective)."""
        with self.searcher() as s:
            return s.search_text(text, k=k, course=course)

    def warm(self) -> None:
        """Open the index and load the text models now rather than on the first request."""
        with self.searcher() as s:
            s.warm()

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
