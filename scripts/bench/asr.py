"""Speech recognition: WER and real-time factor of Whisper tiny.en and base, and language detection (prints them).

    .venv/bin/python scripts/bench/asr.py [--devset /tmp/lf-devset] [--langs es de fr pt]

English: the sample course's two narrated lectures (narration text from ground_truth.json) and, when built, the
devset videos (manifest sentences). Other languages: espeak-ng lectures from scripts/make_speech.py. WER is word
edit distance over lower-cased words without punctuation, against the narration text.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower().replace("’", "'"))


def wer(ref: str, hyp: str) -> float:
    r, h = words(ref), words(hyp)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1] / max(1, len(r))


def english_sources(devset: str) -> list[tuple[str, str, str, list[str]]]:
    """(name, media path, narration text, the PDF texts of its course)."""
    from lecturefind.media.pdf import read_pdf

    out = []
    handout = [p.text for p in read_pdf(os.path.join(ROOT, "examples", "sample-course",
                                                     "handout_eigenvalues_and_arbitration.pdf"))]
    with open(os.path.join(ROOT, "examples", "sample-course", "ground_truth.json")) as f:
        gt = json.load(f)
    for v in gt["videos"]:
        text = " ".join(s["spoken_text"] for s in v["slides"] if s.get("spoken_text"))
        out.append((v["file"], os.path.join(ROOT, "examples", "sample-course", v["file"]), text, handout))
    manifest = os.path.join(devset, "manifest.json")
    if os.path.exists(manifest):
        with open(manifest) as f:
            m = json.load(f)
        decks = {}         # the deck each lecture shows, as its course's slide PDF
        for v in m["videos"]:
            pdf = os.path.join(devset, "src", f"{v.get('deck')}.pdf")
            if v.get("deck") and os.path.exists(pdf):
                decks[v["deck"]] = [p.text for p in read_pdf(pdf)]
        for v in m["videos"]:
            sents = [s["text"] for seg in v.get("segments", []) for s in seg.get("spoken_sentences", [])]
            if sents:
                out.append((os.path.basename(v["file"]), os.path.join(devset, v["file"]), " ".join(sents),
                            decks.get(v.get("deck"), [])))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devset", default="/tmp/lf-devset")
    ap.add_argument("--langs", nargs="+", default=["es", "de", "fr", "pt"])
    a = ap.parse_args()

    import make_speech

    from lecturefind.media.ffmpeg import decode_audio
    from lecturefind.signals.asr import SpeechRecognizer

    asr = SpeechRecognizer()
    asr._model("base")
    asr._model("tiny.en")          # loads are not timed
    rows = []
    from lecturefind.signals.vocabulary import course_terms, decoder_prompt

    for name, path, text, pdf_texts in english_sources(a.devset):
        audio = decode_audio(path)
        secs = len(audio) / 16000
        t0 = time.perf_counter()
        lang, prob = asr.detect_language(audio)
        t_detect = time.perf_counter() - t0
        prompt = decoder_prompt(course_terms(pdf_texts))
        runs = [("tiny.en", None), ("base", None)] + ([("tiny.en", prompt), ("base", prompt)] if prompt else [])
        for model, p in runs:
            t0 = time.perf_counter()
            hyp = " ".join(s.text for s in asr._decode(audio, model, "en", p))
            dt = time.perf_counter() - t0
            label = model + ("+vocab" if p else "")
            rows.append((name, "en", f"{lang} {prob:.2f}", label, wer(text, hyp), secs / dt, t_detect))
    tmp = tempfile.mkdtemp(prefix="lf-speech-")
    for lang, wav in make_speech.make(tmp, a.langs).items():
        audio = decode_audio(wav)
        secs = len(audio) / 16000
        t0 = time.perf_counter()
        tr = asr.transcribe_lecture(audio)
        dt = time.perf_counter() - t0
        hyp = " ".join(s.text for s in tr.sentences)
        rows.append((os.path.basename(wav), lang, f"{tr.language} {tr.probability:.2f}", tr.model,
                     wer(make_speech.LECTURES[lang], hyp), secs / dt, 0.0))
    print(f"cpus: {os.cpu_count()}  (real-time factor = audio seconds / decode seconds; detection timed apart)")
    print(f"{'lecture':42s} {'lang':4s} {'detected':9s} {'model':13s} {'WER':>6s} {'RTF':>6s} {'detect s':>8s}")
    for name, lang, det, model, w, rtf, td in rows:
        print(f"{name:42s} {lang:4s} {det:9s} {model:13s} {w:6.3f} {rtf:5.1f}x {td:8.2f}")
    for model in ("tiny.en", "base"):
        en = [r for r in rows if r[1] == "en" and r[3] == model]
        if en:
            print(f"English mean WER {model}: {sum(r[4] for r in en) / len(en):.3f}, mean RTF "
                  f"{sum(r[5] for r in en) / len(en):.1f}x over {len(en)} lectures")
        with_v = {r[0]: r[4] for r in rows if r[3] == model + "+vocab"}
        without = {r[0]: r[4] for r in rows if r[3] == model and r[0] in with_v}
        if with_v:
            print(f"  with the course vocabulary, same {len(with_v)} lectures: WER "
                  f"{sum(without.values()) / len(without):.3f} -> {sum(with_v.values()) / len(with_v):.3f}")


if __name__ == "__main__":
    main()
