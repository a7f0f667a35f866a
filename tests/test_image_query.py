"""Issue 3: image, image + text and audio queries on the sample course, PDF page <-> video links, bad inputs.

Every query photo is made here from the sample course itself: keyframes grabbed from the videos (middle of a
slide's span), the shipped slide PNGs and handout pages rendered with pypdfium2, then distorted the way a phone
photo of a projector screen is (perspective, rotation, blur, JPEG, low contrast + colour cast, a dark room around
the screen, a crop of the diagram only). The distortion helpers are reused by scripts/bench/image_query.py.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from typing import Callable, Optional

import cv2
import numpy as np
import pytest
from helpers import (
    DECK,
    GT,
    HANDOUT,
    LECTUREFIND,
    SAMPLE,
    VIDEOS,
    connect,
    ffmpeg,
    gt_answer_slide,
    gt_linked_page,
    gt_links,
    gt_question,
    gt_slide_index,
    mss,
)

from testing.photos import blur, crop, jpeg, low_contrast, noise, perspective, projector_photo, rotate, street_scene  # noqa: F401  (bench reuses them)

L1, L2 = (v["file"] for v in GT["videos"])
PDF = DECK["file"]
# the slides photographed, by what they are (indexes from the ground truth)
DIAG1, DIAG2 = gt_slide_index(L1, kind="diagram"), gt_slide_index(L2, kind="diagram")
PLOT1, PLOT2 = gt_slide_index(L1, kind="plot"), gt_slide_index(L2, kind="plot")
FIXED_PRIORITY = gt_slide_index(L2, title="Fixed priority")
# handout pages that are images only (no text layer) and shown in no video: the answer can only be the page
IMAGE_ONLY_PAGES = [p["page"] for p in DECK["pages"] if not p["text_layer"] and not p["same_as"]]
TOL = 5.0            # a moment must start within ±5 s of the slide's start
AUDIO_TOL = 10.0     # an audio query's moment must start within ±10 s of the spoken sentence

pytestmark = pytest.mark.models      # every test searches the ingested sample course


# the diagram regions of the two diagram slides (~40% of the slide area each; no title, no footer)
DIAGRAM_BOX = {(L1, DIAG1): (0.11, 0.18, 0.66, 0.90),     # axes with v, Av = 5v, w, Aw
               (L2, DIAG2): (0.05, 0.20, 0.70, 0.82)}     # arbiter, CPU/DMA/NIC, shared bus


# ---------------------------------------------------------------------------------------------------------------
# Sources: keyframes, slide PNGs, handout pages
# ---------------------------------------------------------------------------------------------------------------
def slide_gt(video: str, index: int) -> dict:
    return VIDEOS[video]["slides"][index]


def keyframe(video: str, index: int) -> np.ndarray:
    from lecturefind.media.ffmpeg import grab_frame

    s = slide_gt(video, index)
    return grab_frame(os.path.join(SAMPLE, video), (s["start_s"] + s["end_s"]) / 2, max_side=1280)


def slide_png(video: str, index: int) -> np.ndarray:
    rel = slide_gt(video, index)["image"]
    assert rel, f"no shipped PNG for {video} slide {index}"
    img = cv2.imread(os.path.join(SAMPLE, rel), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def pdf_page(page: int, longest: int = 1280) -> np.ndarray:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(HANDOUT)
    try:
        p = doc[page - 1]
        w, h = p.get_size()
        pil = p.render(scale=longest / max(w, h)).to_pil().convert("RGB")
    finally:
        doc.close()
    return cv2.cvtColor(np.asarray(pil), cv2.COLOR_RGB2BGR)


@dataclass
class Case:
    """One query photo: where it comes from, how it is distorted, what must come back at rank 1."""

    id: str
    source: Callable[[], np.ndarray]
    distort: Callable[[np.ndarray, np.random.Generator], np.ndarray]
    video: Optional[str] = None       # expected video file and slide index ...
    slide: Optional[int] = None
    page: Optional[int] = None        # ... or expected handout page
    ext: str = ".jpg"
    kind: str = ""                    # text / diagram / plot / crop / page, for reporting

    def make(self) -> np.ndarray:
        return self.distort(self.source(), np.random.default_rng(_stable_seed(self.id)))


def _stable_seed(text: str) -> int:
    return zlib.crc32(text.encode())


def write_image(img: np.ndarray, path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if ext in (".jpg", ".jpeg") else []
    if ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 80]
    assert cv2.imwrite(path, img, params), path
    return path


def is_hit(m, case: Case) -> bool:
    """Right lecture and a moment overlapping the slide's span that starts within ±TOL of it; or the right page."""
    if case.page is not None:
        return m.kind == "pdf" and os.path.basename(m.file) == PDF and m.page == case.page
    s = slide_gt(case.video, case.slide)
    return (m.kind == "video" and os.path.basename(m.file) == case.video and m.start_s is not None
            and m.start_s < s["end_s"] and m.end_s > s["start_s"] and abs(m.start_s - s["start_s"]) <= TOL)


