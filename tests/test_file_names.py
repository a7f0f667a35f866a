"""File names and folders that would garble or hide a line: escaped, named once, one plain reason each."""
from __future__ import annotations

import os

from lecturefind.errors import printable
from lecturefind.index.catalog import Catalog
from lecturefind.ingest.pipeline import Ingestor, discover


def test_printable_escapes_what_a_terminal_would_act_on():
    assert printable("week 1/intro.mp4") == "week 1/intro.mp4"
    assert printable("a\nb\x1b]0;owned\x07\u202ec.mp4") == "a\\nb\\x1b]0;owned\\x07\\u202ec.mp4"


def test_a_path_named_twice_is_ingested_once(tmp_path):
    f = tmp_path / "lecture.mp4"
    f.write_bytes(b"")
    found = discover([str(f), str(tmp_path), str(f)])
    assert [p for p, _ in found] == [str(f)]


def test_bad_names_loops_and_empty_files_get_one_plain_line_each(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    odd = course / "bad\nname\x1b]0;pwned\x07.mp4"
    odd.write_bytes(b"")
    os.symlink("loop.mp4", course / "loop.mp4")           # a link to itself
    lines: list[str] = []
    ing = Ingestor(str(tmp_path / "idx"), log=lines.append)
    rep = ing.ingest([str(course)])
    ing.close()
    assert rep.files == 2 and rep.ingested == 0 and len(lines) == 2, lines
    for line in lines:
        assert "\n" not in line and "\x1b" not in line and "\x07" not in line and line.startswith("error: "), line
    assert any(line.endswith("empty file (0 bytes)") and "bad\\nname\\x1b" in line for line in lines), lines
    assert any("loop.mp4: cannot open (too many levels of symbolic links)" in line for line in lines), lines


def test_a_name_that_is_not_utf8_gets_a_plain_reason(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    name = os.fsdecode(b"handout_\xe9\xff.pdf")           # Latin-1 bytes: surrogate escapes in Python
    with open(os.path.join(str(course), name), "wb") as f:
        f.write(b"%PDF-1.4 not empty")
    lines: list[str] = []
    ing = Ingestor(str(tmp_path / "idx"), log=lines.append)
    rep = ing.ingest([str(course)])
    ing.close()
    assert rep.ingested == 0 and len(lines) == 1, lines
    assert "handout_\\udce9\\udcff.pdf: its name is not valid UTF-8" in lines[0] and "unexpected" not in lines[0]
    cat = Catalog(str(tmp_path / "idx"), readonly=True)
    try:
        failed = [(r["path"], r["error"]) for r in cat.q("SELECT path, error FROM files WHERE state = 'failed'")]
    finally:
        cat.close()
    assert failed == [(printable(os.path.join(str(course), name)), lines[0].split(".pdf: ", 1)[1])], failed


def test_status_prints_titles_escaped(tmp_path, monkeypatch):
    """A lecture titled by a hostile file name reaches the terminal as escapes (the web escapes it as HTML)."""
    from click.testing import CliRunner

    from lecturefind import cli
    from lecturefind.index.catalog import Catalog, LectureContent
    from lecturefind.records import Segment

    idx = str(tmp_path / "idx")
    cat = Catalog(idx)
    title = "ok\n\x1b]0;pwned\x07\u202eslides"
    content = LectureContent(kind="pdf", title=title, pages=1, segments=[Segment(0.0, 0.0, slide_text="arbiter")],
                             segment_vecs=[None])
    cat.replace_lecture(str(tmp_path / "x.pdf"), 1, 1, "d" * 64, "Hostile\x1b[31m", content, {})
    cat.close()
    out = CliRunner().invoke(cli.main, ["status", "--index", idx])
    assert out.exit_code == 0, out.output
    assert "ok\\n\\x1b]0;pwned\\x07\\u202eslides" in out.output and "Hostile\\x1b[31m" in out.output
    assert "\x1b" not in out.output and "\x07" not in out.output and "\u202e" not in out.output
