"""Search side: Gemini rankings of segments for a query's text, photo and recording (one space, three readers)."""
from __future__ import annotations

import os
from typing import Callable, Optional

import cv2

from ..index.catalog import Catalog
from ..rank.query import Query, QueryImage
from ..rank.retrievers.base import CANDIDATES, Ranked, Reads
from .client import GeminiEmbedder
from .config import GeminiConfig
from .limits import Item, Media
from .media import audio_file

SHORTLIST = 1000
# a search does not wait for Gemini the way an ingest does: one retry, a short timeout, then the offline rankings;
# after a failure the Gemini view is skipped for a while instead of slowing every query
SEARCH_TIMEOUT_S = float(os.environ.get("LECTUREFIND_GEMINI_SEARCH_TIMEOUT_S") or 8)
SEARCH_ATTEMPTS = 2
RETRY_AFTER_S = 60.0


def image_media(img: QueryImage) -> Media:
    """A query photo as Gemini takes it: the file's own bytes (PNG/JPEG), else re-encoded as PNG."""
    name = os.path.basename(img.path)
    if img.format.gemini:
        return Media(kind="image", mime=img.format.mime, data=img.data, label=name)
    ok, buf = cv2.imencode(".png", img.pixels)
    if not ok:   # pragma: no cover - cv2 encodes any decoded image
        raise ValueError(f"{img.path}: cannot re-encode the photo for Gemini")
    return Media(kind="image", mime="image/png", data=buf.tobytes(), label=name)


class GeminiSpace:
    """The index's Gemini vectors and an embedder for queries in the same space (model and dims)."""

    def __init__(self, index_dir: str, cfg: Optional[GeminiConfig] = None, warn: Callable[[str], None] = print):
        from .store import gemini_store

        self.index_dir = os.path.abspath(index_dir)
        self.cfg = cfg or GeminiConfig.from_env()
        self.cfg.timeout_s = min(self.cfg.timeout_s, SEARCH_TIMEOUT_S)
        self.cfg.max_attempts = min(self.cfg.max_attempts, SEARCH_ATTEMPTS)
        self.warn = warn
        self.down_until = 0.0             # monotonic time before which Gemini is not asked again
        self.unavailable: Optional[str] = None     # why the last query went without the Gemini view
        self.catalog = Catalog(self.index_dir, readonly=True)
        self.store = gemini_store(self.catalog, self.index_dir, prefix=self.cfg.prefix_dims)
        self._embedder: Optional[GeminiEmbedder] = None
        self._warned = False

    def close(self) -> None:
        if self._embedder is not None:
            self._embedder.record("search")
            self._embedder.close()
        self.catalog.close()

    @property
    def embedder(self) -> GeminiEmbedder:
        if self._embedder is None:
            self._embedder = GeminiEmbedder(self.cfg, self.index_dir, warn=self.warn)
        return self._embedder

    def _ready(self) -> bool:
        if not len(self.store.load(self.catalog)):
            if not self._warned:
                self.warn("warning: no Gemini vectors in this index; run `lecturefind ingest --backend gemini` "
                          "(searching with the offline rankings only)")
                self._warned = True
            return False
        # the query must live in the index's space: same model and dims
        self.cfg.model = self.store.model or self.cfg.model
        self.cfg.dims = self.store.dims
        self.cfg.prefix_dims = min(self.cfg.prefix_dims, self.cfg.dims)
        return True

    def rank(self, item: Item, n: int = CANDIDATES) -> list[Ranked]:
        if not self._ready():
            return []
        import time

        from .errors import scrub

        if time.monotonic() < self.down_until:
            return []
        try:
            (qv,) = self.embedder.embed([item])
        except Exception as e:        # network down, timeout, 5xx, quota: the offline rankings still answer
            self.unavailable = " ".join(scrub(e).split())[:200]
            self.down_until = time.monotonic() + RETRY_AFTER_S
            self.warn(f"warning: the Gemini view is unavailable ({self.unavailable}); these results come from the "
                      f"offline signals only (Gemini is tried again in {RETRY_AFTER_S:.0f} s)")
            return []
        self.unavailable = None
        scores, ids = self.store.search(qv, n, SHORTLIST)
        return [Ranked(int(i), float(s)) for s, i in zip(scores, ids)]


class GeminiRetriever:
    """One part of a query (text, photo or recording) embedded by Gemini and ranked in its space."""

    def __init__(self, space: GeminiSpace, reads: Reads):
        self.space = space
        self.reads = reads
        self.name = f"gemini-{reads}"

    def rank(self, query: Query, n: int = CANDIDATES) -> list[Ranked]:
        if self.reads == "text":
            return self.space.rank(Item("query", text=query.text), n) if query.text.strip() else []
        if self.reads == "image":
            return self.space.rank(Item("query", media=[image_media(query.image)]), n) if query.image else []
        if query.audio is None:
            return []
        return self.space.rank(Item("query", media=[audio_file(query.audio.path)]), n)


def gemini_retrievers(space: GeminiSpace) -> list[GeminiRetriever]:
    return [GeminiRetriever(space, reads) for reads in ("text", "image", "audio")]