def describe(results, n: int = 4) -> str:
    return "; ".join(f"{os.path.basename(m.file)[:12]} {'p' + str(m.page) if m.kind == 'pdf' else m.start_s}"
                     f"-{'' if m.kind == 'pdf' else m.end_s} {m.score:.3f}{' C' if m.confident else ''}"
                     for m in results[:n])


def _kf(video, index):
    return lambda: keyframe(video, index)


def _png(video, index):
    return lambda: slide_png(video, index)


def _page(page):
    return lambda: pdf_page(page)


def _diagram(video, index, src=_png):
    box = DIAGRAM_BOX[(video, index)]
    return lambda: crop(src(video, index)(), box)


def _combo(img, rng):
    """Everything at once: a projector photo, rotated, washed out, blurred, JPEG."""
    return jpeg(blur(rotate(low_contrast(projector_photo(img, rng)), float(rng.uniform(-5, 5))), 1.5), 50)


def case_list() -> list[Case]:
    short1, short2 = L1[:9], L2[:9]
    kf1, kf2 = _kf(L1, DIAG1), _kf(L2, DIAG2)
    p_a, p_b = IMAGE_ONLY_PAGES
    return [
        # the two diagram slides, one distortion at a time (keyframes grabbed from the videos) ...
        Case(f"{short1}-diagram-perspective", kf1, lambda i, r: jpeg(perspective(i, r), 85), L1, DIAG1,
             kind="diagram"),
        Case(f"{short1}-diagram-rotate", kf1, lambda i, r: rotate(i, 6.5), L1, DIAG1, kind="diagram"),
        Case(f"{short1}-diagram-blur", kf1, lambda i, r: blur(i, 2.5), L1, DIAG1, kind="diagram"),
        Case(f"{short1}-diagram-jpeg50", kf1, lambda i, r: jpeg(i, 50), L1, DIAG1, kind="diagram"),
        Case(f"{short1}-diagram-lowcontrast-cast", kf1, lambda i, r: low_contrast(i), L1, DIAG1, kind="diagram"),
        Case(f"{short1}-diagram-projector", kf1, lambda i, r: jpeg(projector_photo(i, r), 80), L1, DIAG1,
             kind="diagram"),
        Case(f"{short2}-diagram-perspective", kf2, lambda i, r: jpeg(perspective(i, r), 60), L2, DIAG2,
             kind="diagram"),
        Case(f"{short2}-diagram-rotate", kf2, lambda i, r: rotate(i, -4.0), L2, DIAG2, kind="diagram", ext=".png"),
        Case(f"{short2}-diagram-blur-lowcontrast", kf2, lambda i, r: blur(low_contrast(i), 2.0), L2, DIAG2,
             kind="diagram"),
        Case(f"{short2}-diagram-projector", kf2, lambda i, r: jpeg(projector_photo(i, r), 80), L2, DIAG2,
             kind="diagram"),
        # ... everything at once, from the shipped PNG, as WebP
        Case(f"{short2}-diagram-png-combo", _png(L2, DIAG2), _combo, L2, DIAG2, kind="diagram", ext=".webp"),
        # the diagram region only (~40% of the slide, no title, no footer), photographed
        Case(f"{short1}-diagram-crop", _diagram(L1, DIAG1), lambda i, r: jpeg(blur(rotate(i, 3.0), 1.0), 60), L1,
             DIAG1, kind="crop"),
        Case(f"{short2}-diagram-crop", _diagram(L2, DIAG2), lambda i, r: jpeg(perspective(i, r), 60), L2, DIAG2,
             kind="crop"),
        # plots and a text slide
        Case(f"{short1}-plot-combo", _kf(L1, PLOT1), _combo, L1, PLOT1, kind="plot"),
        Case(f"{short2}-plot-perspective-rotate", _kf(L2, PLOT2),
             lambda i, r: jpeg(rotate(perspective(i, r), -4), 60), L2, PLOT2, kind="plot"),
        Case(f"{short2}-text-combo", _kf(L2, FIXED_PRIORITY), _combo, L2, FIXED_PRIORITY, kind="text"),
        # image-only handout pages with no video counterpart: the answer is the page
        Case(f"handout-p{p_a}-photo", _page(p_a), lambda i, r: jpeg(blur(rotate(perspective(i, r), 4), 1.5), 50),
             page=p_a, kind="page"),
        Case(f"handout-p{p_b}-projector", _page(p_b), _combo, page=p_b, kind="page"),
    ]


