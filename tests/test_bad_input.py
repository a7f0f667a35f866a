"""Bad files get one readable error line each while the rest of the batch is ingested; odd but valid media
(no audio, variable frame rate, rotated, audio only) ingests fine."""
from __future__ import annotations

import json
import os
import random
import re

import pytest
from helpers import (
    GT,
    HANDOUT,
    LECTURE1,
    LECTURE2,
    connect,
    cut,
    ffmpeg,
    gt_slide,
    gt_slide_index,
    index_problems,
    run_cli,
    scalar,
)

L1, L2 = (v["file"] for v in GT["videos"])
FIXED_PRIORITY = gt_slide(L2, gt_slide_index(L2, title="Fixed priority"))
EIGEN_CONDITION = gt_slide(L1, gt_slide_index(L1, title="Deriving the eigenvalue condition"))
VFR_FROM = 43.0            # the VFR excerpt of lecture 1 starts here, a few seconds before EIGEN_CONDITION

pytestmark = pytest.mark.models      # every batch is ingested with the real models (bad_batch in a subprocess)


@pytest.fixture(scope="module")
def bad_batch(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad-input")
    rnd = random.Random(42)
    good = cut(LECTURE2, str(d / "good_fixed_priority.mp4"), FIXED_PRIORITY["start_s"], 14)
    bad = {}
    bad["missing"] = str(d / "missing_lecture.mp4")
    bad["zero"] = str(d / "zero.mp4")
    open(bad["zero"], "wb").close()
    with open(LECTURE1, "rb") as f:
        data = f.read()
    bad["truncated_mp4"] = str(d / "truncated.mp4")
    with open(bad["truncated_mp4"], "wb") as f:
        f.write(data[: int(len(data) * 0.3)])
    bad["random_mp4"] = str(d / "random.mp4")
    with open(bad["random_mp4"], "wb") as f:
        f.write(bytes(rnd.getrandbits(8) for _ in range(200_000)))
    bad["text_mov"] = str(d / "notes.mov")
    with open(bad["text_mov"], "w") as f:
        f.write("These are my lecture notes, not a movie.\n" * 50)
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(HANDOUT).pages[:2]:
        writer.add_page(page)
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="AES-128")
    bad["encrypted_pdf"] = str(d / "encrypted.pdf")
    with open(bad["encrypted_pdf"], "wb") as f:
        writer.write(f)
    bad["garbage_pdf"] = str(d / "garbage.pdf")
    with open(bad["garbage_pdf"], "wb") as f:
        f.write(bytes(rnd.getrandbits(8) for _ in range(50_000)))
    with open(HANDOUT, "rb") as f:
        pdf = f.read()
    bad["truncated_pdf"] = str(d / "truncated.pdf")
    with open(bad["truncated_pdf"], "wb") as f:
        f.write(pdf[: int(len(pdf) * 0.4)])
    bad["docx"] = str(d / "syllabus.docx")
    with open(bad["docx"], "wb") as f:
        f.write(b"PK\x03\x04" + bytes(rnd.getrandbits(8) for _ in range(1000)))
    bad["silent_wav"] = str(d / "silent_recording.wav")       # a recording with nothing to index
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "40", bad["silent_wav"])
    idx = str(d / "idx")
    order = [bad["missing"], bad["zero"], good, bad["truncated_mp4"], bad["random_mp4"], bad["text_mov"],
             bad["encrypted_pdf"], bad["garbage_pdf"], bad["truncated_pdf"], bad["docx"], bad["silent_wav"]]
    proc = run_cli("ingest", *order, "--course", "Bad", "--index", idx, "-q", timeout=600)
    return {"good": good, "bad": bad, "index": idx, "proc": proc}


def test_exit_code_is_nonzero(bad_batch):
    p = bad_batch["proc"]
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)


