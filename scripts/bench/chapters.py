"""Video chapters against ground truth: title accuracy, boundary recall and precision (prints them).

    .venv/bin/python scripts/bench/chapters.py MANIFEST INDEX [MANIFEST INDEX ...] [--json OUT] [--max-lines N]

e.g. ``scripts/bench/chapters.py /tmp/lf-devset/manifest.json /tmp/idx-dev1 /tmp/lf-dev2/manifest.json
/tmp/idx-dev2-audit``. LectureFind's chapters come from ``lecturefind status --chapters --json --index INDEX``
(the CLI next to sys.executable); the truth from the manifest's ``videos[].segments[]`` and the deck PDFs.

Ground-truth title of a deck page (from the PDF's text layer, pypdf): the text on the page is grouped into lines
by baseline, each with its largest font size (text matrix x CTM). Lines that recur (digits ignored) on at least
half of the deck's pages -- running headers, footers, logos, "Author Title  12 / 89" -- and lines without letters
are dropped. The title is the line set in the page's largest font size (the topmost one if several), joined with
the lines right below it in that same size (a title wrapped over two lines). Not "the first text line": in the
Quickscript deck that is the footer "Laurent Orseau Quickscript"; on the Emacs title page the title spans two lines.

A true chapter is a run of consecutive segments whose pages have the same (folded) title. Titles are compared
folded: NFKC (ligatures), lower case, no diacritics, typographic quotes/dashes/ellipsis made plain, whitespace
collapsed; "exact" is equality of that, "fuzzy" difflib ratio >= 0.8 (exact included).

- title accuracy: a true chapter is right when the LectureFind chapter covering its midpoint has its title;
  "time" weighs every second of true-chapter time by whether the LectureFind chapter over it has the right title
  (so a true chapter split into pieces with wrong titles loses the time of those pieces).
- boundary recall: true chapter starts except the first one (the video start, after any lead-in) with a
  LectureFind chapter start within 2 s / 5 s; precision: LectureFind starts except the first (always 0) within
  2 s of a true start.
Videos whose segments name no deck (a talking-head clip) are skipped.
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FUZZY = 0.8
TOL, TOL_WIDE = 2.0, 5.0
HEADER_SHARE = 0.5        # a line on at least this share of a deck's pages is a running header/footer/logo

_PLAIN = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00ab": '"', "\u00bb": '"',
                        "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u00ad": "-", "\u00a0": " ", "\u2026": "..."})


def fold(text: str) -> str:
    t = unicodedata.normalize("NFKC", text or "").translate(_PLAIN).casefold()
    t = "".join(ch for ch in unicodedata.normalize("NFKD", t) if not unicodedata.combining(ch))
    t = re.sub(r"\.(?:\s*\.){2}", "...", t)         # LaTeX \ldots comes out of the text layer as ". . ."
    return " ".join(t.split())


def ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, fold(a), fold(b)).ratio()


# -- ground truth from the deck PDFs -------------------------------------------------------------------------
def _mult(m, n):
    return [m[0] * n[0] + m[1] * n[2], m[0] * n[1] + m[1] * n[3], m[2] * n[0] + m[3] * n[2],
            m[2] * n[1] + m[3] * n[3], m[4] * n[0] + m[5] * n[2] + n[4], m[4] * n[1] + m[5] * n[3] + n[5]]


@dataclass
class Line:
    y: float
    size: float
    text: str


def page_lines(page) -> list[Line]:
    """The page's text lines, top first: chunks on one baseline (within a third of the font size), left to right,
    a chunk repeated on the same line (a drop shadow) once; size = the largest font size on the line."""
    chunks: list[tuple[float, float, float, str]] = []

    def visit(text, cm, tm, _font, size):
        if text and text.strip():
            m = _mult(tm, cm)
            chunks.append((m[5], m[4], float(size or 0) * abs(m[0] * m[3] - m[1] * m[2]) ** 0.5, text))

    page.extract_text(visitor_text=visit)
    groups: list[list] = []
    for y, x, s, t in sorted(chunks, key=lambda c: -c[0]):
        for g in groups:
            if abs(g[0] - y) < 0.35 * max(s, g[1]):
                g[1] = max(g[1], s)
                g[2].append((x, t))
                break
        else:
            groups.append([y, s, [(x, t)]])
    out = []
    for y, s, parts in groups:
        seen: list[str] = []
        for _x, t in sorted(parts, key=lambda p: p[0]):
            if " ".join(t.split()) not in seen:
                seen.append(" ".join(t.split()))
        text = " ".join(" ".join(seen).split())
        if text:
            out.append(Line(y, s, text))
    out.sort(key=lambda L: -L.y)
    return out


def _shape(text: str) -> str:
    return re.sub(r"\d+", "#", fold(text))


def page_title(lines: list[Line], headers: set[str]) -> str:
    body = [L for L in lines if _shape(L.text) not in headers and re.search(r"[^\W\d_]", L.text)]
    if not body:
        return ""
    big = max(L.size for L in body)
    same = [i for i, L in enumerate(body) if L.size >= big - 0.05 * big]
    i = same[0]                                      # topmost line in the largest size
    parts = [body[i].text]
    while i + 1 < len(body) and body[i + 1].size >= big - 0.05 * big \
            and body[i].y - body[i + 1].y <= 1.8 * big:  # the title wrapped onto the next line
        i += 1
        parts.append(body[i].text)
    return " ".join(parts)


@dataclass
class Deck:
    path: str
    titles: dict[int, str] = field(default_factory=dict)
    lines: dict[int, list[str]] = field(default_factory=dict)     # page -> its non-title lines (diagnosis)
    headers: list[str] = field(default_factory=list)


def find_pdf(root: Path, deck: str, src: dict) -> Path | None:
    cands = [root / "src" / f"{deck}.pdf"]
    if src.get("path"):
        cands.append(root / "debs" / "x" / src.get("package", "") / src["path"])
        cands += sorted(root.glob(f"debs/**/{Path(src['path']).name}"))
    for c in cands:
        if c.is_file():
            return c
    return None


def load_deck(root: Path, deck: str, src: dict, wanted: set[int]) -> Deck:
    from pypdf import PdfReader

    pdf = find_pdf(root, deck, src)
    if pdf is None:
        raise SystemExit(f"{deck}: no PDF for {src.get('path')} under {root}")
    if src.get("sha256") and hashlib.sha256(pdf.read_bytes()).hexdigest() != src["sha256"]:
        print(f"warning: {pdf} does not match the manifest's sha256", file=sys.stderr)
    reader = PdfReader(str(pdf))
    n = len(reader.pages)
    every = {p: page_lines(reader.pages[p - 1]) for p in range(1, n + 1)}
    counts = Counter(s for ls in every.values() for s in {_shape(L.text) for L in ls})
    headers = {s for s, c in counts.items() if n >= 4 and c >= HEADER_SHARE * n}
    d = Deck(str(pdf), headers=sorted(headers))
    for p in sorted(wanted):
        d.titles[p] = page_title(every[p], headers)
        d.lines[p] = [L.text for L in every[p]]
    return d


@dataclass
class TrueChapter:
    start: float
    end: float
    title: str
    pages: list[int]
    deck: str


def true_chapters(video: dict, decks: dict[str, Deck]) -> list[TrueChapter]:
    out: list[TrueChapter] = []
    for s in video["segments"]:
        title = decks[s["deck"]].titles.get(s["page"], "")
        if out and out[-1].deck == s["deck"] and fold(out[-1].title) == fold(title):
            out[-1].end = float(s["end_s"])
            if s["page"] not in out[-1].pages:
                out[-1].pages.append(s["page"])
            continue
        out.append(TrueChapter(float(s["start_s"]), float(s["end_s"]), title, [s["page"]], s["deck"]))
    return out


# -- LectureFind's chapters --------------------------------------------------------------------------------
def lecturefind_bin() -> str:
    for c in (Path(sys.executable).parent / "lecturefind", ROOT / ".venv" / "bin" / "lecturefind"):
        if c.exists():
            return str(c)
    found = shutil.which("lecturefind")
    if not found:
        raise SystemExit("lecturefind CLI not found next to sys.executable nor in .venv/bin")
    return found


def found_chapters(index: str) -> dict[str, list[dict]]:
    """path -> chapters, for every video lecture of the index."""
    cmd = [lecturefind_bin(), "status", "--chapters", "--json", "--index", index]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stderr[-2000:]}")
    data = json.loads(res.stdout)
    return {lec["path"]: lec.get("chapters") or [] for lec in data.get("lectures", []) if lec.get("kind") == "video"}


def match_path(file: str, paths: dict[str, list[dict]]) -> str | None:
    tail = "/" + file.lstrip("/")
    hits = [p for p in paths if p.replace(os.sep, "/").endswith(tail)]
    return hits[0] if len(hits) == 1 else None


# -- scoring -------------------------------------------------------------------------------------------------
def covering(chs: list[dict], t: float) -> dict | None:
    for c in chs:
        if c["start_s"] <= t < c["end_s"]:
            return c
    return chs[-1] if chs and t >= chs[-1]["start_s"] else None


def diagnose(truth: TrueChapter, found: str, video_truth: list[TrueChapter], deck: Deck) -> str:
    f, t = fold(found), fold(truth.title)
    if not f or f == "untitled":
        return "no title"
    if ratio(found, truth.title) >= FUZZY:
        return "near miss (OCR/typography)"
    if any(ratio(found, o.title) >= FUZZY for o in video_truth if o is not truth):
        return "another chapter's title (boundary off)"
    if f in t:
        return "truncated title"
    if t in f:
        return "title plus extra text"
    if any(ratio(found, h) >= FUZZY for h in deck.headers):
        return "header/logo/footer as title"
    body = [L for p in truth.pages for L in deck.lines.get(p, []) if fold(L) != t]
    if any(ratio(found, L) >= FUZZY or (len(f) > 8 and f in fold(L)) for L in body):
        return "body line as title"
    return "other"


@dataclass
class Score:
    n_true: int = 0
    n_found: int = 0
    exact: int = 0
    fuzzy: int = 0
    time_total: float = 0.0
    time_exact: float = 0.0
    time_fuzzy: float = 0.0
    starts: int = 0
    rec2: int = 0
    rec5: int = 0
    fstarts: int = 0
    prec2: int = 0

    def add(self, o: Score) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(o, k))


def score_video(truth: list[TrueChapter], chs: list[dict], duration: float) -> tuple[Score, list[tuple]]:
    s = Score(n_true=len(truth), n_found=len(chs))
    wrong: list[tuple] = []
    for tc in truth:
        c = covering(chs, (tc.start + tc.end) / 2)
        title = c["title"] if c else ""
        r = ratio(title, tc.title)
        s.exact += fold(title) == fold(tc.title)
        s.fuzzy += r >= FUZZY
        if fold(title) != fold(tc.title):
            wrong.append(("title", tc, title, (tc.start + tc.end) / 2, r))
        for ch in chs:                               # time-weighted
            a, b = max(tc.start, ch["start_s"]), min(tc.end, ch["end_s"])
            if b > a:
                s.time_exact += (b - a) * (fold(ch["title"]) == fold(tc.title))
                s.time_fuzzy += (b - a) * (ratio(ch["title"], tc.title) >= FUZZY)
        s.time_total += tc.end - tc.start
    fstarts = [c["start_s"] for c in chs[1:]]
    tstarts = [tc.start for tc in truth[1:]]
    for t in tstarts:
        d = min((abs(t - f) for f in fstarts), default=1e9)
        s.starts += 1
        s.rec2 += d <= TOL
        s.rec5 += d <= TOL_WIDE
        if d > TOL_WIDE:
            wrong.append(("missed", next(tc for tc in truth if tc.start == t), "", t, d))
    for c in chs[1:]:
        d = min((abs(c["start_s"] - t) for t in tstarts), default=1e9)
        s.fstarts += 1
        s.prec2 += d <= TOL
        if d > TOL:
            inside = covering([{"start_s": tc.start, "end_s": tc.end, "tc": tc} for tc in truth], c["start_s"])
            wrong.append(("split", inside["tc"] if inside else None, c["title"], c["start_s"], d))
    return s, wrong


def pct(a: float, b: float) -> str:
    return f"{a / b:6.1%}" if b else "     -"


HEAD = (f"{'':34s} {'true':>4s} {'found':>5s} {'title=':>7s} {'~title':>7s} {'time=':>7s} {'~time':>7s} "
        f"{'rec@2s':>7s} {'rec@5s':>7s} {'prec@2s':>7s}")


def row(name: str, s: Score) -> str:
    return (f"{name[:34]:34s} {s.n_true:4d} {s.n_found:5d} {pct(s.exact, s.n_true):>7s} {pct(s.fuzzy, s.n_true):>7s} "
            f"{pct(s.time_exact, s.time_total):>7s} {pct(s.time_fuzzy, s.time_total):>7s} "
            f"{pct(s.rec2, s.starts):>7s} {pct(s.rec5, s.starts):>7s} {pct(s.prec2, s.fstarts):>7s}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pairs", nargs="+", metavar="MANIFEST INDEX")
    ap.add_argument("--json", help="write every true and found chapter, scores and problems here")
    ap.add_argument("--max-lines", type=int, default=25, help="problem lines to print (default 25)")
    ap.add_argument("--show-truth", action="store_true", help="print the ground-truth title of every shown page")
    a = ap.parse_args()
    if len(a.pairs) % 2:
        ap.error("give MANIFEST INDEX pairs")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        import pypdf  # noqa: F401
    except ImportError:
        venv = ROOT / ".venv" / "bin" / "python"
        if venv.exists() and Path(sys.executable).resolve() != venv.resolve():
            os.execv(str(venv), [str(venv), __file__, *sys.argv[1:]])   # the project's venv has pypdf
        raise SystemExit("needs pypdf: run it with the project's .venv/bin/python") from None

    pooled = Score()
    per_coll: list[tuple[str, Score]] = []
    problems: list[tuple] = []
    dump: dict = {"collections": []}
    print(HEAD)
    for mpath, index in zip(a.pairs[::2], a.pairs[1::2]):
        manifest = json.loads(Path(mpath).read_text())
        root = Path(mpath).resolve().parent
        wanted: dict[str, set[int]] = {}
        for v in manifest["videos"]:
            for seg in v["segments"]:
                if seg.get("deck"):
                    wanted.setdefault(seg["deck"], set()).add(int(seg["page"]))
        decks = {d: load_deck(root, d, manifest["sources"][d], pp) for d, pp in wanted.items()}
        if a.show_truth:
            for d, deck in decks.items():
                print(f"# {d}: {deck.path}; headers dropped: {deck.headers}")
                for p, t in deck.titles.items():
                    print(f"#   p{p}: {t}")
        found = found_chapters(index)
        coll = Score()
        cdump = {"manifest": mpath, "index": index, "videos": []}
        for v in manifest["videos"]:
            if not v["segments"] or not all(seg.get("deck") for seg in v["segments"]):
                print(f"  {v['file']}: no deck slides, skipped")
                continue
            truth = true_chapters(v, decks)
            path = match_path(v["file"], found)
            chs = found.get(path, []) if path else []
            if path is None:
                print(f"  {v['file']}: not in {index} (counted with no chapters)")
            s, wrong = score_video(truth, chs, float(v.get("duration_s") or 0))
            coll.add(s)
            print(row("  " + Path(v["file"]).stem, s))
            for kind, tc, title, t, x in wrong:
                why = diagnose(tc, title, truth, decks[tc.deck]) if kind == "title" and tc else ""
                problems.append((kind, v["id"], t, tc.title if tc else "", title, x, why))
            cdump["videos"].append({"file": v["file"], "path": path, "score": s.__dict__,
                                    "truth": [tc.__dict__ for tc in truth], "found": chs})
        print(row(f"{Path(mpath).parent.name} ({index})", coll))
        per_coll.append((mpath, coll))
        pooled.add(coll)
        dump["collections"].append(cdump)
    if len(per_coll) > 1:
        print(row("POOLED", pooled))
    print("title=/~title: exact/fuzzy title at the true chapter's midpoint; time=/~time: time-weighted; "
          f"rec: true starts with a found start within 2/5 s; prec: found starts within {TOL:g} s of a true start")

    order = {"title": 0, "split": 1, "missed": 2}
    problems.sort(key=lambda p: (order[p[0]], p[1], p[2]))
    kinds = Counter(p[6] if p[0] == "title" else p[0] for p in problems)
    print(f"\nproblems: {dict(kinds)}  (split = a found start > {TOL:g} s from any true start; "
          f"missed = a true start with no found start within {TOL_WIDE:g} s)")
    for kind, vid, t, true_t, found_t, x, why in problems[:a.max_lines]:
        if kind == "title":
            print(f"  WRONG  {vid} @{t:6.1f}s  true {true_t!r} vs found {found_t!r}  [{why}; ratio {x:.2f}]")
        elif kind == "split":
            print(f"  SPLIT  {vid} @{t:6.1f}s  found {found_t!r} inside true {true_t!r} ({x:.1f} s from a start)")
        else:
            print(f"  MISSED {vid} @{t:6.1f}s  true {true_t!r} ({x:.1f} s to the nearest found start)")
    if len(problems) > a.max_lines:
        print(f"  ... {len(problems) - a.max_lines} more (--max-lines, --json)")
    if a.json:
        dump["pooled"] = pooled.__dict__
        dump["problems"] = [dict(zip(("kind", "video", "t", "true", "found", "x", "why"), p)) for p in problems]
        Path(a.json).write_text(json.dumps(dump, indent=1, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