CASES = case_list()


# ---------------------------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("photos")
    return {c.id: write_image(c.make(), str(d / f"{c.id}{c.ext}")) for c in CASES}


@pytest.fixture(scope="module")
def photo_results(searcher, photos) -> dict[str, list]:
    """Top-10 for every case photo, searched once (the first search also warms the visual index and OCR)."""
    return {cid: searcher.search(image=path, k=10) for cid, path in photos.items()}


def invoke(monkeypatch, models, *args):
    """The CLI in-process (click 8.2+: stdout and stderr apart), reusing the session's models."""
    from click.testing import CliRunner

    from lecturefind.cli import main

    monkeypatch.setattr("lecturefind.rank.searcher.MLModels", lambda: models)
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


# ---------------------------------------------------------------------------------------------------------------
# Image queries
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_photo_finds_its_moment_at_rank_1(case, photo_results):
    res = photo_results[case.id]
    assert res, f"{case.id}: no results"
    want = (f"{case.video} slide {case.slide} "
            f"[{slide_gt(case.video, case.slide)['start_s']}, {slide_gt(case.video, case.slide)['end_s']}]"
            if case.page is None else f"{PDF} p{case.page}")
    assert is_hit(res[0], case), f"{case.id}: want {want} at rank 1, got {describe(res)}"
    assert res[0].confident, f"{case.id}: the right answer is not marked confident: {describe(res)}"


UNRELATED = {
    "scene": None,                # shapes, gradients, noise: no text
    "street-sign": "Maple Avenue",
    "bus-stop-sign": "BUS STOP",  # shares a word with lecture 2: OCR text alone must not make it confident
}


@pytest.mark.parametrize("name", list(UNRELATED))
def test_unrelated_photo_is_not_confident(name, searcher, photo_results, tmp_path):
    img = street_scene(np.random.default_rng(_stable_seed(name)), UNRELATED[name])
    path = write_image(jpeg(img, 70), str(tmp_path / f"{name}.jpg"))
    res = searcher.search(image=path, k=10)
    assert not any(m.confident for m in res), f"{name}: confident results for an unrelated photo: {describe(res)}"
    top = res[0].score if res else 0.0
    true_tops = {cid: r[0].score for cid, r in photo_results.items() if r}
    lowest = min(true_tops, key=true_tops.get)
    assert top < true_tops[lowest], (f"{name}: top score {top:.3f} not below the weakest true photo "
                                     f"({lowest}: {true_tops[lowest]:.3f})")
    assert all(0.0 <= m.score <= 1.0 for m in res)


