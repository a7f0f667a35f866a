"""The app's hold on its index: a pool of Searchers (models loaded once and shared; searches in parallel) and
per-thread read-only catalog connections for the pages."""
from __future__ import annotations

import os
import queue
import threading
from collections import OrderedDict
from contextlib import contextmanager
from typing import Optional

from flask import abort, current_app

from ..index.catalog import Catalog

RESULTS_MEMORY = int(os.environ.get("LECTUREFIND_RESULTS_MEMORY") or 2048)   # typed questions whose answers are kept


class IndexMissing(Exception):
    """The configured index directory holds no catalog yet."""


class Store:
    """A pool of Searchers over one index: searches run side by side, each on a searcher of its own (its own
    SQLite connection), sharing the loaded models and the vector stores (FAISS in memory, or one Milvus client).
    `searchers` bounds the pool (default: the CPU count, at most 4); a Searcher handed in (tests) is the only one.
    The answers to the last RESULTS_MEMORY typed questions are kept for the index's current generation: a class
    asks the same questions, and an ingest (a new generation) retires them."""

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
        self._answers: OrderedDict = OrderedDict()    # (generation, text, k, course) -> moments, oldest first
        self._answers_lock = threading.Lock()

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
        """The moments answering a query (a list the caller must not change: a typed question's are shared)."""
        if image is not None or audio is not None or not text or RESULTS_MEMORY <= 0:
            with self.searcher() as s:
                return s.search(text=text, image=image, audio=audio, k=k, course=course)
        key = (self.catalog().results_key(), text.strip(), k, course)
        with self._answers_lock:
            if self._answers and next(iter(self._answers))[0] != key[0]:
                self._answers.clear()             # the index changed: every kept answer may be stale
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
                return list(found)
        with self.searcher() as s:
            moments = s.search(text=text, k=k, course=course)
        with self._answers_lock:
            self._answers[key] = tuple(moments)
            while len(self._answers) > RESULTS_MEMORY:
                self._answers.popitem(last=False)
        return moments

    def search_text(self, text: str, k: int = 10, course: Optional[str] = None, latent: bool = True):
        """The text path alone (the course audit asks one of these per objective)."""
        with self.searcher() as s:
            return s.search_text(text, k=k, course=course, latent=latent)

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
