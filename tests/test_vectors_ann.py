"""The FAISS store switches to approximate search (IVF, fp16 codes) above a size, keeps recall, and still
supports the deletions and additions an ingest makes."""
from __future__ import annotations

import faiss
import numpy as np

from lecturefind.index import vectors


def clustered(n: int, dim: int = 64, clusters: int = 200, seed: int = 0) -> np.ndarray:
    """Unit vectors around topic centres, as segment embeddings of many courses are."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    x = centres[rng.integers(0, clusters, n)] + 0.6 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def recall_at_10(index: faiss.Index, x: np.ndarray, ids: np.ndarray, queries: np.ndarray) -> float:
    exact = np.argsort(-(queries @ x.T), axis=1)[:, :10]
    _, got = index.search(queries, 10)
    return float(np.mean([len(set(ids[e]) & set(g)) / 10 for e, g in zip(exact, got)]))


def test_small_catalogs_stay_exact_and_large_ones_go_approximate_with_recall(monkeypatch):
    monkeypatch.setattr(vectors, "ANN_ABOVE", 5000)
    x = clustered(20000)
    ids = np.arange(100, 100 + len(x), dtype=np.int64)
    queries = clustered(200, seed=1)
    small = vectors.VectorStore.build(ids[:4000], x[:4000])
    assert not isinstance(faiss.downcast_index(small), faiss.IndexIVF)
    assert recall_at_10(small, x[:4000], ids[:4000], queries) >= 0.99      # exact but for fp16 ties
    big = vectors.VectorStore.build(ids, x)
    assert isinstance(big, faiss.IndexIVF) and big.nlist == int(4 * np.sqrt(len(x)))
    assert big.nprobe == vectors.probes(big.nlist)
    assert recall_at_10(big, x, ids, queries) >= 0.95


def test_approximate_index_takes_deletions_and_additions_and_is_rebuilt_when_outgrown(monkeypatch, tmp_path):
    monkeypatch.setattr(vectors, "ANN_ABOVE", 2000)
    x = clustered(13000)
    ids = np.arange(len(x), dtype=np.int64)
    index = vectors.VectorStore.build(ids[:3000], x[:3000])
    assert isinstance(index, faiss.IndexIVF)
    index.remove_ids(np.arange(0, 100, dtype=np.int64))
    _, got = index.search(x[:100], 1)
    assert not set(got[:, 0]) & set(range(100))             # a replaced lecture's segments are gone
    index.add_with_ids(x[3000:3100], ids[3000:3100])
    _, got = index.search(x[3000:3100], 1)
    assert np.mean(got[:, 0] == ids[3000:3100]) >= 0.95        # and its new ones are found
    path = str(tmp_path / "v.faiss")
    faiss.write_index(index, path)
    again = faiss.read_index(path)
    assert isinstance(again, faiss.IndexIVF) and again.ntotal == index.ntotal
    assert not vectors._outgrown(index)
    flat = vectors.VectorStore.build(ids[:1000], x[:1000])
    flat.add_with_ids(x[1000:2500], ids[1000:2500])
    assert vectors._outgrown(flat)                                # past ANN_ABOVE: the next sync trains lists
    index.add_with_ids(x[3100:], ids[3100:])                     # 4x what the lists were trained for
    assert vectors._outgrown(index)


def test_an_exact_cache_past_the_size_is_rebuilt_approximate_when_opened(monkeypatch, tmp_path):
    """An index cached exact before it grew past ANN_ABOVE (or by a version without ANN) is trained anew when a
    reader opens it, and saved, so the next open reads the approximate one."""
    monkeypatch.setattr(vectors, "ANN_ABOVE", 2000)
    x = clustered(6000)
    ids = np.arange(len(x), dtype=np.int64)

    class Catalog:
        generation = 7
        identity = "a1b2c3d4e5f60718"
        reads = 0

        def all_embeddings(self, column):
            Catalog.reads += 1
            return ids, x

    store = vectors.VectorStore(str(tmp_path))
    store.index = vectors.VectorStore.build(ids, x, exact=True)
    store.save(Catalog.generation, Catalog.identity)
    assert not isinstance(faiss.read_index(store.path), faiss.IndexIVF)
    opened = vectors.VectorStore(str(tmp_path)).load(Catalog())
    assert isinstance(opened, faiss.IndexIVF) and opened.ntotal == len(x) and Catalog.reads == 1
    assert isinstance(faiss.read_index(store.path), faiss.IndexIVF)
    vectors.VectorStore(str(tmp_path)).load(Catalog())
    assert Catalog.reads == 1                                     # the second open reads the saved one