def test_image_plus_text_ranks_the_slide_first(searcher, tmp_path):
    """A photo of the lower part of the block diagram (CPU, DMA, NIC, bus, memory) plus words naming the arbiter,
    which is drawn on another part of that slide and is not in the photo."""
    img = crop(slide_png(L2, DIAG2), (0.05, 0.36, 0.95, 0.90))
    path = write_image(jpeg(rotate(img, -3.0), 60), str(tmp_path / "lower-diagram.jpg"))
    case = Case("image+text", lambda: img, lambda i, r: i, L2, DIAG2)
    res = searcher.search(text="the arbiter that grants the bus", image=path, k=5)
    assert res and is_hit(res[0], case), describe(res)
    assert res[0].confident
    # the words pick the snippet inside the slide span
    assert "arbiter" in res[0].snippet.lower(), res[0].snippet



# (The narration of that slide, "v is only scaled by five along its line", is missed by Whisper tiny: no
# transcript between 30 s and 52 s of lecture 1, so the typed words name what the slide itself shows.)
@pytest.mark.parametrize("text,want", [("the geometric picture: Av = 5v, the vector only stretches", (L1, DIAG1)),
                                       ("which master gets the bus: the arbiter's request and grant lines",
                                        (L2, DIAG2))],
                         ids=["geometric->L1", "arbiter->L2"])
def test_text_decides_between_two_slides_in_one_photo(text, want, searcher, tmp_path):
    """A 2-up handout / slide-sorter screenshot shows both diagram slides; the typed words say which one."""
    a, b = slide_png(L1, DIAG1), slide_png(L2, DIAG2)
    both = np.full((720, 2600, 3), 255, np.uint8)
    both[:, :1280], both[:, 1320:] = a, b
    path = write_image(jpeg(cv2.resize(both, (1600, 443), interpolation=cv2.INTER_AREA), 80), str(tmp_path / "2up.jpg"))
    res = searcher.search(text=text, image=path, k=5)
    case = Case("2up", lambda: both, lambda i, r: i, *want)
    assert res and is_hit(res[0], case), describe(res)
    other = L1 if want[0] == L2 else L2
    top_other = next(m for m in res if os.path.basename(m.file) == other)
    assert res[0].score > top_other.score, describe(res)


def test_only_the_photographed_slide_is_confident(photo_results):
    """For a photo of one slide, the confident results are that slide's moment and its linked handout page."""
    linked = {video_slide: page for page, video_slide in gt_links().items()}
    wrong = []
    for case in CASES:
        if case.page is not None or case.kind == "crop":
            continue
        ok_page = linked.get((case.video, case.slide))
        for m in photo_results[case.id]:
            if m.confident and not is_hit(m, case) and not (m.kind == "pdf" and m.page == ok_page):
                wrong.append(f"{case.id}: {describe([m], 1)}")
    assert not wrong, f"{len(wrong)} wrong confident results:\n" + "\n".join(wrong)


def _write_query_image(img: np.ndarray, path: str) -> str:
    if path.endswith((".heic", ".heif")):
        import pillow_heif
        from PIL import Image

        pillow_heif.register_heif_opener()
        Image.fromarray(np.ascontiguousarray(img[:, :, ::-1])).save(path, quality=90)
        return path
    return write_image(img, path)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".heic"])
def test_every_query_image_format_finds_the_same_moment(ext, searcher, tmp_path):
    """One photo, written in each image format formats.py takes as a query: the same moment comes back first."""
    from lecturefind.formats import FORMATS

    fmt = next((f for f in FORMATS if ext in f.exts), None)
    assert fmt is not None and fmt.kind == "image" and fmt.query, f"{ext} is not a query image format: {fmt}"
    if ext == ".heic":
        pytest.importorskip("pillow_heif")
    case = next(c for c in CASES if c.id.endswith("diagram-perspective") and c.video == L1)
    path = _write_query_image(case.make(), str(tmp_path / f"photo{ext}"))
    res = searcher.search(image=path, k=5)
    assert res and is_hit(res[0], case), f"{ext}: {describe(res)}"
    assert res[0].confident, f"{ext}: {describe(res)}"


