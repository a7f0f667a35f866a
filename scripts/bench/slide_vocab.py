"""The lecture's own slide terms in the speech decoder: WER and term recall with and without (prints them).

    .venv/bin/python scripts/bench/slide_vocab.py [--devset /tmp/lf-devset]

Each English narrated video (the sample course's two lectures; the devset's when built) goes through the real
Extractor twice: slides OCR'd, then speech decoded with the terms of those slides as its prompt (default) or
without them (--no-slide-vocab). WER is word edit distance against the narration text; term recall counts the
narration's occurrences of prompt terms that the transcript reproduces.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from asr import ROOT, english_sources, wer, words  # noqa: E402

sys.path.insert(0, ROOT)


def term_recall(terms: list[str], ref: str, hyp: str) -> tuple[int, int]:
    """(occurrences of single-word prompt terms in the narration that the transcript also has, occurrences)."""
    wanted = {w for t in terms for w in words(t)}
    r, h = Counter(w for w in words(ref) if w in wanted), Counter(words(hyp))
    return sum(min(n, h[w]) for w, n in r.items()), sum(r.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devset", default="/tmp/lf-devset")
    a = ap.parse_args()

    from lecturefind.config import IngestConfig
    from lecturefind.ingest.extract import Extractor
    from lecturefind.ml_models import MLModels

    models = MLModels()
    _ = models.asr, models.ocr
    models.asr._model("tiny.en")
    rows = []
    tmp = tempfile.mkdtemp(prefix="lf-bench-vocab-")
    for name, path, ref, _pdf in english_sources(a.devset):
        for on in (False, True):
            cfg = IngestConfig(slide_vocab=on)
            ex = Extractor(models, cfg, os.path.join(tmp, "kf"))
            t0 = time.perf_counter()
            out = ex.extract(path, "video", name)
            dt = time.perf_counter() - t0
            hyp = " ".join(s.text for s in out.sentences)
            terms = [t.strip() for t in out.prompt.rstrip(".").split(",") if t.strip()]
            rows.append((name, on, wer(ref, hyp), terms, dt, out.duration, hyp, ref))
    print(f"cpus: {os.cpu_count()}")
    print(f"{'lecture':42s} {'slide terms':>11s} {'WER off':>8s} {'WER on':>7s} {'terms off':>10s} {'terms on':>9s}")
    tot = {False: [0, 0], True: [0, 0]}
    for i in range(0, len(rows), 2):
        off, on = rows[i], rows[i + 1]
        prompt_terms = on[3]
        r_off = term_recall(prompt_terms, off[7], off[6])
        r_on = term_recall(prompt_terms, on[7], on[6])
        for k, r in ((False, r_off), (True, r_on)):
            tot[k][0] += r[0]
            tot[k][1] += r[1]
        print(f"{on[0]:42s} {len(on[3]):11d} {off[2]:8.3f} {on[2]:7.3f} "
              f"{r_off[0]:>4d}/{r_off[1]:<5d} {r_on[0]:>4d}/{r_on[1]:<4d}")
    n = len(rows) // 2
    print(f"mean WER: off {sum(r[2] for r in rows if not r[1]) / n:.3f}  on {sum(r[2] for r in rows if r[1]) / n:.3f}"
          f"  ({n} lectures)")
    print(f"term recall: off {tot[False][0]}/{tot[False][1]}  on {tot[True][0]}/{tot[True][1]}")
    print(f"extract wall (frames+OCR+ASR, sequential here): off {sum(r[4] for r in rows if not r[1]):.1f} s, "
          f"on {sum(r[4] for r in rows if r[1]):.1f} s for {sum(r[5] for r in rows if r[1]):.0f} s of media")


if __name__ == "__main__":
    main()
