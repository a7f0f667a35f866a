"""The caches beside a catalog (`bm25.idx`, `vectors.faiss`) are its own: a catalog copied over another index's
(or a cache copied from another index) whose counters happen to agree is not served the other one's words or
vectors. A cache written before catalogs had identities is still taken, so an upgrade rebuilds nothing."""
from __future__ import annotations

import os
import shutil

import numpy as np

from lecturefind.index.bm25 import Bm25Cache
from lecturefind.index.catalog import Catalog, LectureContent
from lecturefind.index.vectors import VectorStore
from lecturefind.records import Segment


def _index(folder: str, name: str, texts: list[str], seed: int) -> tuple[Catalog, np.ndarray]:
    """An index of one spoken lecture of 20 s segments with unit vectors of its own; (its catalog, the vectors)."""
    vecs = np.random.default_rng(seed).normal(size=(len(texts), 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    cat = Catalog(folder)
    segs = [Segment(start=20.0 * i, end=20.0 * i + 20, speech=t) for i, t in enumerate(texts)]
    cat.replace_lecture(f"/c/{name}.mp4", 1, 1, name * 8, "course", LectureContent(
        kind="audio", title=name, duration=20.0 * len(texts), language="en", segments=segs,
        segment_vecs=list(vecs)), {})
    return cat, vecs


def test_a_catalog_copied_over_another_index_is_not_served_that_index_s_caches(tmp_path):
    p, q = str(tmp_path / "p"), str(tmp_path / "q")
    cat_p, vecs_p = _index(p, "alpha", ["eigenvalues of symmetric matrices", "the determinant vanishes"], 1)
    cat_q, _ = _index(q, "beta", ["fourier series converge", "the heat equation"], 2)
    assert cat_p.texts_key()[:2] == cat_q.texts_key()[:2] and cat_p.generation == cat_q.generation
    assert cat_p.identity and cat_q.identity and cat_p.identity != cat_q.identity
    Bm25Cache.of(q).refresh(cat_q)                       # q's words and vectors, written beside q's catalog
    VectorStore(q).load(cat_q, persist=True)
    cat_p.close()
    cat_q.close()
    shutil.copy(os.path.join(p, "catalog.sqlite"), os.path.join(q, "catalog.sqlite"))   # p's catalog, q's caches

    cat = Catalog(q, readonly=True)
    assert Bm25Cache.of(q).get(cat) is None              # not q's words: FTS5 answers until an ingest rebuilds
    store = VectorStore(q)
    assert not store.in_step(cat)
    store.load(cat)                                      # built from the catalog, not read from q's file
    dist, ids = store.search(vecs_p[0], 1)
    assert [r["speech"] for r in cat.segments([int(ids[0])])] == ["eigenvalues of symmetric matrices"]
    assert abs(float(dist[0]) - 1.0) < 1e-2
    cat.close()

    writer = Catalog(q)
    assert Bm25Cache.of(q).refresh(writer) is not None   # rebuilt whole, nothing of q's kept
    index = Bm25Cache.of(q).get(writer)
    assert index is not None and index.key == writer.texts_key()
    assert index.search(["eigenvalu"], 5) == [r["id"] for r in writer.file_segments("/c/alpha.mp4")][:1]
    assert index.doc_count("fourier") == 0
    writer.close()


def test_a_cache_written_before_catalog_identities_is_still_taken(tmp_path):
    folder = str(tmp_path / "idx")
    cat, _ = _index(folder, "alpha", ["eigenvalues of symmetric matrices"], 1)
    store = VectorStore(folder)
    store.load(cat, persist=True)
    with open(store.stamp_path) as f:
        assert f.read() == f"{cat.generation} {cat.identity}"
    with open(store.stamp_path, "w") as f:              # an older version's stamp: the generation alone
        f.write(str(cat.generation))
    assert store.in_step(cat)
    cat.close()


def test_a_milvus_collection_is_named_by_its_catalog_s_identity_and_an_older_name_is_kept(tmp_path):
    from lecturefind.index.milvus import MilvusStore
    from lecturefind.index.store import StoreSpec

    a, _ = _index(str(tmp_path / "a"), "a", ["one", "two"], seed=3)
    b, _ = _index(str(tmp_path / "b"), "b", ["one", "two"], seed=3)
    spec = StoreSpec.parse("milvus+http://127.0.0.1:9", str(tmp_path / "a"))     # naming reaches no server
    assert MilvusStore(spec, a).name == f"lf_{a.identity}_e5" != MilvusStore(spec, b).name
    b.set_setting("index_id", "0123456789abcdef")              # an index whose collection was named before identities
    assert MilvusStore(spec, b).name == "lf_0123456789abcdef_e5"