# ---------------------------------------------------------------------------------------------------------------
# Audio queries
# ---------------------------------------------------------------------------------------------------------------
def sentence_start(video: str, index: int) -> float:
    """When a slide's spoken-only sentence begins (espeak speaks evenly, so by its share of the narration)."""
    s = slide_gt(video, index)
    text, sentence = s["spoken_text"], s["spoken_only"][0]
    return s["speech_start_s"] + text.index(sentence) / len(text) * (s["speech_end_s"] - s["speech_start_s"])


def audio_hit(m, video: str, index: int, t0: float) -> bool:
    """Right lecture, the moment holds the sentence's start, and starts within ±AUDIO_TOL of the sentence or within
    ±TOL of the slide change before it (moments begin at the slide change before the matching sentence)."""
    if isinstance(m, dict):
        file, start, end = m["file"], m["start_s"], m["end_s"]
    else:
        file, start, end = m.file, m.start_s, m.end_s
    slide_start = slide_gt(video, index)["start_s"]
    return (os.path.basename(file) == video and start is not None and start <= t0 + 1.0 < end
            and (abs(start - t0) <= AUDIO_TOL or abs(start - slide_start) <= TOL))


AUDIO = [(L1, 4, ".wav"), (L2, 0, ".mp3"), (L2, 2, ".flac"), (L1, 4, ".ogg")]   # .ogg: what browsers record


@pytest.mark.parametrize("video,index,ext", AUDIO, ids=[f"{v[:9]}-s{i}{e}" for v, i, e in AUDIO])
def test_audio_query_finds_the_sentence(video, index, ext, searcher, tmp_path):
    t0 = sentence_start(video, index) - 0.3
    path = str(tmp_path / f"question{ext}")
    ffmpeg("-ss", f"{t0:.2f}", "-i", os.path.join(SAMPLE, video), "-t", "8", "-vn", "-ac", "1", path)
    res = searcher.search(audio=path, k=5)
    assert res, "no results"
    assert audio_hit(res[0], video, index, t0), f"sentence at {t0:.1f}s: {describe(res)}"


def _long_audio(tmp_path) -> str:
    path = str(tmp_path / "lecture-recording.wav")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=95", "-ac", "1", "-ar", "16000", path)
    return path


def _tone(tmp_path) -> str:
    path = str(tmp_path / "question.ogg")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", path)
    return path


def _aiff(tmp_path) -> str:
    path = str(tmp_path / "question.aiff")
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", path)
    return path


def test_audio_longer_than_80s_is_refused(searcher, tmp_path):
    from lecturefind.errors import QueryError

    path = _long_audio(tmp_path)
    with pytest.raises(QueryError) as e:
        searcher.search(audio=path)
    msg = str(e.value)
    assert path in msg and "80" in msg and "long" in msg.lower() and "\n" not in msg, msg


def test_a_recording_without_speech_is_refused(searcher, tmp_path):
    from lecturefind.errors import QueryError

    path = _tone(tmp_path)
    with pytest.raises(QueryError) as e:
        searcher.search(audio=path)
    msg = str(e.value)
    assert path in msg and "no speech" in msg and "\n" not in msg, msg


def test_an_audio_type_outside_formats_is_refused(searcher, tmp_path):
    from lecturefind.errors import QueryError
    from lecturefind.formats import names

    path = _aiff(tmp_path)
    with pytest.raises(QueryError) as e:
        searcher.search(audio=path)
    msg = str(e.value)
    assert path in msg and "unsupported audio type '.aiff'" in msg and names("audio", "query") in msg, msg


