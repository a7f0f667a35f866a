"""FAISS vector store keyed by segment id, derived from the catalog's embeddings.

The catalog holds every embedding; `vectors.faiss` is a cache stamped with the
catalog generation it was built from. A stale or missing file (e.g. after a
crash between the SQLite commit and the FAISS write) is rebuilt from the catalog.
"""
from __future__ import annotations

import math
import os
import threading
from typing import Optional

import faiss
import numpy as np

from .catalog import Catalog, same_catalog


def fp16_flat(dim: int) -> faiss.Index:
    """Exhaustive inner product over fp16 codes: the float32 ranking for unit vectors, half the memory and
    ~3x faster per query (memory bandwidth); deletions supported. Every FAISS index here starts from it."""
    index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    index.train(np.zeros((1, dim), np.float32))
    return index


ANN_ABOVE = int(os.environ.get("LECTUREFIND_ANN_ABOVE") or 50000)   # segments; up to here search is exact


def ivf_fp16(vecs: np.ndarray) -> faiss.Index:
    """An approximate index for a large catalog: inverted lists over 4·√N spherical k-means cells (trained on
    at most 64 vectors a cell), fp16 codes (the flat index's, so memory is unchanged), and enough cells probed
    for recall@10 ≥ 0.95 against exact search (scripts/bench/ann.py). Supports deletions, like the flat one."""
    n, dim = vecs.shape
    nlist = max(16, int(4 * math.sqrt(n)))
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                          faiss.METRIC_INNER_PRODUCT)
    index.cp.spherical = True
    index.cp.max_points_per_centroid = 64
    index.train(np.ascontiguousarray(vecs, dtype=np.float32))
    index.nprobe = probes(nlist)
    return index


def probes(nlist: int) -> int:
    return min(nlist, max(32, nlist // 16))


def _outgrown(index: faiss.Index) -> bool:
    """A flat index past ANN_ABOVE, or inverted lists trained for a quarter of what they now hold: rebuild."""
    if isinstance(index, faiss.IndexIVF):
        return index.ntotal > 4 * (index.nlist / 4) ** 2
    return index.ntotal > ANN_ABOVE


class VectorStore:
    """The `faiss` store (`store.SegmentStore`): one FAISS index over one embedding column of the segments:
    `embedding` (e5, every language) in `vectors.faiss`, `embedding_en` (English MiniLM) in `vectors_en.faiss`.
    Several searchers may share one store: loading is serialised, searching is not (FAISS reads are thread-safe)."""

    def __init__(self, index_dir: str, name: str = "vectors", column: str = "embedding"):
        self.column = column
        self.path = os.path.join(index_dir, f"{name}.faiss")
        self.stamp_path = self.path + ".generation"
        self.index: Optional[faiss.Index] = None
        self.generation = -1
        self._lock = threading.Lock()

    def _read_stamp(self) -> tuple[int, str]:
        """(the catalog generation the file holds, that catalog's identity: "" in a stamp written before them)."""
        try:
            with open(self.stamp_path) as f:
                gen, _, identity = f.read().strip().partition(" ")
                return int(gen), identity
        except (OSError, ValueError):
            return -2, ""

    def _cache_of(self, catalog: Catalog, gen: int) -> bool:
        """Whether the file on disk holds generation `gen` of this catalog."""
        have, identity = self._read_stamp()
        return os.path.exists(self.path) and have == gen and same_catalog(identity, catalog.identity)

    @staticmethod
    def build(ids: np.ndarray, vecs: np.ndarray, exact: bool = False) -> faiss.Index:
        """Exact (fp16 flat) up to ANN_ABOVE vectors, approximate (`ivf_fp16`) above unless `exact`."""
        dim = vecs.shape[1] if vecs.size else 384
        index = ivf_fp16(vecs) if len(ids) > ANN_ABOVE and not exact else faiss.IndexIDMap2(fp16_flat(dim))
        if len(ids):
            index.add_with_ids(np.ascontiguousarray(vecs, dtype=np.float32), ids.astype(np.int64))
        return index

    def load(self, catalog: Catalog, persist: bool = False) -> faiss.Index:
        """Return an index matching the catalog's current generation."""
        gen = catalog.generation
        if self.index is not None and self.generation == gen:
            return self.index
        with self._lock:
            if self.index is not None and self.generation == gen:
                return self.index
            return self._load(catalog, gen, persist)

    def _load(self, catalog: Catalog, gen: int, persist: bool) -> faiss.Index:
        cached = None
        if self._cache_of(catalog, gen):
            cached = faiss.read_index(self.path)
            if isinstance(cached, faiss.IndexIVF):
                cached.nprobe = probes(cached.nlist)
        if cached is not None and not _outgrown(cached):
            self.index = cached
        else:        # none, stale, or one this size should not be (an exact index from before ANN_ABOVE)
            outgrown = cached is not None
            ids, vecs = catalog.all_embeddings(self.column)
            self.index = self.build(ids, vecs)
            if persist or outgrown:
                try:
                    # atomic: a reader rebuilding an outgrown cache writes what ingest would
                    self.save(gen, catalog.identity)
                except OSError:
                    pass             # a read-only index: built again next time
        self.generation = gen
        return self.index

    def save(self, generation: int, identity: str) -> None:
        """Write atomically: a reader sees the old or the new file, never half of one; stamped with the catalog's
        generation and identity."""
        tmp = self.path + ".tmp"
        faiss.write_index(self.index, tmp)
        os.replace(tmp, self.path)
        tmp = self.stamp_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{generation} {identity}".strip())
        os.replace(tmp, self.stamp_path)

    def sync(self, catalog: Catalog, before: int, removed: list[int], added: dict[int, np.ndarray]) -> None:
        """Apply one committed file's changes and persist (called right after the SQLite commit).

        `before` is the catalog generation the change was made on; if this store is not
        at that generation it is rebuilt from the catalog instead of patched.
        """
        if self.index is None or self.generation != before:
            self.index = None
            self.load(catalog, persist=True)
            return
        if removed:
            self.index.remove_ids(np.array(removed, dtype=np.int64))
        if added:
            ids = np.array(list(added), dtype=np.int64)
            vecs = np.stack([added[i] for i in ids]).astype(np.float32)
            if self.index.ntotal == 0 and self.index.d != vecs.shape[1]:
                self.index = self.build(ids, vecs)
            else:
                self.index.add_with_ids(vecs, ids)
        if _outgrown(self.index):        # past the exact size, or lists trained on too few: train anew
            self.index = None
            self.generation = -1
            self.load(catalog, persist=True)
            return
        self.generation = catalog.generation
        self.save(self.generation, catalog.identity)

    def rebuild(self, catalog: Catalog) -> int:
        """Rebuild the file from the catalog alone (`lecturefind reindex`)."""
        with self._lock:
            self.index = None
            ids, vecs = catalog.all_embeddings(self.column)
            self.index = self.build(ids, vecs)
            self.generation = catalog.generation
            self.save(self.generation, catalog.identity)
            return len(ids)

    def describe(self) -> str:
        return f"faiss {self.path}"

    def in_step(self, catalog: Catalog) -> bool:
        """Whether the file holds the catalog's current generation (else the next load rebuilds it)."""
        return self._cache_of(catalog, catalog.generation)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        index = self.index                # one reference: a reload swapping it in meanwhile is harmless
        if index is None or index.ntotal == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        d, i = index.search(np.asarray(query, np.float32).reshape(1, -1), min(k, index.ntotal))
        keep = i[0] >= 0
        return d[0][keep], i[0][keep]
