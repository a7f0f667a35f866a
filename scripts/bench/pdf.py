"""PDF ingest speed and hostile-page bounds (prints them).

    .venv/bin/python scripts/bench/pdf.py [--pages 400,2000] [--slides 400] [--hostile] [--extract-only]
        [--words-only] [--keep DIR]

Builds, in a temporary directory, textbook-sized PDFs with a text layer (dense A4 pages of real text, every 10th
page with a vector figure: `testing/pdfs.py`), optionally a slide-deck PDF (the pages of /tmp/pdf100.pdf or the
sample course's handout, repeated), and the hostile one-page-bad PDFs (a 200 000 pt MediaBox, a content stream
that inflates to 300 MB, a 40 000 x 40 000 px image, a 200 000 x 1 pt page). Each is ingested into a fresh index by
a child process with the real models; printed per file: pages, pages/s over the ingest (model loading excluded),
CPU seconds (all threads: comparable when the machine is busy), seconds per stage, the child's peak RSS (and its
RSS with the models loaded, before the ingest), and every warning/error line the ingest printed. With
--extract-only the child runs only the PDF extraction (text layer, renders, keyframes, descriptors, OCR where
needed), not the embedding and the catalog.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: getrusage's ru_maxrss would carry a parent's peak over the exec)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _child_extract(path: str, keyframes: str) -> None:
    """Only the PDF extraction (text, renders, keyframes, descriptors, OCR where needed; no embedding, no
    catalog); print one JSON line."""
    from lecturefind.config import IngestConfig
    from lecturefind.errors import MediaError
    from lecturefind.ingest.extract import Extractor
    from lecturefind.ml_models import MLModels

    models = MLModels()
    rss_models = _peak_rss_mb()
    t0, c0 = time.perf_counter(), _cpu()
    try:
        ex = Extractor(models, IngestConfig.from_env(), keyframes).extract(path, "pdf", "0" * 16)
        lines = [f"warning: {path}: {ex.transcript.note}"] if ex.transcript and ex.transcript.note else []
        pages, visual = len(ex.slides), sum(s.visual is not None for s in ex.slides)
    except MediaError as e:
        lines, pages, visual = [f"error: {e}"], 0, 0
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    print(json.dumps({"wall": wall, "cpu": cpu, "pages": pages, "visual": visual, "stages": {"extract": wall},
                      "lines": lines,
                      "rss_models_mb": rss_models, "ingested": 1,
                      "rss_peak_mb": _peak_rss_mb()}))


def _child(path: str, index_dir: str, words_only: bool = False) -> None:
    """Ingest one PDF; print one JSON line with what happened. `words_only`: stop once the PDF is committed by
    its words (a large PDF's vectors, owed, are not made: the time until it is searchable)."""
    from lecturefind.index.catalog import Catalog
    from lecturefind.ingest.pipeline import Ingestor
    from lecturefind.ml_models import MLModels

    if words_only:
        Ingestor._pay_owed = lambda self, rep: None      # type: ignore[method-assign]

    models = MLModels()
    _ = models.ocr
    models.embedder.passages(["warm-up"])          # model sessions start on first use: not the PDF's time
    models.english.passages(["warm-up"])
    rss_models = _peak_rss_mb()
    lines: list[str] = []
    ing = Ingestor(index_dir, models=models, log=lines.append)
    t0, c0 = time.perf_counter(), _cpu()
    rep = ing.ingest([path], course="bench")
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    ing.close()
    cat = Catalog(index_dir)
    pages = cat.q("SELECT COUNT(*) AS n FROM slides s JOIN lectures l ON l.id = s.lecture_id")[0]["n"]
    visual = cat.q("SELECT COUNT(*) AS n FROM visual")[0]["n"]
    if words_only:
        lines.append(f"stopped once searchable by its words: {cat.owed_count()} pages still owe their vectors")
    cat.close()
    print(json.dumps({"wall": wall, "cpu": cpu, "pages": pages, "visual": visual, "stages": rep.stage_seconds,
                      "lines": lines, "rss_models_mb": rss_models, "ingested": rep.ingested,
                      "rss_peak_mb": _peak_rss_mb()}))


def run_one(path: str, timeout: float, extract_only: bool = False, words_only: bool = False) -> dict:
    index_dir = tempfile.mkdtemp(prefix="lf-bench-pdf-idx-")
    try:
        mode = "--child-extract" if extract_only else "--child-words" if words_only else "--child"
        proc = subprocess.Popen([sys.executable, __file__, mode, path, index_dir], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        t0 = time.perf_counter()
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            return {"timeout": timeout, "wall": time.perf_counter() - t0}
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"failed": proc.returncode, "stderr": err[-600:]}
    finally:
        shutil.rmtree(index_dir, ignore_errors=True)


def show(name: str, path: str, res: dict, n_pages: int) -> None:
    if "timeout" in res:
        print(f"{name:<22} {n_pages:>5} pages  did not finish in {res['timeout']:.0f} s")
        return
    if "failed" in res:
        print(f"{name:<22} child failed (rc {res['failed']}): {res['stderr']}")
        return
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(res["stages"].items()))
    st = res["stages"]
    if st.get("later"):      # a large PDF: committed by its words first, its vectors after (`pdf_later_above`)
        stages += f"; found by its words after {res['wall'] - st['later'] - st.get('links', 0.0):.1f} s"
    print(f"{name:<22} {n_pages:>5} pages  {res['wall']:7.1f} s  {res['pages'] / max(res['wall'], 1e-9):7.1f} pages/s"
          f"  CPU {res['cpu']:.1f} s ({res['cpu'] / max(res['pages'], 1):.3f} s/page)"
          f"  indexed {res['pages']} pages ({res['visual']} with descriptors)  peak RSS {res['rss_peak_mb']:.0f} MB"
          f" (models loaded: {res['rss_models_mb']:.0f} MB)  [{stages}]  {os.path.getsize(path) / 1e6:.1f} MB file")
    for line in res["lines"]:
        print(f"{'':<24}| {line}")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] in ("--child", "--child-words", "--child-extract"):
        if sys.argv[1] == "--child-extract":
            _child_extract(sys.argv[2], sys.argv[3])
        else:
            _child(sys.argv[2], sys.argv[3], words_only=sys.argv[1] == "--child-words")
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", default="400,2000", help="textbook page counts, comma-separated ('' for none)")
    ap.add_argument("--slides", type=int, default=0, help="also a slide-deck PDF of this many pages")
    ap.add_argument("--slides-from", default=None, help="its pages (default /tmp/pdf100.pdf, else the handout)")
    ap.add_argument("--hostile", action="store_true", help="also the hostile-page PDFs")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per file")
    ap.add_argument("--keep", default=None, help="write the PDFs here and keep them")
    ap.add_argument("--extract-only", action="store_true",
                    help="time only the PDF extraction (no embedding, no catalog): the PDF code's own speed")
    ap.add_argument("--words-only", action="store_true",
                    help="stop each ingest once the PDF is searchable by its words (a large PDF's vectors follow)")
    args = ap.parse_args()

    from testing.pdfs import hostile_pdf, slides_pdf, textbook_pdf

    work = args.keep or tempfile.mkdtemp(prefix="lf-bench-pdf-")
    os.makedirs(work, exist_ok=True)
    print(f"cpus: {os.cpu_count()}  load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    try:
        cases = []
        for n in [int(v) for v in args.pages.split(",") if v.strip()]:
            p = os.path.join(work, f"textbook_{n}.pdf")
            if not os.path.exists(p):
                textbook_pdf(p, n)
            cases.append((f"textbook {n}", p, n))
        if args.slides:
            src = args.slides_from or ("/tmp/pdf100.pdf" if os.path.exists("/tmp/pdf100.pdf") else os.path.join(
                ROOT, "examples", "sample-course", "handout_eigenvalues_and_arbitration.pdf"))
            p = os.path.join(work, f"slides_{args.slides}.pdf")
            if not os.path.exists(p):
                slides_pdf(p, args.slides, [src])
            cases.append((f"slides {args.slides}", p, args.slides))
        if args.hostile:
            for kind in ("mediabox", "stream", "image", "flat"):
                p = os.path.join(work, f"hostile_{kind}.pdf")
                if not os.path.exists(p):
                    hostile_pdf(p, kind)
                cases.append((f"hostile {kind}", p, 5))
        for name, path, n in cases:
            show(name + (" (extract)" if args.extract_only else " (words)" if args.words_only else ""), path,
                 run_one(path, args.timeout, args.extract_only, args.words_only), n)
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