@pytest.mark.parametrize("make", [_long_audio, _tone, _aiff], ids=["95s-wav", "tone-ogg", "aiff"])
def test_cli_refuses_bad_audio(make, sample_index, tmp_path):
    path = make(tmp_path)
    p = subprocess.run([LECTUREFIND, "search", "--audio", path, "--index", sample_index], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert p.returncode != 0, p.stdout
    assert "Traceback" not in p.stderr, p.stderr
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and os.path.basename(path) in lines[0], p.stderr


# ---------------------------------------------------------------------------------------------------------------
# PDF page <-> video links
# ---------------------------------------------------------------------------------------------------------------
def expected_links() -> set[tuple[int, str, float]]:
    """{(page, video file, slide start_s)} from the ground truth's same_as."""
    return {(page, video, slide_gt(video, index)["start_s"]) for page, (video, index) in gt_links().items()}


def _link_matches(got: set[tuple[int, str, float]]) -> tuple[list, list]:
    """Pair links by (page, video) with slide starts within 1 s; returns (missing, unexpected)."""
    want = expected_links()
    missing = [w for w in want if not any(g[:2] == w[:2] and abs(g[2] - w[2]) <= 1.0 for g in got)]
    extra = [g for g in got if not any(g[:2] == w[:2] and abs(g[2] - w[2]) <= 1.0 for w in want)]
    return missing, extra


def test_pdf_video_links_are_exactly_those_of_the_ground_truth(sample_index):
    conn = connect(sample_index)
    try:
        rows = conn.execute(
            "SELECT p.page, fv.path, v.start_s, fp.path FROM links k JOIN slides p ON p.id = k.page_slide_id "
            "JOIN slides v ON v.id = k.video_slide_id JOIN lectures lv ON lv.id = v.lecture_id "
            "JOIN files fv ON fv.id = lv.file_id JOIN lectures lp ON lp.id = p.lecture_id "
            "JOIN files fp ON fp.id = lp.file_id").fetchall()
    finally:
        conn.close()
    assert all(os.path.basename(r[3]) == PDF for r in rows), rows
    got = [(r[0], os.path.basename(r[1]), r[2]) for r in rows]
    assert len(got) == len(set(got)), f"duplicate links: {got}"
    missing, extra = _link_matches(set(got))
    assert not missing and not extra, f"missing {missing}, unexpected {extra}"


def test_status_links_cli(sample_index):
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    p = subprocess.run([LECTUREFIND, "status", "--links", "--json", "--index", sample_index], capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)
    conn = connect(sample_index)
    try:
        files = {r[0]: os.path.basename(r[1]) for r in
                 conn.execute("SELECT l.id, f.path FROM lectures l JOIN files f ON f.id = l.file_id")}
    finally:
        conn.close()
    got = {(r["page"], files[r["lecture_id"]], r["start_s"]) for r in rows}
    assert len(rows) == len(expected_links())
    missing, extra = _link_matches(got)
    assert not missing and not extra, f"missing {missing}, unexpected {extra}"
    # the human-readable form: one line per link, page and timestamp on it
    p = subprocess.run([LECTUREFIND, "status", "--links", "--index", sample_index], capture_output=True,
                       text=True, timeout=60, env=env)
    assert p.returncode == 0, p.stderr
    lines = [x for x in p.stdout.splitlines() if re.search(r"\d+:\d\d", x)]
    pages = sorted(int(m.group(1)) for x in lines if (m := re.search(r"p(?:age|\.)\s*(\d+)", x)))
    assert pages == sorted(gt_links()), p.stdout


def test_json_carries_slide_ref_and_shown_in(monkeypatch, models, sample_index):
    """A text question answered on a linked slide: the video moment names its handout page and the page names
    the moment it was shown at."""
    # the first question of the ground truth answered on a video slide that the handout also has
    q = next(q for q in GT["questions"] if q["kind"] == "visible"
             and gt_linked_page(q["answer"]["file"], gt_answer_slide(q)["index"]) is not None)
    answer = q["answer"]
    linked_page = gt_linked_page(answer["file"], gt_answer_slide(q)["index"])
    r = invoke(monkeypatch, models, "search", "--json", "--k", "10", "--index", sample_index, q["text"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert all("confident" in m and "slide_ref" in m and "shown_in" in m for m in res)
    video = next(m for m in res if m["kind"] == "video")
    assert os.path.basename(video["file"]) == answer["file"], res[:3]
    assert abs(video["start_s"] - answer["start_s"]) <= TOL, res[:3]
    ref = video["slide_ref"]
    assert ref and ref["page"] == linked_page and ref["deck"] == PDF, ref
    assert ref["label"].startswith(f"slide {linked_page} of "), ref
    page = next((m for m in res if m["kind"] == "pdf" and m["page"] == linked_page), None)
    assert page is not None, [(m["kind"], m["page"], m["start_s"]) for m in res]
    assert page["shown_in"], page
    s = page["shown_in"][0]
    assert s["lecture_id"] == video["lecture_id"] and abs(s["start_s"] - answer["start_s"]) <= 1.0, s
    assert mss(s["start_s"]) in s["label"], s
    # pages that no video showed carry no links, and each moment's slide_ref is the page linked to the slide on
    # screen at its start (by the ground truth; only moments starting at least 1 s inside a slide are judged)
    for m in res:
        if m["kind"] == "pdf" and m["page"] not in gt_links():
            assert m["shown_in"] == [], m
        if m["kind"] != "video":
            continue
        video_file = os.path.basename(m["file"])
        for sl in VIDEOS[video_file]["slides"]:
            if sl["start_s"] + 1.0 <= m["start_s"] <= sl["end_s"] - 1.0:
                got = m["slide_ref"]["page"] if m["slide_ref"] else None
                assert got == gt_linked_page(video_file, sl["index"]), (m, sl["title"])


def test_image_query_json_links_both_ways(monkeypatch, models, sample_index, photos):
    r = invoke(monkeypatch, models, "search", "--json", "--image", photos["lecture02-diagram-projector"],
               "--index", sample_index)
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    case = next(c for c in CASES if c.id == "lecture02-diagram-projector")
    linked_page = gt_linked_page(case.video, case.slide)
    assert res[0]["confident"] is True and os.path.basename(res[0]["file"]) == case.video, res[:2]
    assert res[0]["slide_ref"] and res[0]["slide_ref"]["page"] == linked_page, res[0]
    page = next(m for m in res if m["kind"] == "pdf" and m["page"] == linked_page)
    shown_at = slide_gt(case.video, case.slide)["start_s"]
    assert any(s["lecture_id"] == res[0]["lecture_id"] and abs(s["start_s"] - shown_at) <= 1.0
               for s in page["shown_in"]), page["shown_in"]


def test_batch_accepts_image_and_audio_fields(monkeypatch, models, sample_index, photos, tmp_path):
    shutil.copy(photos["lecture01-diagram-blur"], tmp_path / "photo.jpg")
    photo_case = next(c for c in CASES if c.id == "lecture01-diagram-blur")
    text_q = gt_question("priority encoder")
    t0 = sentence_start(L2, DIAG2) - 0.3
    ffmpeg("-ss", f"{t0:.2f}", "-i", os.path.join(SAMPLE, L2), "-t", "8", "-vn", "-ac", "1", str(tmp_path / "q.wav"))
    (tmp_path / "empty.png").write_bytes(b"")
    lines = [{"qid": "img", "image": "photo.jpg"},
             {"qid": "img+text", "image": "photo.jpg", "text": "the vector w is turned off its line"},
             {"qid": "audio", "audio": "q.wav"},
             {"qid": "bad", "image": "empty.png"},
             {"qid": "text", "text": text_q["text"]}]
    batch = tmp_path / "queries.jsonl"
    batch.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    r = invoke(monkeypatch, models, "search", "--batch", str(batch), "--k", "3", "--index", sample_index)
    assert r.exit_code == 0, r.output
    out = {o["qid"]: o for o in map(json.loads, r.stdout.strip().splitlines())}
    assert list(out) == [x["qid"] for x in lines]
    slide_start = slide_gt(photo_case.video, photo_case.slide)["start_s"]
    for qid in ("img", "img+text"):
        top = out[qid]["results"][0]
        assert os.path.basename(top["file"]) == photo_case.video, (qid, top)
        assert abs(top["start_s"] - slide_start) <= TOL, (qid, top)
    assert audio_hit(out["audio"]["results"][0], L2, DIAG2, t0), out["audio"]["results"][0]
    assert out["bad"]["results"] == [] and "empty.png" in out["bad"]["error"], out["bad"]
    assert "empty.png" in r.stderr and "Traceback" not in r.stderr
    assert os.path.basename(out["text"]["results"][0]["file"]) == text_q["answer"]["file"]


# ---------------------------------------------------------------------------------------------------------------
# Bad images
# ---------------------------------------------------------------------------------------------------------------
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def bomb_png(path: str, side: int = 20000) -> str:
    """A valid 1-bit greyscale PNG of side×side pixels, all black: ~50 MB of pixels in a few tens of KB."""
    row = b"\x00" * (1 + (side + 7) // 8)          # filter byte + packed bits
    comp = zlib.compressobj(9)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = side.to_bytes(4, "big") * 2 + bytes([1, 0, 0, 0, 0])     # bit depth 1, greyscale
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b""))
    return path


def _make_bad(kind: str, d) -> str:
    from PIL import Image

    slide = slide_png(L2, DIAG2)
    if kind == "truncated-jpeg":
        ok, buf = cv2.imencode(".jpg", slide)
        p = d / "truncated.jpg"
        p.write_bytes(buf.tobytes()[: len(buf) // 2])
    elif kind == "zero-byte":
        p = d / "empty.png"
        p.write_bytes(b"")
    elif kind == "bomb-20000x20000":
        p = d / "bomb.png"
        bomb_png(str(p))
    elif kind == "large-8000x8000":          # below Pillow's bomb guard, above the 40 MP limit
        p = d / "huge.png"
        Image.new("1", (8000, 8000)).save(p)
    elif kind == "text-named-png":
        p = d / "notes.png"
        p.write_text("these are my lecture notes, not a picture\n")
    elif kind in ("gif", "bmp"):
        p = d / f"slide.{kind}"
        Image.fromarray(slide[:, :, ::-1]).save(p)
    elif kind == "missing":
        p = d / "nowhere.jpg"
    else:
        raise AssertionError(kind)
    return str(p)


BAD = {"truncated-jpeg": "truncated", "zero-byte": "empty", "bomb-20000x20000": "too large",
       "large-8000x8000": "too large", "text-named-png": "not an image", "gif": "unsupported", "bmp": "unsupported",
       "missing": "not found"}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_image_gives_one_clear_error(kind, searcher, tmp_path):
    from lecturefind.errors import QueryError

    path = _make_bad(kind, tmp_path)
    if kind.startswith("bomb"):
        assert os.path.getsize(path) < 200_000
    with pytest.raises(QueryError) as e:
        searcher.search(image=path)
    msg = str(e.value)
    assert path in msg and BAD[kind] in msg.lower() and "\n" not in msg, msg


@pytest.mark.parametrize("kind", ["truncated-jpeg", "zero-byte", "bomb-20000x20000", "text-named-png", "gif", "bmp"])
def test_cli_bad_image_exits_nonzero_without_traceback(kind, sample_index, tmp_path):
    path = _make_bad(kind, tmp_path)
    p = subprocess.run([LECTUREFIND, "search", "--image", path, "some words", "--index", sample_index],
                       capture_output=True, text=True, timeout=120, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert p.returncode != 0, p.stdout
    assert "Traceback" not in p.stderr and p.stdout.strip() == "", (p.stdout, p.stderr)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and path in lines[0] and BAD[kind] in lines[0].lower(), p.stderr