def test_no_traceback(bad_batch):
    p = bad_batch["proc"]
    assert "Traceback" not in p.stdout + p.stderr
    assert ": unexpected " not in p.stderr, p.stderr          # the pipeline's catch-all for unforeseen errors
    # with -q, stderr holds the error lines and nothing else (no library warnings, no progress)
    stray = [ln for ln in p.stderr.splitlines() if ln.strip() and not ln.startswith("error: ")]
    assert stray == [], stray


REASONS = {   # what the one line must say, at least
    "missing": r"not found",
    "zero": r"empty",
    "truncated_mp4": r".+",
    "random_mp4": r"invalid|corrupt|not a readable|cannot open",
    "text_mov": r"invalid|corrupt|not a readable|cannot open",
    "encrypted_pdf": r"encrypted",
    "garbage_pdf": r"corrupt|unreadable|cannot",
    "truncated_pdf": r"corrupt|unreadable|cannot|truncated",
    "docx": r"unsupported file type",
    "silent_wav": r"nothing to index",
}


@pytest.mark.parametrize("which", sorted(REASONS))
def test_each_bad_file_gets_one_readable_line(bad_batch, which):
    path = bad_batch["bad"][which]
    lines = [ln for ln in (bad_batch["proc"].stdout + bad_batch["proc"].stderr).splitlines() if path in ln]
    assert len(lines) == 1, lines
    line = lines[0]
    m = re.fullmatch(r"error: (.+?): (.+)", line)
    assert m and m.group(1) == path, line
    assert re.search(REASONS[which], m.group(2), re.I), line
    assert len(line) < 400


def test_good_file_is_ingested_and_searchable(bad_batch, models):
    from lecturefind.rank.searcher import Searcher

    assert "1 ingested" in bad_batch["proc"].stdout
    assert f"{len(REASONS)} failed" in bad_batch["proc"].stdout
    s = Searcher(bad_batch["index"], models=models)
    try:
        res = s.search_text("fixed priority arbitration is just a priority encoder", k=3)
        assert res and res[0].file == bad_batch["good"]
    finally:
        s.close()


def test_index_stays_consistent_and_status_lists_the_failures(bad_batch):
    idx = bad_batch["index"]
    assert index_problems(idx) == []
    conn = connect(idx)
    try:
        assert scalar(conn, "SELECT COUNT(*) FROM lectures") == 1
        failed = {r[0] for r in conn.execute("SELECT path FROM files WHERE state='failed'")}
    finally:
        conn.close()
    assert failed == set(bad_batch["bad"].values())
    r = run_cli("status", "--json", "--index", idx)
    assert r.returncode == 0
    st = json.loads(r.stdout)
    assert {f["path"] for f in st["failed"]} == failed and all(f["error"] for f in st["failed"])


# -- odd but valid media ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def odd_batch(tmp_path_factory, models):
    from lecturefind.ingest.pipeline import Ingestor

    d = tmp_path_factory.mktemp("odd-media")
    files = {}
    # slides only, no audio track (lecture 2 from 65 s: the end of one slide, then the fixed priority slide)
    files["silent"] = cut(LECTURE2, str(d / "silent.mp4"), 65.0, 14.0, "-an")
    # variable frame rate: every 4th frame for the first 40 frames, then every frame (one slide change at 4.5 s)
    ffmpeg("-ss", str(VFR_FROM), "-i", LECTURE1, "-t", "12", "-an", "-vf", r"select='not(mod(n\,4))+gte(n\,40)'",
           "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", str(d / "vfr.mp4"))
    files["vfr"] = str(d / "vfr.mp4")
    # phone-style rotation: frames stored sideways, display matrix turns them upright
    ffmpeg("-ss", "113.0", "-i", LECTURE2, "-t", "12", "-an", "-vf", "transpose=1", "-c:v", "libx264",
           "-preset", "ultrafast", str(d / "sideways.mp4"))
    ffmpeg("-display_rotation:v", "90", "-i", str(d / "sideways.mp4"), "-c", "copy", str(d / "rotated.mov"))
    os.remove(str(d / "sideways.mp4"))
    files["rotated"] = str(d / "rotated.mov")
    # audio only, cut from the lectures' soundtracks
    ffmpeg("-i", LECTURE1, "-t", "18", "-vn", "-ac", "1", "-ar", "16000", str(d / "intro.wav"))
    files["wav"] = str(d / "intro.wav")
    ffmpeg("-ss", "2", "-i", LECTURE2, "-t", "21", "-vn", "-c:a", "flac", str(d / "bus_intro.flac"))
    files["flac"] = str(d / "bus_intro.flac")
    idx = str(d / "idx")
    ing = Ingestor(idx, models=models, log=lambda line: None)
    rep = ing.ingest(list(files.values()), course="Odd")
    ing.close()
    return {"files": files, "index": idx, "report": rep}


