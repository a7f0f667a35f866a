"""Chapters from slides: builds and returning slides merged, flashes and untitled slides folded in."""
from __future__ import annotations

from lecturefind.segment.chapters import chapters


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
