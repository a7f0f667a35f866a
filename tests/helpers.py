"""Shared helpers for the ingest/search tests: index consistency checks, small real media, running the CLI."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import faiss

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "examples", "sample-course")
LECTUREFIND = os.path.join(os.path.dirname(sys.executable), "lecturefind")

# -- what the sample course holds (examples/sample-course/ground_truth.json): expected answers come from here ----
with open(os.path.join(SAMPLE, "ground_truth.json")) as _f:
    GT = json.load(_f)
VIDEOS = {v["file"]: v for v in GT["videos"]}
(DECK,) = GT["pdfs"]                                      # the one handout
PAGES = [p["page"] for p in DECK["pages"]]
SAMPLE_FILES = [v["file"] for v in GT["videos"]] + [p["file"] for p in GT["pdfs"]]
LECTURE1, LECTURE2 = (os.path.join(SAMPLE, v["file"]) for v in GT["videos"])   # eigenvalues, bus arbitration
HANDOUT = os.path.join(SAMPLE, DECK["file"])


def gt_slide(video: str, index: int) -> dict:
    return VIDEOS[video]["slides"][index]


def gt_slide_index(video: str, *, kind: str | None = None, title: str | None = None) -> int:
    """The index of the one slide of `video` with that kind and/or title."""
    (i,) = [s["index"] for s in VIDEOS[video]["slides"]
            if (kind is None or s["kind"] == kind) and (title is None or s["title"] == title)]
    return i


def gt_question(phrase: str) -> dict:
    """The one ground-truth question whose text contains `phrase`."""
    (q,) = [q for q in GT["questions"] if phrase in q["text"]]
    return q


def gt_answer_slide(q: dict) -> dict:
    """The slide a video question's answer span is."""
    a = q["answer"]
    (s,) = [s for s in VIDEOS[a["file"]]["slides"] if s["start_s"] == a["start_s"] and s["end_s"] == a["end_s"]]
    return s


def gt_links() -> dict[int, tuple[str, int]]:
    """{handout page: (video file, slide index)} for the pages a video also shows (same_as)."""
    return {p["page"]: (p["same_as"]["video"], p["same_as"]["slide"]) for p in DECK["pages"] if p["same_as"]}


def gt_linked_page(video: str, index: int) -> int | None:
    return next((page for page, vs in gt_links().items() if vs == (video, index)), None)


def mss(seconds: float) -> str:
    """The clock format the pages and the CLI use (m:ss), written out here independently of the product."""
    s = int(seconds)
    return f"{s // 60}:{s % 60:02d}"


def ffmpeg(*args: str) -> None:
    """Run the static ffmpeg that lecturefind itself uses."""
    from lecturefind.media.ffmpeg import ffmpeg_exe

    proc = subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], capture_output=True, text=True)
    assert proc.returncode == 0, f"ffmpeg {' '.join(args)} failed: {proc.stderr}"


def cut(src: str, dst: str, start: float, duration: float, *extra: str) -> str:
    """Re-encode [start, start+duration) of src into dst (frame-exact, small and fast)."""
    ffmpeg("-ss", str(start), "-i", src, "-t", str(duration), "-c:v", "libx264", "-preset", "ultrafast",
           "-crf", "23", "-c:a", "aac", "-b:a", "64k", *extra, dst)
    return dst


