"""The store seam: where the segment vectors (and, where the store can, BM25) are searched.

SQLite's catalog is the source of truth; a store is derived from it and can be rebuilt from it. Two stores:
`faiss` (default, embedded: `vectors.faiss` files beside the catalog, BM25 in SQLite FTS5) and `milvus`
(pymilvus: Milvus Lite in a local file, or a Milvus server; vectors and BM25 in Milvus). An index remembers
its store in the catalog, so `search` and `serve` use the store `ingest` built.

    faiss                          the default
    milvus                         Milvus Lite in INDEX/milvus.db
    milvus:PATH                    Milvus Lite in PATH
    milvus+http://host:19530       a Milvus server (token: $LECTUREFIND_MILVUS_TOKEN)
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional, Protocol, runtime_checkable

import numpy as np

from ..errors import LectureFindError
from .catalog import Catalog

COLUMNS = {"embedding": "vectors", "embedding_en": "vectors_en"}   # catalog column → store name


class StoreError(LectureFindError):
    """A store that cannot be used as it is: unreachable, missing, or built for another catalog or model."""


class SegmentStore(Protocol):
    """One embedding column of the segments (`embedding`: e5; `embedding_en`: English MiniLM), searchable."""

    column: str
    generation: int          # the catalog generation it holds; -1: not loaded

    def load(self, catalog: Catalog, persist: bool = False) -> object:
        """Be in step with the catalog's generation (with `persist`, repair and record it in the store)."""
        ...

    def sync(self, catalog: Catalog, before: int, removed: list[int], added: dict[int, np.ndarray]) -> None:
        """Apply one committed file's change, made on catalog generation `before` (called after the commit)."""
        ...

    def rebuild(self, catalog: Catalog) -> int:
        """Rebuild from the catalog alone; returns the vectors written."""
        ...

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, segment ids), best first."""
        ...

    def describe(self) -> str:
        """Where it lives, for `status` (no secrets)."""
        ...

    def in_step(self, catalog: Catalog) -> bool:
        """Whether it holds the catalog's current generation."""
        ...


@runtime_checkable
class TextSearch(Protocol):
    """A store that also ranks segments by BM25 over the catalog's `words.fts_text` stems."""

    def search_text(self, terms: list[str], k: int) -> list[int]: ...


@dataclass(frozen=True)
class StoreSpec:
    kind: str                # 'faiss' | 'milvus'
    uri: str = ""            # milvus: a Lite file path or a server URI
    in_index: bool = False   # Milvus Lite in INDEX/milvus.db: recorded as `milvus`, so a moved index still finds it

    @classmethod
    def parse(cls, text: str, index_dir: str) -> "StoreSpec":
        text = (text or "faiss").strip()
        if text == "faiss":
            return cls("faiss")
        if text == "milvus" or text == "milvus:":
            return cls("milvus", os.path.join(os.path.abspath(index_dir), "milvus.db"), in_index=True)
        if text.startswith("milvus+"):
            uri = text[len("milvus+"):]
            if not re.match(r"^(https?|tcp|grpc)://[^\s/]+", uri):
                raise StoreError(f"store {text!r}: expected milvus+http://HOST:PORT")
            return cls("milvus", uri)
        if text.startswith("milvus:"):
            path = os.path.abspath(os.path.expanduser(text[len("milvus:"):]))
            if not path.endswith(".db"):
                raise StoreError(f"store {text!r}: a Milvus Lite file name must end in .db")
            return cls("milvus", path)
        raise StoreError(f"unknown store {text!r}: use faiss, milvus, milvus:PATH.db or milvus+http://HOST:PORT")

    @property
    def is_server(self) -> bool:
        return "://" in self.uri

    def __str__(self) -> str:
        """The spec as `--store` takes it and the catalog records it."""
        return "milvus" if self.in_index else self.label

    @property
    def label(self) -> str:
        """Where it is, for messages (a Lite file by its full path; never a password)."""
        if self.kind == "faiss":
            return "faiss"
        if self.is_server:
            return "milvus+" + re.sub(r"//[^/@]*@", "//", self.uri)      # never a password in a URI
        return "milvus:" + self.uri


def store_spec(catalog: Catalog, index_dir: str, given: Optional[str] = None) -> StoreSpec:
    """The store to use: the one asked for (`--store`, then $LECTUREFIND_STORE), else the one the index records."""
    asked = given or os.environ.get("LECTUREFIND_STORE")
    return StoreSpec.parse(asked or catalog.setting("store") or "faiss", index_dir)


def open_stores(spec: StoreSpec, catalog: Catalog, index_dir: str) -> tuple[SegmentStore, SegmentStore]:
    """The (e5, English) stores of an index."""
    if spec.kind == "milvus":
        from .milvus import MilvusStore

        return (MilvusStore(spec, catalog, "embedding", text=True), MilvusStore(spec, catalog, "embedding_en"))
    from .vectors import VectorStore

    return VectorStore(index_dir), VectorStore(index_dir, "vectors_en", "embedding_en")
