"""Ingest speed: real-time factor and seconds per stage (prints them).

    .venv/bin/python scripts/bench/ingest.py [PATHS ...] [--index DIR] [--window S] [--overlap S]

Without PATHS the bundled sample course is ingested. The index goes to a fresh temporary directory (removed
afterwards) unless --index is given, so every run measures a full ingest, not a no-op.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", default=[os.path.join(ROOT, "examples", "sample-course")])
    ap.add_argument("--index", default=None, help="index directory (default: a fresh temporary one)")
    ap.add_argument("--window", type=float, default=None)
    ap.add_argument("--overlap", type=float, default=None)
    args = ap.parse_args()

    from lecturefind.config import IngestConfig
    from lecturefind.ingest.pipeline import Ingestor
    from lecturefind.ml_models import MLModels

    cfg = IngestConfig.from_env()
    if args.window:
        cfg.window_s = args.window
    if args.overlap is not None:
        cfg.overlap_s = args.overlap
    tmp = None
    index_dir = args.index or (tmp := tempfile.mkdtemp(prefix="lf-bench-ingest-"))
    try:
        t0 = time.perf_counter()
        models = MLModels()
        _ = models.asr, models.ocr, models.embedder, models.english
        load_s = time.perf_counter() - t0
        ing = Ingestor(index_dir, cfg, models=models, log=lambda line: print(line, file=sys.stderr))
        t1 = time.perf_counter()
        rep = ing.ingest(args.paths)
        ing.close()
        wall = time.perf_counter() - t1
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"cpus: {os.cpu_count()}  files: {rep.files}  ingested: {rep.ingested}  failed: {len(rep.errors)}  "
          f"segments: {rep.segments}")
    print(f"media: {rep.media_seconds:.1f} s   ingest wall: {wall:.1f} s   (model load before it: {load_s:.1f} s)")
    print(f"real-time factor: {rep.realtime_factor:.2f}x  (media seconds per wall second; PDFs add time, no media)")
    total = sum(rep.stage_seconds.values())
    print("seconds per stage:")
    for stage, sec in sorted(rep.stage_seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:<8} {sec:7.2f} s  {100 * sec / wall if wall else 0:5.1f}% of wall")
    print(f"  {'(other)':<8} {wall - total:7.2f} s  (probe, hashing, SQLite commit, FAISS sync, PDF text)")


if __name__ == "__main__":
    main()
