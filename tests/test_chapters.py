"""Chapters from slides (builds and returning slides merged, flashes and untitled slides folded in), and from topic
shifts in the transcript of a recording without slide titles."""
from __future__ import annotations

import json
import os

import pytest

from lecturefind.segment.chapters import UNTITLED, chapters, lecture_chapters, topic_chapters
from lecturefind.words import fold, tokens


def slide(i, start, end, text):
    return {"id": i, "start_s": start, "end_s": end, "text": text}


def test_builds_returning_slides_and_flashes_are_one_chapter():
    slides = [slide(1, 2.0, 10.0, "Sorting algorithms\n• Bubble sort"),
              slide(2, 10.0, 20.0, "Sorting algorithms\n• Bubble sort\n• Merge sort"),     # a build
              slide(3, 20.0, 21.0, "Flash of a demo window"),                               # 1 s: no chapter
              slide(4, 21.0, 40.0, "Heaps and priority queues\n• insert • pop"),
              slide(5, 40.0, 55.0, "12"),                                                   # no readable title
              slide(6, 55.0, 70.0, "SORTING  Algorithms\n• recap")]                          # same title again
    got = [(c.start, c.end, c.title, c.slide_id) for c in chapters(slides, 80.0)]
    assert got == [(0.0, 21.0, "Sorting algorithms", 1), (21.0, 55.0, "Heaps and priority queues", 4),
                   (55.0, 80.0, "SORTING Algorithms", 6)]


def test_no_slides_no_chapters():
    assert chapters([], 600.0) == []


# -- recordings without slide titles: topic shifts in the transcript --------------------------------------------
def _two_topic_transcript(sample_index):
    """The sample course's two lectures' transcripts (real ASR, real e5 vectors) as one 4.8-minute recording."""
    from helpers import LECTURE1, LECTURE2

    from lecturefind.index.catalog import Catalog

    cat = Catalog(sample_index, readonly=True)
    try:
        lec = {os.path.basename(r["path"]): r for r in cat.lectures()}
        first, second = (lec[os.path.basename(p)] for p in (LECTURE1, LECTURE2))
        a, b = cat.sentence_vectors(first["id"]), cat.sentence_vectors(second["id"])
    finally:
        cat.close()
    join = float(first["duration"])
    rows = a + [{**s, "start_s": s["start_s"] + join, "end_s": s["end_s"] + join} for s in b]
    return rows, join, join + float(second["duration"])


def test_topic_shift_chapters_of_a_recording_without_slides(sample_index):
    rows, join, duration = _two_topic_transcript(sample_index)
    got = topic_chapters(rows, duration)
    assert len(got) == 2, [(c.start, c.title) for c in got]
    assert got[0].start == 0.0 and got[-1].end == duration and abs(got[1].start - join) <= 5.0, got
    for chap in got:                       # titled by words spoken in that chapter
        spoken = {t for r in rows if chap.start <= r["start_s"] < chap.end for t in tokens(r["text"])}
        assert chap.title and all(fold(w) in spoken for w in chap.title.replace(" · ", " ").split()), chap


def test_untitled_slides_fall_back_to_topic_chapters(sample_index):
    rows, _, duration = _two_topic_transcript(sample_index)

    class Untitled:                         # a talking-head video: scene changes, no slide text
        def slides(self, _):
            return [slide(1, 0.0, 100.0, ""), slide(2, 100.0, duration, "")]

        def sentence_vectors(self, _):
            return rows

    lec = {"id": 1, "kind": "video", "duration": duration}
    assert chapters(Untitled().slides(1), duration)[0].title == UNTITLED
    assert len(lecture_chapters(Untitled(), lec)) == 2
    assert lecture_chapters(Untitled(), {**lec, "kind": "pdf"}) == []


def test_short_or_single_topic_recordings_get_no_topic_chapters(sample_index):
    rows, join, _ = _two_topic_transcript(sample_index)
    assert topic_chapters(rows[:5], 300.0) == []
    assert topic_chapters([r for r in rows if r["start_s"] < join], join) == []     # one lecture, one topic


@pytest.mark.slow
def test_an_audio_lecture_gets_chapters_from_its_transcript(index_copy, tmp_path):
    from helpers import LECTURE1, LECTURE2, ffmpeg, run_cli

    audio = str(tmp_path / "two_topics.m4a")
    ffmpeg("-i", LECTURE1, "-i", LECTURE2, "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1[a]", "-map", "[a]",
           "-c:a", "aac", "-b:a", "64k", audio)
    proc = run_cli("ingest", audio, "--course", "sample-course", "--index", index_copy, "-q", timeout=600)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("status", "--chapters", "--json", "--index", index_copy)
    lec = next(lec for lec in json.loads(proc.stdout)["lectures"] if lec["path"] == audio)
    assert len(lec["chapters"]) >= 2, lec["chapters"]
    join = next(c["start_s"] for c in lec["chapters"][1:] if abs(c["start_s"] - 146) <= 8)
    assert join and all(c["title"] and c["title"] != UNTITLED for c in lec["chapters"])


# -- the slide's title from its OCR layout (rows: y0, x0, text, box height; measured on real devset keyframes) ---
def test_title_is_the_first_row_unless_a_row_below_is_clearly_larger():
    from lecturefind.signals.ocr import _title

    build = [(48, 195, "Font attributes and classifications", 26), (103, 213, "• fonts may be described by", 25),
             (135, 228, "- family", 32), (136, 383, "typeface name", 31), (164, 226, "- series", 34),
             (168, 384, "combination of weight and width", 23), (196, 228, "- weight", 32),
             (286, 257, "generate ETEX font definition files (*. fd)", 32), (652, 195, "EuroTEX '99", 22)]
    assert _title(build, 720, 1280) == "Font attributes and classifications"     # bullet boxes inflated by glyphs
    header = [(20, 100, "EE 101 · Lecture 4", 18), (60, 100, "Bus arbitration", 46), (150, 100, "Why rules", 28),
              (200, 100, "Who drives the bus", 28), (250, 100, "Fairness", 28)]
    assert _title(header, 720, 1280) == "Bus arbitration"                          # a small header passed over
    wrapped = [(200, 300, "Being Productive", 60), (270, 310, "With Emacs", 60), (420, 300, "Phil Sung", 30),
               (470, 300, "sipb-iap-emacs@mit.edu", 28), (520, 300, "Special thanks to Piaw Na", 28)]
    assert _title(wrapped, 720, 1280) == "Being Productive With Emacs"             # a title over two rows
    short = [(40, 100, "Files in debian/", 40), (100, 100, "All the packaging work is made by modifying files", 38),
             (160, 120, "▶ control", 28), (200, 120, "▶ rules", 28), (240, 120, "▶ changelog", 28)]
    assert _title(short, 720, 1280) == "Files in debian/"                          # the body line is not a second row
