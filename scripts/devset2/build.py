#!/usr/bin/env python3
"""Build LectureFind development collection #2 (see README.md in this folder).

Same layout and formats as /work/shared/devset (videos/*.mp4, manifest.json,
queries.jsonl, queries_input.jsonl), so /work/shared/devset/score.py scores it;
queries.jsonl's ``kind`` is the *condition* (newdeck, lookalike, builds,
paraphrase, xling, native, negative), so score.py prints one row per condition.

    python3 scripts/devset2/build.py --fetch-debs [--out /tmp/lf-dev2]

Sources: Debian packages packaging-tutorial (en/de/fr/es/pt decks) and
texlive-font-utils (EuroTeX'99 font tutorial), fetched with apt-get download
into OUT/debs.  Idempotent: videos carry a stamp and are reused.
"""
from __future__ import annotations

import argparse
import html
import json
import random
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE))
sys.path.insert(0, "/work/shared/devset")
import build_devset as B  # noqa: E402  (read-only reuse of the first devset's helpers)
import spec2 as spec  # noqa: E402
from PIL import Image  # noqa: E402
from textcheck import norm, shared_content_words  # noqa: E402

BUILD_VERSION = "2.1"
FPS = B.FPS
SR = B.SR
GAP = B.SENTENCE_GAP
log = B.log


# --------------------------------------------------------------------------- sources
def fetch_sources(out: Path, fetch: bool) -> dict:
    debs = out / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    res = {}
    for key, s in spec.SOURCES.items():
        xdir = debs / "x" / s["package"]
        pdf = xdir / s["path"]
        if not pdf.exists():
            inst = Path("/") / s["path"]
            if inst.exists():
                pdf = inst
            else:
                have = sorted(debs.glob(f"{s['package']}_*.deb"))
                if not have:
                    if not fetch:
                        sys.exit(f"{s['package']} not found: re-run with --fetch-debs")
                    log(f"  apt-get download {s['package']}={s['version']}")
                    r = subprocess.run(["apt-get", "download", f"{s['package']}={s['version']}"], cwd=debs,
                                       capture_output=True, text=True)
                    if r.returncode != 0:
                        log("  ! exact version not available; trying current version")
                        B.run(["apt-get", "download", s["package"]], cwd=debs)
                    have = sorted(debs.glob(f"{s['package']}_*.deb"))
                xdir.mkdir(parents=True, exist_ok=True)
                B.extract_member(have[-1], s["path"], xdir)
                if s.get("copyright"):
                    try:
                        B.extract_member(have[-1], s["copyright"], xdir)
                    except RuntimeError:
                        pass
        sha = B.sha256_file(pdf)
        if sha != s["sha256"]:
            sys.exit(f"{key}: sha256 {sha} != {s['sha256']} (other package version? page numbers may be wrong)")
        res[key] = pdf
    return res


# --------------------------------------------------------------------------- page layout (bbox)
_layout_cache = {}


