"""OCR of a video's keyframes with and without `SeenLines` (the lines a build step kept are not recognised again).

    .venv/bin/python scripts/bench/ocr_reuse.py VIDEO [--slides N]

Decodes VIDEO once as ingest does (`sample_frames`, `SlideChangeDetector`), keeps each distinct slide's keyframe,
then reads them all twice with the same `SlideReader`: every line recognised, and with `SeenLines`. Prints both
times, how many lines were reused and recognised, and on how many slides the two texts are identical (they can
differ where the recogniser reads one line differently on different slides).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import deque

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("--slides", type=int, default=0, help="only the first N slides (0: all)")
    args = ap.parse_args()

    import cv2

    from lecturefind.media import ffmpeg
    from lecturefind.media.probe import probe
    from lecturefind.segment.slides import SlideChangeDetector
    from lecturefind.signals.ocr import SeenLines, SlideReader

    p = probe(args.video)
    w, h = ffmpeg.frame_size(p.width, p.height, 1280)
    det = SlideChangeDetector()
    recent: deque = deque(maxlen=8)
    keyframes: dict[int, object] = {}

    def keep(slides) -> None:
        for sl in slides:
            if sl.same_as is None and sl.index not in keyframes:
                keyframes[sl.index] = next((f.copy() for t, f in recent if abs(t - sl.keyframe_t) < 1e-3), None)

    for t, frame in ffmpeg.sample_frames(args.video, 2.0, w, h, colour=True, keep=8):
        recent.append((t, frame))
        small = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (160, 90), interpolation=cv2.INTER_AREA)
        if det.process_frame(t, small) is not None:
            keep(det.slides_so_far)
    keep(det.slides(p.duration))
    order = [i for i in sorted(keyframes) if keyframes[i] is not None]
    if args.slides:
        order = order[:args.slides]
    reader = SlideReader()
    reader.read_slide(keyframes[order[0]])            # warm-up
    t0 = time.perf_counter()
    plain = [reader.read_slide(keyframes[i]) for i in order]
    t_plain = time.perf_counter() - t0
    seen = SeenLines()
    t0 = time.perf_counter()
    reused = [reader.read_slide(keyframes[i], seen=seen) for i in order]
    t_seen = time.perf_counter() - t0
    same = sum(a == b for a, b in zip(plain, reused))
    print(f"{os.path.basename(args.video)}: {len(order)} distinct slides; load {os.getloadavg()[0]:.2f}")
    print(f"every line recognised: {t_plain:.1f} s;  with SeenLines: {t_seen:.1f} s "
          f"({seen.reused} lines reused, {seen.read} recognised); identical text on {same} of {len(order)} slides")


if __name__ == "__main__":
    main()