def connect(index_dir: str) -> sqlite3.Connection:
    conn = sqlite3.connect(os.path.join(index_dir, "catalog.sqlite"), timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def scalar(conn: sqlite3.Connection, sql: str, args=()):
    return conn.execute(sql, args).fetchone()[0]


def rows_of(index_dir: str, sql: str, args=()) -> list[tuple]:
    """The rows of one query on an index's catalog (opened and closed around it)."""
    conn = connect(index_dir)
    try:
        return [tuple(r) for r in conn.execute(sql, args).fetchall()]
    finally:
        conn.close()


def index_problems(index_dir: str) -> list[str]:
    """Every inconsistency between the catalog tables, the FTS table and the persisted FAISS file."""
    conn = connect(index_dir)
    try:
        checks = {
            "segments without lecture":
                "SELECT COUNT(*) FROM segments WHERE lecture_id NOT IN (SELECT id FROM lectures)",
            "lectures without file": "SELECT COUNT(*) FROM lectures WHERE file_id NOT IN (SELECT id FROM files)",
            "lectures without course":
                "SELECT COUNT(*) FROM lectures WHERE course_id NOT IN (SELECT id FROM courses)",
            "FTS rows without segment":
                "SELECT COUNT(*) FROM segments_fts WHERE rowid NOT IN (SELECT id FROM segments)",
            "segments without FTS row":
                "SELECT COUNT(*) FROM segments WHERE id NOT IN (SELECT rowid FROM segments_fts)",
            "sentences without lecture":
                "SELECT COUNT(*) FROM sentences WHERE lecture_id NOT IN (SELECT id FROM lectures)",
            "words without sentence":
                "SELECT COUNT(*) FROM words WHERE sentence_id NOT IN (SELECT id FROM sentences)",
            "slides without lecture": "SELECT COUNT(*) FROM slides WHERE lecture_id NOT IN (SELECT id FROM lectures)",
            "visual rows without slide": "SELECT COUNT(*) FROM visual WHERE slide_id NOT IN (SELECT id FROM slides)",
            "links without slides": "SELECT COUNT(*) FROM links WHERE page_slide_id NOT IN (SELECT id FROM slides) "
                                    "OR video_slide_id NOT IN (SELECT id FROM slides)",
            "duplicate segments": "SELECT COUNT(*) FROM (SELECT 1 FROM segments GROUP BY lecture_id, start_s, end_s, "
                                  "IFNULL(page, -1) HAVING COUNT(*) > 1)",
            "files indexed twice": "SELECT COUNT(*) FROM (SELECT 1 FROM lectures GROUP BY file_id HAVING COUNT(*) > 1)",
            "done files without lecture":
                "SELECT COUNT(*) FROM files WHERE state='done' AND id NOT IN (SELECT file_id FROM lectures)",
            "lectures without segments":
                "SELECT COUNT(*) FROM lectures WHERE id NOT IN (SELECT lecture_id FROM segments)",
        }
        out = []
        for what, sql in checks.items():
            n = scalar(conn, sql)
            if n:
                out.append(f"{what}: {n}")
        ids = {r[0] for r in conn.execute("SELECT id FROM segments WHERE embedding IS NOT NULL")}
        ids_en = {r[0] for r in conn.execute("SELECT id FROM segments WHERE length(embedding_en) > 0")}
        all_ids = {r[0] for r in conn.execute("SELECT id FROM segments")}
        gen = int(scalar(conn, "SELECT value FROM meta WHERE key='generation'"))
        identity = scalar(conn, "SELECT value FROM meta WHERE key='identity'")
    finally:
        conn.close()
    for name, want in (("vectors.faiss", ids), ("vectors_en.faiss", ids_en)):
        path = os.path.join(index_dir, name)
        if not os.path.exists(path):
            if want:
                out.append(f"{name} missing")
            continue
        with open(path + ".generation") as f:
            stamp = f.read().strip()
        if stamp != f"{gen} {identity}":
            out.append(f"{name} is stamped {stamp!r}, the catalog is generation {gen} of {identity!r}")
        index = faiss.read_index(path)
        faiss_ids = set(faiss.vector_to_array(faiss.downcast_index(index).id_map).tolist())
        if index.ntotal != len(want):
            out.append(f"{name}: ntotal {index.ntotal} != {len(want)} segments with vectors")
        if faiss_ids != want:
            out.append(f"{name}: ids differ from segment ids: {len(faiss_ids - want)} extra, "
                       f"{len(want - faiss_ids)} missing")
    out += _bm25_problems(index_dir, all_ids)
    return out


def _bm25_problems(index_dir: str, ids: set) -> list[str]:
    """The in-memory BM25 file, where there is one: stamped with the catalog's texts, and holding their segments."""
    from lecturefind.index.bm25 import FILE, Bm25Index
    from lecturefind.index.catalog import Catalog

    path = os.path.join(index_dir, FILE)
    if not os.path.exists(path):
        return []
    index = Bm25Index.load(path)
    if index is None:
        return [f"{FILE} cannot be read"]
    cat = Catalog(index_dir, readonly=True)
    try:
        key = cat.texts_key()
    finally:
        cat.close()
    if index.key != key:
        return [f"{FILE} is stamped {index.key}, the catalog's texts are at {key}"]
    held = set(index.ids.tolist())
    return [] if held == ids else [f"{FILE}: {len(held - ids)} segments extra, {len(ids - held)} missing"]


def segments_by_file(index_dir: str) -> dict[str, list[tuple]]:
    """{file basename: sorted [(start_s, end_s, page)]} for every indexed lecture."""
    conn = connect(index_dir)
    try:
        rows = conn.execute("SELECT f.path, s.start_s, s.end_s, s.page FROM segments s JOIN lectures l ON "
                            "l.id = s.lecture_id JOIN files f ON f.id = l.file_id").fetchall()
    finally:
        conn.close()
    out: dict[str, list[tuple]] = {}
    for r in rows:
        out.setdefault(os.path.basename(r[0]), []).append((r[1], r[2], r[3]))
    return {k: sorted(v, key=lambda t: (t[0] or 0, t[1] or 0, t[2] or 0)) for k, v in out.items()}


def run_cli(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """The installed `lecturefind` console script in a subprocess."""
    e = dict(os.environ, HF_HUB_OFFLINE="1")
    e.update(env or {})
    return subprocess.run([LECTUREFIND, *args], capture_output=True, text=True, timeout=timeout, env=e)


def spoken_lecture(cat, name: str, language: str, texts: list[str]) -> list[int]:
    """A lecture of 20 s segments of speech alone (no vectors) committed to `cat`; its segment ids in order."""
    from lecturefind.index.catalog import LectureContent
    from lecturefind.records import Segment

    segs = [Segment(start=20.0 * i, end=20.0 * i + 20, speech=t) for i, t in enumerate(texts)]
    cat.replace_lecture(f"/c/{name}.mp4", 1, 1, name * 8, "course", LectureContent(
        kind="audio", title=name, duration=20.0 * len(texts), language=language, segments=segs,
        segment_vecs=[None] * len(segs)), {})
    return [r["id"] for r in cat.file_segments(f"/c/{name}.mp4")]


def reingest_emptied(index_dir: str, models, statements: list[str]):
    """Run `statements` on the index's catalog (emptying what an older version did not store), then ingest the
    sample course into it again; returns the report."""
    from lecturefind.ingest.pipeline import Ingestor

    conn = connect(index_dir)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()
    ing = Ingestor(index_dir, models=models, log=lambda line: None)
    try:
        return ing.ingest([SAMPLE])
    finally:
        ing.close()