def page_layout(pdf: Path, page: int, marker_re: str) -> dict:
    """title lines, bullet items (with y extent, in PDF points) and footer of one page"""
    k = (str(pdf), page)
    if k in _layout_cache:
        return _layout_cache[k]
    x = B.run(["pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page), str(pdf), "-"])
    pw, ph = (float(v) for v in re.search(r'<page width="([\d.]+)" height="([\d.]+)"', x).groups())
    lines = []
    for m in re.finditer(r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', x, re.S):
        words = [html.unescape(w) for w in re.findall(r"<word[^>]*>(.*?)</word>", m.group(5), re.S)]
        x0, y0, x1, y1 = (float(v) for v in m.groups()[:4])
        lines.append({"x0": x0, "y0": y0, "x1": x1, "y1": y1, "words": words})
    # a bullet marker that pdftotext puts on a line of its own joins the text line next to it
    mk = [l for l in lines if len(l["words"]) == 1 and re.fullmatch(marker_re, l["words"][0])]
    for m in mk:
        cy = (m["y0"] + m["y1"]) / 2
        near = [l for l in lines if l is not m and l not in mk and l["x0"] > m["x0"]
                and abs((l["y0"] + l["y1"]) / 2 - cy) < 3.5]
        if near:
            t = min(near, key=lambda l: l["x0"])
            t["words"] = m["words"] + t["words"]
            t["x0"], t["y0"], t["y1"] = m["x0"], min(t["y0"], m["y0"]), max(t["y1"], m["y1"])
            lines.remove(m)
    lines.sort(key=lambda l: (round(l["y0"]), l["x0"]))
    footer = [l for l in lines if l["y0"] > 0.9 * ph]
    body = [l for l in lines if l["y0"] <= 0.9 * ph]
    items, title = [], []
    for l in body:
        if l["words"] and re.fullmatch(marker_re, l["words"][0]):
            items.append({"y0": l["y0"], "y1": l["y1"], "x0": l["x0"], "marker": l["words"][0],
                          "words": l["words"][1:]})
        elif items and l["x0"] > items[-1]["x0"] + 1 and l["y0"] - items[-1]["y1"] < 6:
            items[-1]["words"] += l["words"]
            items[-1]["y1"] = max(items[-1]["y1"], l["y1"])
        elif not items:
            title.append(l)
        else:   # free text line between items: its own item
            items.append({"y0": l["y0"], "y1": l["y1"], "x0": l["x0"], "marker": "", "words": l["words"]})
    lay = {"w": pw, "h": ph, "title": " ".join(w for l in title for w in l["words"]),
           "title_y1": max([l["y1"] for l in title], default=0.0),
           "items": items, "footer_y0": min([l["y0"] for l in footer], default=ph),
           "footer": " ".join(w for l in footer for w in l["words"])}
    _layout_cache[k] = lay
    return lay


def speakable(words: list[str], fixes) -> str:
    ws = [w for w in words if not re.search(r"https?:|www\.|\.(org|net|com)/|^//", w)]
    s = " ".join(ws)
    s = re.sub(r"\s+", " ", s).strip(" :")
    for a, b in fixes:
        s = re.sub(a, b, s)
    s = s.replace("[...]", "").replace(". . .", "").strip()
    if s and s[-1] not in ".!?":
        s += "."
    return s[0].upper() + s[1:] if s else s


# --------------------------------------------------------------------------- slides of a lecture
def expand_slides(lec, src):
    """-> list of slide dicts: key, page, reveal (None = whole page, k = first k items), sentences"""
    deck = spec.SOURCES[lec["deck"]]
    pdf = src[lec["deck"]]
    fixes = deck.get("speech_fixes", [])
    slides = []
    for pg in lec["pages"]:
        lay = page_layout(pdf, pg, deck["marker_re"])
        title = speakable(lay["title"].split(), fixes)
        if lec.get("builds"):
            n = min(len(lay["items"]), lec.get("max_builds", 99))
            for k in range(1, n + 1):
                sents = ([title] if k == 1 else []) + [speakable(lay["items"][k - 1]["words"], fixes)]
                slides.append({"key": f"p{pg}b{k}", "page": pg, "build": k, "reveal": k,
                               "sentences": [s for s in sents if len(s.split()) >= 1]})
        else:
            sents = [title] if title else []
            budget = lec.get("max_chars", 300)
            for it in lay["items"]:
                s = speakable(it["words"], fixes)
                if len(s.split()) < 2:
                    continue
                if sum(len(x) for x in sents) + len(s) > budget:
                    break
                sents.append(s)
            slides.append({"key": f"p{pg}", "page": pg, "build": None, "reveal": None, "sentences": sents})
    return slides


def visible_text(pdf, slide, marker_re):
    if slide["reveal"] is None:
        return B.page_text(pdf, slide["page"])
    lay = page_layout(pdf, slide["page"], marker_re)
    parts = [lay["title"]] + [" ".join([it["marker"]] + it["words"]) for it in lay["items"][:slide["reveal"]]]
    return re.sub(r"\s+", " ", " ".join(parts + [lay["footer"]])).strip()


def slide_image(pdf, slide, lec, out: Path, marker_re) -> Image.Image:
    W, H = lec["width"], lec["height"]
    png = out / "work" / "pages" / f"{lec['deck']}_p{slide['page']:03d}_{W}x{H}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    im = B.render_page(pdf, slide["page"], png, W, H).convert("RGB")
    if slide["reveal"] is not None:
        lay = page_layout(pdf, slide["page"], marker_re)
        items = lay["items"]
        if slide["reveal"] < len(items):
            sc = im.width / lay["w"]
            y0 = int((items[slide["reveal"]]["y0"] - 1.0) * sc)
            y1 = int((lay["footer_y0"] - 1.0) * sc)
            bg = im.getpixel((im.width // 2, min(im.height - 1, y1 - 2)))
            im.paste(bg, (0, y0, im.width, y1))
    return im


# --------------------------------------------------------------------------- lecture build
def build_lecture(lec, src, out: Path, tools, force=False):
    deck = spec.SOURCES[lec["deck"]]
    pdf = src[lec["deck"]]
    slides = expand_slides(lec, src)
    wdir = out / "work" / lec["id"]
    wdir.mkdir(parents=True, exist_ok=True)
    mp4 = out / lec["file"]
    mp4.parent.mkdir(parents=True, exist_ok=True)
    st = B.stamp_of({"lec": lec, "slides": slides, "sha": deck["sha256"], "tools": tools, "v": BUILD_VERSION})
    stamp_file, seg_file = wdir / "stamp.json", wdir / "segments.json"
    if not force and mp4.exists() and stamp_file.exists() and seg_file.exists() \
            and json.loads(stamp_file.read_text()).get("stamp") == st:
        return json.loads(seg_file.read_text()), False
    for f in wdir.glob("s_*.wav"):
        f.unlink()
    rng = random.Random(lec["seed"])
    W, H = lec["width"], lec["height"]
    pcm = bytearray(B.silence(lec["lead_in_s"]))
    concat, segments = [], []
    if lec["lead_in_s"] > 0:
        black = wdir / "black.png"
        Image.new("RGB", (W, H), (0, 0, 0)).save(black)
        concat.append((black, lec["lead_in_s"]))
    t = lec["lead_in_s"]
    lo, hi = lec.get("tail_range", (1.0, 5.0))
    for i, sl in enumerate(slides):
        lens = [B.tts(s, lec["voice"], lec["speed"], wdir / f"s_{i:03d}_{j:02d}.wav")
                for j, s in enumerate(sl["sentences"])]
        speech = sum(lens) + GAP * (len(lens) - 1)
        lead = B.frames(rng.uniform(0.5, 1.2))
        D = B.frames(max(lec.get("min_slide", 8.0), lead + speech + rng.uniform(lo, hi)))
        spcm = bytearray(B.silence(lead))
        cur = t + lead
        meta = []
        for j, text in enumerate(sl["sentences"]):
            if j:
                spcm += B.silence(GAP)
                cur += GAP
            data = B.wav_read(wdir / f"s_{i:03d}_{j:02d}.wav")
            spcm += data
            d = len(data) / 2 / SR
            meta.append({"text": text, "start_s": round(cur, 3), "end_s": round(cur + d, 3), "on_slide": True,
                         "source": f"slide p{sl['page']}" + (f" build {sl['build']}" if sl["build"] else "")})
            cur += d
        want = int(round(D * SR)) * 2
        pcm += spcm[:want] + b"\x00" * max(0, want - len(spcm))
        fr = wdir / f"frame_{i:03d}.png"
        B.compose_frame(slide_image(pdf, sl, lec, out, deck["marker_re"]), W, H, lec["bg"]).save(fr)
        concat.append((fr, D))
        vis = visible_text(pdf, sl, deck["marker_re"])
        segments.append({"index": i + 1, "deck": lec["deck"], "page": sl["page"], "build": sl["build"],
                         "key": sl["key"], "start_s": round(t, 3), "end_s": round(t + D, 3),
                         "visible_text_excerpt": vis[:300], "visible_text": vis,
                         "spoken_text": " ".join(m["text"] for m in meta), "spoken_sentences": meta,
                         "narration_tempo": 1.0})
        t += D
    total = round(t, 3)
    raw, audio = wdir / "narration_raw.wav", wdir / "narration.wav"
    B.wav_write(raw, bytes(pcm))
    B.apply_audio_fx(lec.get("audio_fx"), raw, audio, total, lec["seed"])
    lst = wdir / "concat.txt"
    with open(lst, "w") as f:
        for p, d in concat:
            f.write(f"file '{p}'\nduration {d:.3f}\n")
        f.write(f"file '{concat[-1][0]}'\n")
    B.encode_video(lst, audio, total, mp4)
    seg_file.write_text(json.dumps(segments, indent=1, ensure_ascii=False))
    stamp_file.write_text(json.dumps({"stamp": st}))
    for f in list(wdir.glob("frame_*.png")) + list(wdir.glob("s_*.wav")) + [raw, audio]:
        if f.exists():
            f.unlink()
    return segments, True


# --------------------------------------------------------------------------- queries
def build_queries(lecture_segments):
    files = {l["id"]: l["file"] for l in spec.LECTURES}
    seg = {(lid, s["key"]): s for lid, segs in lecture_segments.items() for s in segs}
    lect_text = {lid: norm(" ".join(s["visible_text"] + " " + s["spoken_text"] for s in segs))
                 for lid, segs in lecture_segments.items()}
    all_text = "\n".join(lect_text.values())
    queries, problems = [], []
    for n, q in enumerate(spec.QUERIES, 1):
        qid = f"q{n:03d}"
        cond = q["cond"]
        rec = {"qid": qid, "kind": cond, "condition": cond, "text": q["text"], "image": None,
               "negative": cond == "negative", "answers": [],
               "meta": {"qtype": q.get("qtype", "visible"), "lang": q.get("lang", "en")}}
        for lid, key in q.get("ans", []):
            s = seg.get((lid, key))
            if s is None:
                problems.append(f"{qid}: ({lid}, {key}) is not a slide of that lecture")
                continue
            rec["answers"].append({"file": files[lid], "start_s": s["start_s"], "end_s": s["end_s"]})
            rec["meta"].setdefault("targets", []).append({"video": lid, "deck": s["deck"], "page": s["page"],
                                                          "build": s["build"], "key": key})
        ans_segs = [seg[(l, k)] for l, k in q.get("ans", []) if (l, k) in seg]
        ans_text = norm(" ".join(s["visible_text"] + " " + s["spoken_text"] for s in ans_segs))
        # grounding: every key term must be in the answer slide (visible or spoken)
        for key in (q.get("key", []) if cond != "negative" else []):
            if norm(key) not in ans_text:
                problems.append(f"{qid}: key '{key}' is not on/in the answer slide")
        if cond == "lookalike":   # the key terms must not occur in the twin lecture at all
            for key in q.get("key", []):
                for twin in q["twin"]:
                    if norm(key) in lect_text[twin]:
                        problems.append(f"{qid}: look-alike key '{key}' also occurs in twin lecture {twin}")
            rec["meta"]["twin"] = q["twin"]
        if cond == "builds":      # the key terms appear first in exactly this build state
            for (lid, key) in q["ans"]:
                s = seg[(lid, key)]
                prev = seg.get((lid, f"p{s['page']}b{s['build'] - 1}"))
                for k in q.get("key", []):
                    if prev is not None and norm(k) in norm(prev["visible_text"] + " " + prev["spoken_text"]):
                        problems.append(f"{qid}: key '{k}' is already in the previous build state")
        if cond == "paraphrase":
            shared = shared_content_words(q["text"], [s["visible_text"] + " " + s["spoken_text"] for s in ans_segs])
            if shared:
                problems.append(f"{qid}: paraphrase shares content word(s) with its answer slide: {shared}")
            rec["meta"]["shared_content_words"] = []
        if cond == "negative":
            for key in q.get("key", []):
                if norm(key) in all_text:
                    problems.append(f"{qid}: negative key '{key}' occurs in the collection")
        if cond != "negative" and not rec["answers"]:
            problems.append(f"{qid}: no answers")
        queries.append(rec)
    return queries, problems


# --------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/lf-dev2")
    ap.add_argument("--fetch-debs", action="store_true", help="apt-get download the source packages into OUT/debs")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--only", help="comma-separated lecture ids to (re)build (others must be cached)")
    ap.add_argument("--dump", action="store_true", help="print slide texts (for writing queries) and stop")
    a = ap.parse_args()
    t0 = time.time()
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    tools = B.tool_versions()
    B.check_tools(tools)
    log(f"[1/4] sources -> {out}/debs")
    src = fetch_sources(out, a.fetch_debs)
    if a.dump:
        for lec in spec.LECTURES:
            print(f"##### {lec['id']} {lec['file']}")
            for sl in expand_slides(lec, src):
                print(f"--- {sl['key']} VIS: {visible_text(src[lec['deck']], sl, spec.SOURCES[lec['deck']]['marker_re'])}")
                print(f"    SAY: {' | '.join(sl['sentences'])}")
        return
    log("[2/4] lectures")
    lecture_segments, videos = {}, []
    only = set(a.only.split(",")) if a.only else None
    for lec in spec.LECTURES:
        t1 = time.time()
        segs, built = build_lecture(lec, src, out, tools, a.force and (only is None or lec["id"] in only))
        lecture_segments[lec["id"]] = segs
        pr = B.probe(out / lec["file"])
        exp = segs[-1]["end_s"]
        if abs(pr["duration"] - exp) > 0.15 or pr["vcodec"] != "h264" or pr["acodec"] != "aac":
            sys.exit(f"{lec['file']}: probe mismatch {pr} (expected {exp}s h264/aac)")
        log(f"  {'built ' if built else 'cached'} {lec['file']}  {pr['duration']:.1f}s {pr['width']}x{pr['height']} "
            f"{pr['size'] / 1e6:.1f} MB slides={len(segs)} ({time.time() - t1:.0f}s)")
        videos.append({"id": lec["id"], "file": lec["file"], "title": lec["title"], "deck": lec["deck"],
                       "lang": lec["lang"], "duration_s": round(exp, 3), "width": lec["width"],
                       "height": lec["height"], "lead_in_s": lec["lead_in_s"], "voice": lec["voice"],
                       "speed_wpm": lec["speed"], "audio_fx": lec.get("audio_fx"), "size_bytes": pr["size"],
                       "builds": bool(lec.get("builds")), "segments": segs})
    log("[3/4] queries")
    queries, problems = build_queries(lecture_segments)
    if problems:
        for p in problems:
            log("  PROBLEM: " + p)
        sys.exit("query validation failed")
    log("[4/4] manifest")
    manifest = {"version": 1, "build_version": BUILD_VERSION, "fps": FPS, "tools": tools,
                "note": "devset2: kind in queries.jsonl = condition; builds segments carry 'build' (1-based).",
                "sources": spec.SOURCES, "videos": videos, "pdfs": []}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    (out / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries))
    (out / "queries_input.jsonl").write_text("".join(
        json.dumps({"qid": q["qid"], "text": q["text"], "image": q["image"]}, ensure_ascii=False) + "\n"
        for q in queries))
    kinds = {}
    for q in queries:
        kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    vs = sum(v["duration_s"] for v in videos)
    log(f"done in {time.time() - t0:.1f}s: {len(videos)} videos, {vs / 60:.1f} min; {len(queries)} queries {kinds}")


if __name__ == "__main__":
    main()
