"""The store seam at scale: FAISS against Milvus Lite on indexes made by scripts/bench/make_catalog.py.

    .venv/bin/python scripts/bench/stores.py --index /tmp/idx-100k [--queries 200] [--milvus /tmp/m.db]

For one index: builds its Milvus Lite collections from the catalog (`MilvusStore.rebuild`, what
`lecturefind reindex --store milvus:PATH` runs; timed) unless they are already there, then for each store
(the index's FAISS files, then Milvus Lite) times `Searcher.search_text` end to end (p50/p99 after a warm-up), the
e5 vector search alone, and for Milvus its BM25 alone; recall@10 of each store's e5 search against exact inner
product (numpy over the catalog's vectors), and the agreement of the top moment with FAISS's. RSS of this
process (one Searcher, models loaded) is printed per store; Milvus Lite runs in a server process of its own,
whose RSS is printed beside. `uptime`'s 1-minute load is printed with each measurement.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from scale_search import load, pct  # noqa: E402 - the bench helpers' one home (needs HERE on sys.path)


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def lite_server_rss() -> float:
    """RSS of the Milvus Lite server processes this process started (children named milvus*)."""
    out = subprocess.run(["ps", "-o", "pid=,rss=,comm=", "--ppid", str(os.getpid())], capture_output=True, text=True)
    return sum(int(r.split()[1]) for r in out.stdout.splitlines() if "milvus" in r) / 1024


def exact_top(vecs: np.ndarray, ids: np.ndarray, q: np.ndarray, k: int = 10) -> set[int]:
    scores = vecs @ q
    top = np.argpartition(-scores, k)[:k]
    return {int(ids[i]) for i in top}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", required=True)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--milvus", default=None, help="Milvus Lite file (default: INDEX/milvus-bench.db)")
    args = ap.parse_args()

    from make_catalog import bench_queries

    from lecturefind.index.catalog import Catalog
    from lecturefind.index.milvus import MilvusStore
    from lecturefind.index.store import StoreSpec
    from lecturefind.ml_models import MLModels
    from lecturefind.rank.searcher import Searcher

    models = MLModels()
    qs = bench_queries(args.queries)[: args.queries]
    db = args.milvus or os.path.join(args.index, "milvus-bench.db")
    spec = f"milvus:{db}"
    cat = Catalog(args.index)
    n = cat.segment_count()
    print(f"index {args.index}: {n} segments, {len(qs)} queries")
    ids, vecs = cat.all_embeddings("embedding")
    qv = np.stack([models.embedder.query(q) for q in qs])
    truth = [exact_top(vecs, ids, v) for v in qv]
    del vecs

    store = MilvusStore(StoreSpec.parse(spec, args.index), cat, "embedding", text=True, index_dir=args.index)
    if not store.spec.uri or not os.path.exists(db):
        t0 = time.perf_counter()
        e5 = store.rebuild(cat)
        en = MilvusStore(store.spec, cat, "embedding_en", index_dir=args.index).rebuild(cat)
        print(f"milvus lite build (reindex): {e5} e5 + {en} English vectors in {time.perf_counter() - t0:.0f} s "
              f"(load {load()})")
    cat.close()

    tops: dict[str, list] = {}
    for name, which in (("faiss (exact fp16 up to ANN_ABOVE, IVF above)", "faiss"), ("milvus lite (HNSW M16)", spec)):
        s = Searcher(args.index, models=models, store=which)
        t0 = time.perf_counter()
        s.search_text("warm up the store", k=10)
        warm = time.perf_counter() - t0
        for q in qs[:10]:
            s.search_text(q, k=10)
        total, vec, bm, hits = [], [], [], []
        tops[name] = []
        for q, v, want in zip(qs, qv, truth):
            t0 = time.perf_counter()
            res = s.search_text(q, k=10)
            total.append(time.perf_counter() - t0)
            tops[name].append((res[0].lecture_id, res[0].start_s, res[0].page) if res else None)
            t0 = time.perf_counter()
            _, got = s.vectors.search(v, 10)
            vec.append(time.perf_counter() - t0)
            hits.append(len(want & {int(i) for i in got}) / 10)
            if isinstance(s.vectors, MilvusStore):
                terms = [t for g in s.lexical.terms(q) for t in g]
                t0 = time.perf_counter()
                s.vectors.search_text(terms, 200)
                bm.append(time.perf_counter() - t0)
        extra = f", lite server RSS {lite_server_rss():.0f} MB" if which != "faiss" else ""
        print(f"{name}: search_text p50 {pct(total, 50):.1f} / p99 {pct(total, 99):.1f} ms; e5 search p50 "
              f"{pct(vec, 50):.1f} / p99 {pct(vec, 99):.1f} ms, recall@10 {np.mean(hits):.3f}"
              + (f"; BM25 p50 {pct(bm, 50):.1f} / p99 {pct(bm, 99):.1f} ms" if bm else "")
              + f"; first query {warm:.1f} s; RSS {rss_mb():.0f} MB{extra} (load {load()})")
        s.close()
    a, b = tops.values()
    print(f"top moment same as FAISS: {sum(x == y for x, y in zip(a, b))}/{len(a)}")


if __name__ == "__main__":
    main()
