"""Incremental build slides: the answer is the slide state where the item first appears, not a later state
that still lists it, nor the first state before it was added."""
from __future__ import annotations

import os
import sys

import pytest
from helpers import ffmpeg

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts"))

TITLE = "Sorting algorithms compared"
BULLETS = [
    "Bubble sort swaps neighbours until no swap is left",
    "Merge sort splits the list and merges sorted halves",
    "Quicksort partitions around a pivot element",
    "Heapsort builds a binary heap and extracts the maximum",
    "Radix sort distributes keys by their digits",
]
STATE_S = 9.0     # seconds each build state stays on screen


def render_builds(out_dir: str) -> list[str]:
    from build_sample_course import font
    from PIL import Image, ImageDraw

    paths = []
    for n in range(1, len(BULLETS) + 1):
        img = Image.new("RGB", (1280, 720), "white")
        d = ImageDraw.Draw(img)
        d.text((60, 50), TITLE, fill="black", font=font(54, bold=True))
        for i, b in enumerate(BULLETS[:n]):
            d.text((80, 170 + 90 * i), "• " + b, fill="black", font=font(34))
        p = os.path.join(out_dir, f"state{n}.png")
        img.save(p)
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def build_index(tmp_path_factory, models):
    from lecturefind.ingest.pipeline import Ingestor

    tmp = tmp_path_factory.mktemp("builds")
    frames = render_builds(str(tmp))
    listing = tmp / "list.txt"
    listing.write_text("".join(f"file '{p}'\nduration {STATE_S}\n" for p in frames) + f"file '{frames[-1]}'\n")
    video = str(tmp / "course" / "sorting_builds.mp4")
    os.makedirs(os.path.dirname(video))
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-vf", "fps=10,format=yuv420p", "-c:v", "libx264",
           "-preset", "ultrafast", video)
    idx = str(tmp / "idx")
    ing = Ingestor(idx, models=models, log=lambda line: None)
    rep = ing.ingest([video], course="algorithms")
    ing.close()
    assert not rep.errors and rep.ingested == 1, rep.errors
    return idx


@pytest.mark.parametrize("item", [0, 1, 2, 3])
def test_the_build_state_that_adds_the_item_is_the_answer(build_index, models, item):
    from lecturefind.rank.searcher import Searcher

    s = Searcher(build_index, models=models)
    try:
        top = s.search_text(BULLETS[item], k=3)[0]
    finally:
        s.close()
    first_shown = item * STATE_S
    assert abs(top.start_s - first_shown) <= 2.0, (BULLETS[item], top.start_s, first_shown, top.snippet)


def test_the_title_is_the_big_line_not_the_header_above_it(models, tmp_path):
    """A small course header printed above the title: the slide's title (and its chapter) is the big line."""
    import numpy as np
    from build_sample_course import font
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (1280, 720), "white")
    d = ImageDraw.Draw(img)
    d.text((60, 20), "UNIVERSITY OF EXAMPLE · CS 101 · SPRING TERM", fill="gray", font=font(22))
    d.text((60, 80), TITLE, fill="black", font=font(56, bold=True))
    for i, b in enumerate(BULLETS[:3]):
        d.text((80, 200 + 90 * i), "• " + b, fill="black", font=font(34))
    text, title = models.ocr.read_slide(np.asarray(img)[:, :, ::-1].copy())
    assert text.splitlines()[0].startswith("UNIVERSITY"), text
    assert title == TITLE, (title, text)


def test_build_lecture_chapters(build_index):
    """The five build states of one titled slide are one chapter."""
    from lecturefind.index.catalog import Catalog
    from lecturefind.segment.chapters import chapters

    cat = Catalog(build_index, readonly=True)
    try:
        lec = cat.lectures()[0]
        got = chapters(cat.slides(lec["lecture_id"]), float(lec["duration"]))
    finally:
        cat.close()
    assert [c.title for c in got] == [TITLE], got