def lecture(idx: str, path: str):
    conn = connect(idx)
    try:
        return conn.execute("SELECT l.*, (SELECT COUNT(*) FROM segments s WHERE s.lecture_id = l.id) AS n "
                            "FROM lectures l JOIN files f ON f.id = l.file_id WHERE f.path = ?", (path,)).fetchone()
    finally:
        conn.close()


def test_odd_media_all_ingest(odd_batch):
    rep = odd_batch["report"]
    assert rep.errors == [] and rep.ingested == len(odd_batch["files"])
    assert index_problems(odd_batch["index"]) == []


def top_file(odd_batch, models, query: str) -> str:
    from lecturefind.rank.searcher import Searcher

    s = Searcher(odd_batch["index"], models=models)
    try:
        return s.search_text(query, k=1)[0].file
    finally:
        s.close()


def test_video_without_audio(odd_batch, models):
    lec = lecture(odd_batch["index"], odd_batch["files"]["silent"])
    assert lec["kind"] == "video" and lec["has_audio"] == 0 and lec["n"] >= 1
    query = "every master has a fixed rank, priority encoder"
    assert top_file(odd_batch, models, query) == odd_batch["files"]["silent"]


def test_variable_frame_rate_video(odd_batch, models):
    idx, path = odd_batch["index"], odd_batch["files"]["vfr"]
    assert lecture(idx, path)["kind"] == "video"
    conn = connect(idx)
    starts = [r[0] for r in conn.execute("SELECT s.start_s FROM slides s JOIN lectures l ON l.id = s.lecture_id "
                                         "JOIN files f ON f.id = l.file_id WHERE f.path = ? ORDER BY s.idx", (path,))]
    conn.close()
    change = EIGEN_CONDITION["start_s"] - VFR_FROM                      # the slide change, in the excerpt's time
    assert len(starts) == 2 and abs(starts[1] - change) <= 0.8, (starts, change)
    assert top_file(odd_batch, models, "deriving the eigenvalue condition det(A - λI) = 0") == path


def test_rotated_video_is_read_upright(odd_batch, models):
    from lecturefind.media.probe import probe

    path = odd_batch["files"]["rotated"]
    p = probe(path)
    # stored sideways (720x1280), shown upright: the probe reports the display size of the landscape slide
    assert p.rotation == 90 and (p.width, p.height) == (1280, 720), p
    lec = lecture(odd_batch["index"], path)
    assert lec["kind"] == "video" and (lec["width"], lec["height"]) == (p.width, p.height)
    conn = connect(odd_batch["index"])
    text = " ".join(r[0] or "" for r in conn.execute(
        "SELECT s.text FROM slides s JOIN lectures l ON l.id = s.lecture_id JOIN files f ON f.id = l.file_id "
        "WHERE f.path = ?", (path,)))
    conn.close()
    assert "round-robin" in text.lower(), text
    assert top_file(odd_batch, models, "round-robin arbitration: priority rotates") == path


@pytest.mark.parametrize("which,query", [("wav", "who brought the word eigen into mathematics"),
                                         ("flac", "Unibus of the PDP-11 minicomputer")])
def test_audio_only_files(odd_batch, models, which, query):
    path = odd_batch["files"][which]
    lec = lecture(odd_batch["index"], path)
    assert lec["kind"] == "audio" and lec["has_audio"] == 1 and lec["n"] >= 1
    assert top_file(odd_batch, models, query) == path
