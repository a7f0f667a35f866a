"""Jump precision on the devset: how far each spoken query's first hit starts from the sentence that says it.

    python3 scripts/bench/jump.py /tmp/lf-devset RESULTS.jsonl

For each `spoken` query the target is the spoken-only sentence (not on the slide) of its target page that shares
the most words with the question (manifest.json holds the sentence times). Prints the median and the share
within 2 s and 5 s of the first result in the right file, and the same against the slide start for reference.
"""
from __future__ import annotations

import json
import os
import re
import statistics
import sys


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[^\W_]+", text.lower()) if len(w) > 3}


def main(devset: str, results_path: str) -> None:
    with open(os.path.join(devset, "manifest.json")) as f:
        manifest = json.load(f)
    videos = {os.path.basename(v["file"]): v for v in manifest["videos"]}
    with open(os.path.join(devset, "queries.jsonl")) as f:
        queries = {q["qid"]: q for q in map(json.loads, f) if q["kind"] == "spoken"}
    with open(results_path) as f:
        results = {r["qid"]: r["results"] for r in map(json.loads, f)}
    to_sentence, to_slide = [], []
    for qid, q in sorted(queries.items()):
        ans = q["answers"][0]
        video = videos[os.path.basename(ans["file"])]
        seg = next((s for s in video["segments"] if abs(s["start_s"] - ans["start_s"]) < 0.01), None)
        if seg is None or not seg.get("spoken_sentences"):     # the real-speech clip has no sentence times
            print(f"{qid}: no sentence times")
            continue
        cands = [s for s in seg["spoken_sentences"] if not s["on_slide"]] or seg["spoken_sentences"]
        target = max(cands, key=lambda s: len(words(s["text"]) & words(q["text"])))
        hit = next((r for r in results.get(qid, []) if os.path.basename(r.get("file") or "") ==
                    os.path.basename(ans["file"]) and r.get("start_s") is not None), None)
        if hit is None:
            print(f"{qid}: no result in {os.path.basename(ans['file'])}")
            continue
        d_sent, d_slide = hit["start_s"] - target["start_s"], hit["start_s"] - seg["start_s"]
        to_sentence.append(abs(d_sent))
        to_slide.append(abs(d_slide))
        print(f"{qid}: jump {hit['start_s']:7.2f}  sentence {target['start_s']:7.2f} ({d_sent:+6.1f} s)  "
              f"slide {seg['start_s']:7.2f} ({d_slide:+6.1f} s)")
    n = len(to_sentence)
    print(f"spoken queries: {n}; |jump - sentence| median {statistics.median(to_sentence):.1f} s, "
          f"≤2 s {sum(d <= 2 for d in to_sentence)}/{n}, ≤5 s {sum(d <= 5 for d in to_sentence)}/{n}; "
          f"|jump - slide start| median {statistics.median(to_slide):.1f} s")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
