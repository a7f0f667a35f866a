"""Search side: the Gemini ranking of segment ids for a query, fed to Searcher as one more ranking."""
from __future__ import annotations

import os
from typing import Callable, Optional

from ..index.catalog import Catalog
from .client import GeminiEmbedder
from .config import GeminiConfig
from .limits import Item
from .store import GeminiStore

CANDIDATES = 200
SHORTLIST = 1000


class GeminiRanker:
    """`ranker(text) -> [segment ids]`, best first; empty when the index holds no Gemini vectors."""

    def __init__(self, index_dir: str, cfg: Optional[GeminiConfig] = None, warn: Callable[[str], None] = print):
        self.index_dir = os.path.abspath(index_dir)
        self.cfg = cfg or GeminiConfig.from_env()
        self.warn = warn
        self.catalog = Catalog(self.index_dir, readonly=True)
        self.store = GeminiStore(self.index_dir, prefix=self.cfg.prefix_dims)
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
        self.store.load(self.catalog)
        if not len(self.store.two_stage):
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

    def rank_item(self, item: Item, k: int = CANDIDATES) -> list[int]:
        if not self._ready():
            return []
        (qv,) = self.embedder.embed([item])
        _, ids = self.store.search(qv, k, SHORTLIST)
        return [int(i) for i in ids]

    def __call__(self, text: str) -> list[int]:
        text = (text or "").strip()
        return self.rank_item(Item("query", text=text)) if text else []

    def image(self, path: str) -> list[int]:
        from .media import image_file

        return self.rank_item(Item("query", media=[image_file(path)]))

    def audio(self, path: str) -> list[int]:
        from .media import audio_file

        return self.rank_item(Item("query", media=[audio_file(path)]))