def test_each_build_state_is_read_from_the_one_decode_and_repeated_lines_are_not_recognised_again(
        tmp_path, models, monkeypatch):
    """Ingest decodes the video once (no second decode for keyframes); the lines a build keeps are answered by
    the OCR's line memo, and each state's text is still complete. Two files at once (`jobs=2`) give the same
    slides and segments as one at a time."""
    import shutil

    from lecturefind.config import IngestConfig
    from lecturefind.index.catalog import Catalog
    from lecturefind.ingest.pipeline import Ingestor
    from lecturefind.media import ffmpeg as lf_ffmpeg

    frames = render_builds(str(tmp_path))
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"file '{p}'\nduration {STATE_S}\n" for p in frames) + f"file '{frames[-1]}'\n")
    course = tmp_path / "course"
    course.mkdir()
    video = str(course / "sorting_builds.mp4")
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-vf", "fps=10,format=yuv420p", "-c:v", "libx264",
           "-preset", "ultrafast", video)
    shutil.copy(video, course / "sorting_builds_copy.mp4")

    def no_second_decode(*a, **k):
        raise AssertionError("a keyframe was decoded again")

    monkeypatch.setattr(lf_ffmpeg, "grab_frame", no_second_decode)
    recognised: list[int] = []
    recognise = models.ocr.engine.recognize_txt

    def counting(crops):
        recognised.append(len(crops))
        return recognise(crops)

    monkeypatch.setattr(models.ocr.engine, "recognize_txt", counting)

    def ingest(idx: str, jobs: int) -> list:
        cfg = IngestConfig(jobs=jobs)
        ing = Ingestor(idx, cfg, models=models, log=lambda line: None)
        rep = ing.ingest([video] if jobs == 1 else [str(course)], course="algorithms")
        ing.close()
        assert not rep.errors, rep.errors
        cat = Catalog(idx, readonly=True)
        try:
            lec = next(row for row in cat.lectures() if row["title"] == "sorting builds")
            return [(s["start_s"], s["text"]) for s in cat.slides(lec["lecture_id"])]
        finally:
            cat.close()

    one = ingest(str(tmp_path / "idx1"), 1)
    assert len(one) == len(BULLETS), one
    for n, (_, text) in enumerate(one, 1):
        assert TITLE in text and all(b[:20] in text for b in BULLETS[:n]), (n, text)
        assert not any(b[:20] in text for b in BULLETS[n:]), (n, text)
    # state n shows the title and n bullets, of which all but the new bullet were read in state n - 1: the title
    # and each bullet are recognised once (20 lines shown; a line detected as two boxes may add one or two)
    assert sum(recognised) <= 1 + len(BULLETS) + 2, recognised
    assert ingest(str(tmp_path / "idx2"), 2) == one


