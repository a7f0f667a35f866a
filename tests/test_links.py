"""PDF page ↔ video links survive a crash between a file's commit and the link rebuild."""
from __future__ import annotations

import os

import pytest
from conftest import SAMPLE
from helpers import GT, SAMPLE_FILES, gt_links

from lecturefind.index.catalog import Catalog
from lecturefind.ingest.pipeline import Ingestor

pytestmark = pytest.mark.models


def _links(index_dir: str) -> set[tuple[int, str, int]]:
    """{(handout page, video file, video slide index)}."""
    cat = Catalog(index_dir)
    rows = cat.q("SELECT p.page, f.path, v.idx FROM links k JOIN slides p ON p.id = k.page_slide_id "
                 "JOIN slides v ON v.id = k.video_slide_id JOIN lectures vl ON vl.id = v.lecture_id "
                 "JOIN files f ON f.id = vl.file_id")
    cat.close()
    return {(r["page"], os.path.basename(r["path"]), r["idx"]) for r in rows}


def test_links_are_rebuilt_after_a_crash_before_the_link_step(index_copy, models):
    before = _links(index_copy)
    assert before == {(page, video, index) for page, (video, index) in gt_links().items()}
    # what a SIGKILL right after the last file's commit leaves: files committed, links stale, marker set
    cat = Catalog(index_copy)
    with cat.transaction() as c:
        c.execute("DELETE FROM links")
        for (course_id,) in cat.q("SELECT id FROM courses"):
            cat.mark_links_dirty(course_id)
    cat.close()
    assert _links(index_copy) == set()
    ing = Ingestor(index_copy, models=models, log=lambda line: None)
    rep = ing.ingest([SAMPLE], course=GT["course"])
    ing.close()
    assert rep.ingested == 0 and rep.unchanged == len(SAMPLE_FILES)      # nothing re-ingested ...
    assert _links(index_copy) == before                 # ... and the links are back, exactly
    assert Catalog(index_copy).dirty_link_courses() == set()
