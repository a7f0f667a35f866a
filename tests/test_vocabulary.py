"""One home per idea: formats, links, time values, word matching and the catalog agree wherever they are used.

Fast: no models, no sample course (small real files made here; a real SQLite catalog in a temp dir).
"""
from __future__ import annotations

import io
import re
import wave

import numpy as np
import pytest
from PIL import Image

from lecturefind import formats
from lecturefind.errors import QueryError
from lecturefind.formats import Limits
from lecturefind.index.catalog import Catalog, LectureContent
from lecturefind.rank.query import load_image
from lecturefind.records import Segment, Sentence, Slide, Word
from lecturefind.timecode import Timecode, clock
from lecturefind.urls import Urls
from lecturefind.words import coverage, stems


def _image_bytes(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    im = Image.fromarray(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    buf = io.BytesIO()
    im.save(buf, format=fmt)
    return buf.getvalue()


def _wav_bytes() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * 1600)
    return buf.getvalue()


@pytest.mark.parametrize("pil, name", [("PNG", "PNG"), ("JPEG", "JPEG"), ("WEBP", "WebP")])
def test_a_sniffed_upload_image_is_a_query_image(tmp_path, pil, name):
    """What the web upload check accepts (magic bytes) is what the query loader accepts, and vice versa."""
    data = _image_bytes(pil)
    fmt = formats.sniff(data[:32], "image")
    assert fmt is not None and fmt.name == name
    path = tmp_path / f"photo{fmt.ext}"
    path.write_bytes(data)
    img = load_image(str(path))
    assert img.format is fmt and img.pixels.shape == (64, 96, 3) and img.data == data


@pytest.mark.parametrize("pil", ["GIF", "BMP"])
def test_formats_refused_everywhere(tmp_path, pil):
    """GIF/BMP: refused by the upload sniffer and by the query loader alike (no format passes one and fails later)."""
    data = _image_bytes(pil)
    assert formats.sniff(data[:32], "image") is None
    path = tmp_path / f"photo.{pil.lower()}"
    path.write_bytes(data)
    with pytest.raises(QueryError, match="unsupported image format"):
        load_image(str(path))


def test_audio_sniff_matches_query_roles():
    assert formats.sniff(_wav_bytes()[:32], "audio").name == "WAV"
    assert formats.sniff(b"OggS" + b"\0" * 28, "audio").name == "OGG"
    assert formats.sniff(b"%PDF-1.7" + b"\0" * 24, "audio") is None
    for f in formats.FORMATS:
        if f.kind == "audio" and f.query:
            assert f.ext in (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".weba")


def test_ingest_kinds_and_messages_come_from_the_table():
    assert formats.media_kind("/x/Lecture.MP4") == "video"
    assert formats.media_kind("a.flac") == "audio" and formats.media_kind("a.pdf") == "pdf"
    assert formats.media_kind("photo.png") is None and formats.media_kind("rec.ogg") is None
    assert formats.mime("x.webm") == "video/webm" and formats.mime("x.unknown") == "application/octet-stream"
    exts = formats.ingest_exts()
    for f in formats.FORMATS:
        for e in f.exts if f.ingest and f.kind != "pdf" else ():
            assert e[1:] in exts


def test_web_upload_limits_are_the_query_limits(monkeypatch):
    from lecturefind.web.config import config_from_env

    monkeypatch.setenv("LECTUREFIND_MAX_IMAGE_MB", "3")
    cfg = config_from_env()
    assert cfg["MAX_IMAGE_BYTES"] == Limits.from_env().image_bytes == 3 * 1024 * 1024


def test_gemini_gets_png_or_jpeg_only(tmp_path):
    from lecturefind.gemini.limits import MIME_TYPES
    from lecturefind.gemini.retriever import image_media

    for pil in ("PNG", "JPEG", "WEBP"):
        path = tmp_path / f"p.{pil.lower()}"
        path.write_bytes(_image_bytes(pil))
        m = image_media(load_image(str(path)))
        assert m.mime in MIME_TYPES["image"]
        if pil == "WEBP":        # re-encoded from the decoded pixels
            assert m.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_timecode_renderings():
    assert [clock(s) for s in (0, 47.9, 605, 3723.5)] == ["0:00", "0:47", "10:05", "1:02:03"]
    assert Timecode(3723.5).vtt() == "01:02:03.500" and Timecode(-3).seconds == 0.0
    assert clock(None) == ""


def test_urls_plain_and_embed():
    assert Urls().watch(3, 47.9) == "/watch/3?t=47"
    assert Urls().pdf(5, 2, q="eigen value") == "/pdf/5?page=2&q=eigen+value"
    assert Urls(embed=True).moment("video", 3, 12.0) == "/embed/watch/3?t=12"
    assert Urls(embed=True).moment("pdf", 5, None, 4) == "/embed/pdf/5?page=4"
    assert Urls(embed=True).thumb(9) == "/thumb/9.jpg" and Urls().lecture_home(3, "video") == "/lectures/3"


@pytest.mark.parametrize("query, text", [
    ("where did we derive the eigenvalue condition?", "Deriving the eigenvalue conditions, step by step"),
    ("bus starter", "the bus starts: a start bit"),
    ("eigenvectors of a diagonal matrix", "eigenvector eigen values diagonalization"),
])
def test_highlighted_words_are_the_words_that_counted(query, text):
    """Each marked word alone covers a query word; each unmarked word covers none (one matching rule)."""
    from markupsafe import Markup

    from lecturefind.web.helpers import highlight

    html = str(highlight(text, query))
    marked = {w.lower() for w in re.findall(r"<mark>(.*?)</mark>", html)}
    qs = stems(query)
    for word in re.findall(r"[^\W_]+", text):
        counts = coverage(qs, word) > 0
        assert counts == (word.lower() in marked), (word, html)
    assert isinstance(highlight(text, query), Markup)


def _content(n_segments: int) -> LectureContent:
    segs = [Segment(start=20.0 * i, end=20.0 * i + 30.0, speech=f"speech {i}", slide_text=f"slide {i}",
                    sentence_idx=[i], slide_idx=[0]) for i in range(n_segments)]
    sents = [Sentence(20.0 * i, 20.0 * i + 5.0, f"speech {i}", [Word(20.0 * i, 20.0 * i + 1.0, "speech")])
             for i in range(n_segments)]
    vecs = [np.ones(4, np.float32) / 2.0 for _ in segs]
    return LectureContent(kind="video", title="t", duration=20.0 * n_segments + 10.0, has_audio=True,
                          segments=segs, segment_vecs=vecs, sentences=sents,
                          sentence_vecs=np.ones((n_segments, 4), np.float32) / 2.0,
                          slides=[Slide(0, 0.0, 20.0 * n_segments + 10.0, 1.0, text="slide")],
                          slide_vecs=np.ones((1, 4), np.float32) / 2.0)


def test_replacing_a_lecture_removes_its_gemini_rows_in_the_same_transaction(tmp_path):
    cat = Catalog(str(tmp_path / "idx"))
    first = cat.replace_lecture("/c/l.mp4", 1, 1, "a" * 64, "C", _content(3), {"asr": "x"})
    assert len(first.added) == 3 and not first.removed
    cat.put_gemini_vectors([(sid, "m", 4, f"k{sid}", np.ones(4, np.float32)) for sid in first.added])
    ids, vecs, model = cat.gemini_vectors()
    assert sorted(ids.tolist()) == sorted(first.added) and model == "m" and vecs.shape == (3, 4)
    gen = cat.gemini_generation()

    second = cat.replace_lecture("/c/l.mp4", 2, 2, "b" * 64, "C", _content(2), {"asr": "x"})
    assert sorted(second.removed) == sorted(first.added) and second.lecture_id == first.lecture_id
    assert not set(second.added) & set(first.added)                      # segment ids are never reused
    assert cat.gemini_vectors()[0].size == 0                              # no stale Gemini row survives
    assert cat.gemini_generation() > gen                                  # readers rebuild their Gemini index
    assert cat.segment_count() == 2 and cat.gemini_done(list(second.added), "m", 4) == set()
    assert [len(w) for w in cat.words(second.lecture_id).values()] == [1, 1]
    cat.close()


def test_old_gemini_table_is_migrated(tmp_path):
    """An index from before the foreign key: rows of live segments kept, orphans dropped, signature column gone."""
    idx = str(tmp_path / "idx")
    cat = Catalog(idx)
    done = cat.replace_lecture("/c/l.mp4", 1, 1, "a" * 64, "C", _content(2), {})
    live = sorted(done.added)[0]
    cat.conn.executescript(
        "DROP TABLE gemini_segments; CREATE TABLE gemini_segments(segment_id INTEGER PRIMARY KEY, sig TEXT NOT NULL, "
        "model TEXT NOT NULL, dims INTEGER NOT NULL, content_key TEXT NOT NULL, vec BLOB NOT NULL);")
    blob = np.ones(4, np.float32).tobytes()
    cat.conn.executemany("INSERT INTO gemini_segments VALUES(?,?,?,?,?,?)",
                         [(live, "s", "m", 4, "k", blob), (99999, "s", "m", 4, "k", blob)])
    cat.close()
    cat = Catalog(idx)
    cols = {r[1] for r in cat.conn.execute("PRAGMA table_info(gemini_segments)")}
    assert "sig" not in cols and cat.gemini_vectors()[0].tolist() == [live]
    cat.close()


def test_course_terms_glossary_first_then_frequent_printed_words():
    from lecturefind.signals.vocabulary import course_terms, decoder_prompt

    texts = ["Bus arbitration: the Arbiter grants the bus", "Round-robin arbitration; the arbiter and the bus",
             "The daisy chain grants the bus to the nearest master"]
    terms = course_terms(texts, glossary=["Unibus", "DMA"], n=5)
    assert terms[:2] == ["Unibus", "DMA"] and len(terms) == 5
    assert "arbitration" in terms and "grants" in terms and "the" not in [t.lower() for t in terms]
    assert decoder_prompt(terms).startswith("Unibus, DMA, ") and decoder_prompt([]) is None


def test_glossary_file(tmp_path):
    from lecturefind.signals.vocabulary import read_glossary

    p = tmp_path / "terms.txt"
    p.write_text("# names\nHilbert\n\n  eigenvector \nUnibus\n", encoding="utf-8")
    assert read_glossary(str(p)) == ["Hilbert", "eigenvector", "Unibus"]


def test_time_range_look_ups_find_every_overlapping_sentence_and_slide_however_long(tmp_path):
    """`sentences_between`/`slides_between` scan only rows that start within the longest span stored before the
    range; a very long sentence or slide, an older index without that record, and the record's upkeep."""
    rng = np.random.default_rng(3)
    starts = np.sort(rng.uniform(0, 3000, 300))
    lengths = rng.choice([0.5, 3.0, 8.0, 29.0], 300)
    lengths[[7, 150]] = [400.0, 1200.0]               # a monologue without a pause; a slide left up 20 minutes
    sents = [Sentence(float(a), float(a + n), f"s{i}", []) for i, (a, n) in enumerate(zip(starts, lengths))]
    slides = [Slide(i, float(a), float(a + 4 * n), float(a), text=f"slide {i}")
              for i, (a, n) in enumerate(zip(starts[::10], lengths[::10]))]
    content = LectureContent(kind="video", title="t", duration=5000.0, has_audio=True,
                             segments=[Segment(start=0.0, end=30.0, speech="s")], segment_vecs=[None],
                             sentences=sents, slides=slides)
    cat = Catalog(str(tmp_path / "idx"))
    lid = cat.replace_lecture("/c/long.mp4", 1, 1, "b" * 64, "C", content, {}).lecture_id

    def brute(rows, lo, hi):
        return sorted(r.start for r in rows if r.start < hi and r.end > lo)

    def check(c):
        for lo in list(range(0, 3200, 37)) + [float(starts[7]) + 399.0, float(starts[150]) + 1100.0]:
            hi = lo + 30.0
            assert [r["start_s"] for r in c.sentences_between(lid, lo, hi)] == brute(sents, lo, hi), lo
            assert [r["start_s"] for r in c.slides_between(lid, lo, hi)] == brute(slides, lo, hi), lo

    check(cat)
    assert float(cat.one("SELECT value FROM meta WHERE key='longest:sentences'")[0]) == 1200.0
    cat.conn.execute("DELETE FROM meta WHERE key LIKE 'longest:%'")          # as an older version left it
    cat.conn.commit()
    cat.close()
    reader = Catalog(str(tmp_path / "idx"), readonly=True)                   # no record: no bound, all found
    check(reader)
    reader.close()
    cat = Catalog(str(tmp_path / "idx"))                                     # a writer records it once
    assert float(cat.one("SELECT value FROM meta WHERE key='longest:slides'")[0]) == pytest.approx(4 * 1200.0)
    check(cat)
    cat.close()