def test_two_copies_of_one_video_can_save_their_keyframes_at_once(tmp_path):
    """With --jobs, two copies of one file (same content key, so the same keyframe names) are read at once: their
    keyframe writes must not take each other's temporary file (stop 20: a FileNotFoundError failed a copy)."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from lecturefind.config import IngestConfig
    from lecturefind.ingest.extract import Extractor

    ex = Extractor(None, IngestConfig(), str(tmp_path / "keyframes"))      # saving needs no model
    img = np.full((720, 1280, 3), 200, np.uint8)

    def save(_: int) -> list[str]:
        return [ex._save_keyframe("ef7332388cb16e4d", i % 4, img) for i in range(40)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        names = [n for batch in pool.map(save, range(4)) for n in batch]
    assert sorted(set(names)) == [f"ef7332388cb16e4d_{i:04d}.jpg" for i in range(4)]
    assert sorted(os.listdir(tmp_path / "keyframes")) == sorted(set(names))      # no temporary file left


def test_a_later_build_step_nearer_by_a_little_does_not_take_the_moment():
    """Of build steps that show the matched item, the first starts the moment though a later one (more lines)
    is a little nearer the question, and the chosen step's evidence still scores it; a step before the item, a
    different slide, or a question whose words are not in the slide's lines (a paraphrase, the title) moves
    nothing."""
    import numpy as np

    from lecturefind.rank.searcher import Anchor, Searcher, _sem
    from lecturefind.words import coverage, stem

    def unit(v):
        v = np.asarray(v, np.float32)
        return v / np.linalg.norm(v)

    q = (unit([1.0, 0.0, 0.0]), None, None)          # (e5, English, latent terms) of the question
    lines = [TITLE, *BULLETS]
    states = [Anchor(STATE_S * n, STATE_S * (n + 1), "\n".join(lines[: n + 2]),
                     unit([0.80 + 0.01 * n, 0.6, 0.0]), "slide", title=TITLE) for n in range(len(BULLETS))]

    def cov(*words):
        weights = {stem(w): 2.0 for w in words}
        return lambda text: coverage(weights, text)

    first = Searcher._first_state                      # (the states before the chosen one, the chosen one)
    pivot = cov("pivot", "partitions")                 # Quicksort's line, added by step 2
    assert first(states[:4], states[4], q, pivot) is states[2]       # not Radix's step, which only still lists it
    assert first(states[:2], states[2], q, pivot) is states[2]
    summary = Anchor(0.0, STATE_S, "Summary: a pivot partitions the list, the smaller keys go left",
                     states[2].vec, "slide", title="Summary")
    assert first([summary, states[2]], states[3], q, pivot) is states[2]     # another slide, same words
    far = [Anchor(a.start, a.end, a.text, unit([0.5, 0.86, 0.0]), "slide", title=TITLE) for a in states[:3]]
    assert first([*far, states[3]], states[4], q, pivot) is states[3]        # not about as near
    assert first(states[:4], states[4], q, cov("tree", "parent")) is states[4]     # a paraphrase: no word to place
    assert first(states[:4], states[4], q, cov("compared")) is states[4]           # the title alone

    s = Searcher.__new__(Searcher)                     # the rule inside the anchor choice, without an index
    clip = Anchor(0.0, STATE_S * 5, "\n".join(lines), unit([0.0, 1.0, 0.0]), "segment")
    s._anchors = lambda r: [clip, *states]             # type: ignore[method-assign]
    anchor, cos, _ = s._best_anchor(None, q, pivot)
    assert (anchor.start, anchor.end) == (states[2].start, states[4].end)
    assert cos == _sem(states[4], q)                    # scored as the step that matched best


def write_build_pdf(path: str, tmp: str) -> None:
    """A beamer-style handout: an unrelated page, the sorting slide's five build steps as a page each (pages
    2-6), and another unrelated page; a text layer on each, like a PDF made from LaTeX."""
    from pathlib import Path

    from build_sample_course import TextItem, font, write_pdf
    from PIL import Image, ImageDraw

    def page(title: str, lines: list[str]):
        img = Image.new("RGB", (1280, 720), "white")
        d = ImageDraw.Draw(img)
        items = []
        for text, x, y, size, bold in [(title, 60, 50, 54, True)] + [
                ("• " + b, 80, 170 + 90 * i, 34, False) for i, b in enumerate(lines)]:
            f = font(size, bold=bold)
            d.text((x, y), text, fill="black", font=f)
            items.append(TextItem(text, x, y + f.getmetrics()[0], f.getlength(text), size))
        return img, items

    pages = [page("Course overview", ["Weekly exercises are handed in on Fridays", "The exam is written"])]
    pages += [page(TITLE, BULLETS[:n]) for n in range(1, len(BULLETS) + 1)]
    pages += [page("Graph search", ["Breadth-first search visits a frontier level by level",
                                    "Depth-first search follows one path to its end first"])]
    write_pdf(Path(path), pages, Path(tmp))


@pytest.fixture(scope="module")
def build_pdf_index(tmp_path_factory, models):
    from lecturefind.ingest.pipeline import Ingestor

    tmp = tmp_path_factory.mktemp("pdfbuilds")
    os.makedirs(tmp / "course")
    pdf = str(tmp / "course" / "sorting_handout.pdf")
    write_build_pdf(pdf, str(tmp))
    idx = str(tmp / "idx")
    ing = Ingestor(idx, models=models, log=lambda line: None)
    rep = ing.ingest([pdf], course="algorithms")
    ing.close()
    assert not rep.errors and rep.ingested == 1, rep.errors
    return idx


@pytest.mark.parametrize("item", [0, 1, 2, 3])
def test_a_pdf_build_is_one_hit_on_the_page_that_adds_the_item(build_pdf_index, models, item):
    """The five pages of one build slide are one hit, on the page where the asked item first shows; the pages
    after it, which list it too, are not hits of their own."""
    from lecturefind.rank.searcher import Searcher

    s = Searcher(build_pdf_index, models=models)
    try:
        got = s.search_text(BULLETS[item], k=5)
    finally:
        s.close()
    pages = [m.page for m in got]
    assert pages[0] == 2 + item, (BULLETS[item], pages)
    assert not set(pages[1:]) & set(range(2, 2 + len(BULLETS))), (BULLETS[item], pages)
