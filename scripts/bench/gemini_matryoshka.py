"""Gemini backend numbers (prints them).

1. Two-stage Matryoshka search (prefix shortlist -> full-vector re-rank) vs exact search: recall@10 and
   per-query latency at N random-but-structured 3072-d vectors (clustered; per-dimension variance decays
   like a Matryoshka embedding, so the first dims carry the most signal).
2. Requests per minute of lecture, bytes sent per clip / per PDF page, and re-ingest requests for the sample
   course, ingested with `--backend gemini` semantics against the local fake server
   (testing/gemini_fake.py, the same fake the tests use).

    .venv/bin/python scripts/bench/gemini_matryoshka.py [--n 100000] [--queries 200] [--skip-ingest]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def structured(n: int, d: int, clusters: int, rng) -> np.ndarray:
    scale = (1.0 / np.sqrt(1.0 + np.arange(d) / 256.0)).astype(np.float32)
    centers = rng.standard_normal((clusters, d), dtype=np.float32) * scale
    out = np.empty((n, d), np.float32)
    labels = rng.integers(0, clusters, n)
    for s in range(0, n, 10000):
        e = min(n, s + 10000)
        out[s:e] = centers[labels[s:e]] + 0.6 * rng.standard_normal((e - s, d), dtype=np.float32) * scale
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out, centers, scale


def bench_search(n: int, nq: int, d: int = 3072, clusters: int = 0) -> None:
    import faiss

    from lecturefind.gemini.store import TwoStage

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(7)
    t0 = time.perf_counter()
    vecs, centers, scale = structured(n, d, clusters=clusters or max(10, n // 100), rng=rng)
    # queries are fresh members of random clusters: their true top-10 are near-ties among ~100 members
    queries = centers[rng.integers(0, len(centers), nq)] + 0.6 * rng.standard_normal((nq, d), dtype=np.float32) * scale
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    ids = np.arange(n, dtype=np.int64) + 1
    print(f"data: {len(centers)} clusters, {n} x {d} float32 ({vecs.nbytes / 1e9:.2f} GB), {nq} queries, built in "
          f"{time.perf_counter() - t0:.1f}s; 1 thread")
    exact = faiss.IndexFlatIP(d)
    exact.add(vecs)
    truth, lat = [], []
    for q in queries:
        t = time.perf_counter()
        _, i = exact.search(q.reshape(1, -1), 10)
        lat.append(time.perf_counter() - t)
        truth.append(set(ids[i[0]].tolist()))
    print(f"{'method':<34} {'recall@10':>9} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'exact (FAISS flat IP, 3072-d)':<34} {1.0:>9.3f} {np.median(lat) * 1e3:>8.2f} "
          f"{np.percentile(lat, 95) * 1e3:>8.2f}")
    del exact
    for prefix in (256, 768):
        ts = TwoStage(ids, vecs, prefix=prefix)
        for shortlist in (100, 200, 500, 1000):
            rec, lat = [], []
            for q, tr in zip(queries, truth):
                t = time.perf_counter()
                _, got = ts.search(q, 10, shortlist)
                lat.append(time.perf_counter() - t)
                rec.append(len(tr & set(got.tolist())) / 10)
            print(f"{f'two-stage {prefix} -> 3072, shortlist {shortlist}':<34} {np.mean(rec):>9.3f} "
                  f"{np.median(lat) * 1e3:>8.2f} {np.percentile(lat, 95) * 1e3:>8.2f}")
        del ts


def bench_ingest() -> None:
    from lecturefind.gemini.config import GeminiConfig
    from lecturefind.gemini.indexer import GeminiIndexer
    from lecturefind.ingest.pipeline import Ingestor
    from testing.gemini_fake import FakeGemini, b64decode_any

    sample = os.path.join(ROOT, "examples", "sample-course")
    fake = FakeGemini().start()
    os.environ["GOOGLE_GEMINI_BASE_URL"] = fake.url
    os.environ["GEMINI_API_KEY"] = "AIzaBENCH-fake-key-000000000000000000000"
    try:
        with tempfile.TemporaryDirectory() as idx:
            def run():
                ing = Ingestor(idx, log=lambda line: print(line, file=sys.stderr))
                ing.gemini = GeminiIndexer(idx, GeminiConfig.from_env(), log=lambda line: print(line, file=sys.stderr))
                t = time.perf_counter()
                rep = ing.ingest([sample], course="Engineering Foundations")
                ing.gemini.close()
                ing.close()
                return rep, time.perf_counter() - t

            rep, secs = run()
            calls = fake.embed_calls()
            clip_bytes, page_bytes = [], []
            for c in calls:
                for r in c.json["requests"]:
                    for p in r["content"]["parts"]:
                        if "inline_data" in p:
                            n = len(b64decode_any(p["inline_data"]["data"]))
                            (clip_bytes if p["inline_data"]["mime_type"].startswith(("video", "audio"))
                             else page_bytes).append(n)
            import sqlite3

            conn = sqlite3.connect(os.path.join(idx, "catalog.sqlite"))
            minutes = conn.execute("SELECT SUM(duration) FROM lectures WHERE kind != 'pdf'").fetchone()[0] / 60
            clips = conn.execute("SELECT COUNT(*), AVG(end_s - start_s) FROM segments s JOIN lectures l "
                                 "ON l.id = s.lecture_id WHERE l.kind != 'pdf'").fetchone()
            pages = conn.execute("SELECT COUNT(*) FROM segments WHERE page IS NOT NULL").fetchone()[0]
            video_calls = sum(1 for c in calls if "video/mp4" in c.body.decode())
            print(f"sample course: {minutes:.1f} min of lecture video, {clips[0]} clips (mean {clips[1]:.1f}s), "
                  f"{pages} PDF pages; ingest {secs:.0f}s wall (offline signals + transcoding)")
            print(f"requests: {len(calls)} total = {video_calls} clip requests + {len(calls) - video_calls} page "
                  f"requests; {video_calls / minutes:.2f} requests per minute of lecture "
                  f"({len(calls) / minutes:.2f} incl. the PDF)")
            print(f"bytes per clip (mp4 <=360p, 2 fps, mono AAC 32 kb/s): mean {np.mean(clip_bytes) / 1e3:.0f} kB, "
                  f"max {max(clip_bytes) / 1e3:.0f} kB, {np.sum(clip_bytes) / 1e6 / minutes:.2f} MB per minute; "
                  f"per PDF page: mean {np.mean(page_bytes) / 1e3:.0f} kB")
            fake.requests.clear()
            rep2, secs2 = run()
            print(f"re-ingest: {len(fake.requests)} requests ({rep2.unchanged} files unchanged, {secs2:.1f}s)")
            os.utime(os.path.join(sample, "lecture01_eigenvalues.mp4"))   # mtime changes, content does not
            fake.requests.clear()
            rep3, _ = run()
            print(f"re-ingest after touching a file: {len(fake.requests)} requests")
    finally:
        fake.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--clusters", type=int, default=0, help="default n/100 (~100 per cluster)")
    ap.add_argument("--skip-ingest", action="store_true")
    ap.add_argument("--skip-search", action="store_true")
    a = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not a.skip_search:
        bench_search(a.n, a.queries, clusters=a.clusters)
    if not a.skip_ingest:
        bench_ingest()


if __name__ == "__main__":
    main()
