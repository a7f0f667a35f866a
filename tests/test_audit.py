"""`lecturefind audit`: objectives read from text, Markdown, CSV and syllabus PDFs; verdicts on the sample course;
what is taught twice; the reports (table, JSON, CSV, HTML); bad input refused in one line with nothing written."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil

import pytest
from helpers import HANDOUT, LECTURE1, VIDEOS, run_cli

from lecturefind.audit.coverage import Thresholds, union_seconds
from lecturefind.audit.objectives import MAX_OBJECTIVES, ObjectivesError, as_question, read_objectives
from lecturefind.audit.report import page_ranges
from lecturefind.records import Span

EIGEN, BUS = (os.path.basename(f) for f in VIDEOS)

SYLLABUS = """# Engineering Foundations: learning objectives

## Linear algebra
- Derive the condition det(A − λI) = 0 that eigenvalues satisfy
- Find the characteristic polynomial of a small matrix and read its roots
1. Explain why eigenvalues matter for dynamical systems and vibration

## Computer organisation
* Describe how several masters share one bus and who may drive it
* Compare fixed-priority and round-robin arbitration
- Explain photosynthesis and the Calvin cycle in plant chloroplasts
"""
COVERED = {"Derive the condition det(A − λI) = 0 that eigenvalues satisfy": EIGEN,
           "Find the characteristic polynomial of a small matrix and read its roots": EIGEN,
           "Explain why eigenvalues matter for dynamical systems and vibration": EIGEN,
           "Describe how several masters share one bus and who may drive it": BUS,
           "Compare fixed-priority and round-robin arbitration": BUS}
MISSING = "Explain photosynthesis and the Calvin cycle in plant chloroplasts"


def _write(path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _text_pdf(path, lines: list[str]) -> str:
    """A one-page PDF whose text layer holds `lines` (Helvetica), as a word processor exports a syllabus."""
    ops = ["BT /F1 11 Tf 72 760 Td 14 TL"]
    for line in lines:
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({safe}) Tj T*")
    ops.append("ET")
    content = "\n".join(ops).encode("latin-1")
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    path.write_bytes(bytes(out))
    return str(path)


# -- reading objectives (no models) ---------------------------------------------------------------
def test_markdown_bullets_and_headings(tmp_path):
    got = read_objectives(_write(tmp_path / "o.md", SYLLABUS))
    assert [o.text for o in got] == list(COVERED)[:3] + list(COVERED)[3:] + [MISSING]
    assert {o.group for o in got} == {"Linear algebra", "Computer organisation"}
    assert got[0].line == 4


def test_plain_lines_markdown_markup_and_duplicates(tmp_path):
    text = ("Derive the **eigenvalue** condition\n\n[Round-robin](http://x/y) arbitration\n"
            "derive the eigenvalue  condition\n")
    got = read_objectives(_write(tmp_path / "o.txt", text))
    assert [o.text for o in got] == ["Derive the eigenvalue condition", "Round-robin arbitration"]


def test_bullets_with_prose_between(tmp_path):
    text = ("Week 1\n- Eigenvalues of a matrix\nThis week is short, so we also revise last term's material.\n"
            "Week 2:\n- Bus arbitration\n")
    got = read_objectives(_write(tmp_path / "o.md", text))
    assert [(o.group, o.text) for o in got] == [("Week 1", "Eigenvalues of a matrix"), ("Week 2", "Bus arbitration")]


def test_csv_objective_column(tmp_path):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["Module", "Objective", "Notes"])
    w.writerow(["LA", "Derive the eigenvalue condition", "x"])
    w.writerow(["Arch", "Compare arbitration schemes, fixed and rotating", ""])
    w.writerow(["Arch", "", "blank rows are skipped"])
    got = read_objectives(_write(tmp_path / "o.csv", buf.getvalue()))
    assert [(o.group, o.text) for o in got] == [("LA", "Derive the eigenvalue condition"),
                                               ("Arch", "Compare arbitration schemes, fixed and rotating")]
    with pytest.raises(ObjectivesError, match="'objective' column"):
        read_objectives(_write(tmp_path / "bad.csv", "title,notes\na,b\n"))


def test_syllabus_pdf_bullet_lines(tmp_path):
    pdf = _text_pdf(tmp_path / "syllabus.pdf", [
        "EE101 Syllabus", "Course policies apply to all sections of this course.", "Learning outcomes",
        "1. Derive the eigenvalue condition", "2. Compare bus arbitration schemes", "Grading",
        "- Final exam covers every unit"])
    got = read_objectives(pdf)
    assert [(o.group, o.text) for o in got] == [("Learning outcomes", "Derive the eigenvalue condition"),
                                               ("Learning outcomes", "Compare bus arbitration schemes"),
                                               ("Grading", "Final exam covers every unit")]


@pytest.mark.parametrize("case, reason", [
    ("empty", "empty file"), ("blank", "no objectives found"), ("binary", "binary file"),
    ("too_many", f"2000 objectives; at most {MAX_OBJECTIVES}"), ("encrypted", "encrypted PDF"),
    ("folder", "a folder"), ("missing", "no such file"), ("image_pdf", "no text layer")])
def test_bad_objective_files(tmp_path, case, reason):
    path = tmp_path / f"{case}.md"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "blank":
        path.write_text("\n   \n# Only a heading\n")
    elif case == "binary":
        path.write_bytes(bytes(range(256)) * 8)
    elif case == "too_many":
        path.write_text("".join(f"- Objective number {i} about topic {i}\n" for i in range(2000)))
    elif case == "encrypted":
        from pypdf import PdfReader, PdfWriter

        w = PdfWriter()
        w.add_page(PdfReader(HANDOUT).pages[0])
        w.encrypt(user_password="pw", owner_password="owner", algorithm="AES-128")
        path = tmp_path / "syllabus.pdf"
        with open(path, "wb") as f:
            w.write(f)
    elif case == "folder":
        path = tmp_path / "dir"
        path.mkdir()
    elif case == "image_pdf":
        path = _text_pdf(tmp_path / "scan.pdf", [])
    with pytest.raises(Exception, match=reason) as e:
        read_objectives(str(path))
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_question_drops_framing_and_action_verbs():
    assert as_question("By the end of this course, students will be able to explain how a bus is shared") == \
        "how a bus is shared"
    assert as_question("Compute the characteristic polynomial") == "the characteristic polynomial"
    assert as_question("Define and compute eigenvalues") == "eigenvalues"
    assert as_question("Round-robin arbitration") == "Round-robin arbitration"
    assert as_question("Explain") == "Explain"


def test_time_union_pages_and_thresholds():
    assert union_seconds([Span(0, 10), Span(5, 20), Span(30, 40)]) == 30
    assert union_seconds([]) == 0
    assert page_ranges([9, 1, 2, 3, 7, 10]) == "1–3, 7, 9–10"
    assert Thresholds(0.7, 0.5).verdict(0.69) == "thin"
    assert Thresholds(0.7, 0.5).verdict(0.49) == "missing"
    with pytest.raises(Exception, match="thin"):
        Thresholds(0.4, 0.6)


# -- the audit of the sample course ------------------------------------------------------------------
@pytest.fixture(scope="module")
def audit_json(sample_index, tmp_path_factory):
    d = tmp_path_factory.mktemp("audit")
    objectives = _write(d / "objectives.md", SYLLABUS)
    proc = run_cli("audit", objectives, "--index", sample_index, "--format", "json", "-q")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_verdicts_and_where_taught(audit_json):
    by_text = {o["objective"]: o for o in audit_json["objectives"]}
    t = audit_json["thresholds"]
    for text, lecture in COVERED.items():
        o = by_text[text]
        assert o["verdict"] == "covered", (text, o["strength"], t)
        # the best recording that teaches it is the right lecture, with a jump link and time spent
        recorded = [s for s in o["lectures"] if s["kind"] == "video"]
        assert os.path.basename(recorded[0]["file"]) == lecture, (text, recorded)
        assert recorded[0]["url"].startswith(f"/watch/{recorded[0]['lecture_id']}?t=")
        assert o["seconds"] > 0 and o["moments"] and o["moments"][0]["evidence"]
    missing = by_text[MISSING]
    assert missing["verdict"] == "missing" and not missing["lectures"] and missing["seconds"] == 0
    assert missing["closest"] is not None           # the nearest thing is still named, as such
    assert audit_json["counts"] == {"covered": 5, "thin": 0, "missing": 1}


def test_each_lecture_lists_the_objectives_it_teaches(audit_json):
    texts = [o["objective"] for o in audit_json["objectives"]]
    per = {os.path.basename(c["file"]): {texts[i] for i in c["objectives"]} for c in audit_json["lectures"]}
    assert {t for t, lec in COVERED.items() if lec == EIGEN} <= per[EIGEN]
    assert {t for t, lec in COVERED.items() if lec == BUS} <= per[BUS]
    assert MISSING not in per[EIGEN] | per[BUS]


def test_table_csv_and_html_reports(sample_index, tmp_path):
    objectives = _write(tmp_path / "objectives.md", SYLLABUS)
    proc = run_cli("audit", objectives, "--index", sample_index, "-q")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100        # readable in a 100-column terminal (the test has no tty)
    assert any(line.startswith("missing") and "photosynthesis" in line for line in lines)
    assert "5 covered, 0 thin, 1 missing" in lines[0]

    out_csv = str(tmp_path / "audit.csv")
    proc = run_cli("audit", objectives, "--index", sample_index, "--format", "csv", "--out", out_csv, "-q",
                   "--base-url", "https://lectures.example.edu/")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(open(out_csv, encoding="utf-8")))
    assert [r["objective"] for r in rows] == list(COVERED) + [MISSING]
    assert rows[0]["best_url"].startswith("https://lectures.example.edu/")

    out_html = str(tmp_path / "audit.html")
    proc = run_cli("audit", objectives, "--index", sample_index, "--format", "html", "--out", out_html, "-q")
    assert proc.returncode == 0, proc.stderr
    html = open(out_html, encoding="utf-8").read()
    assert 'id="coverage-matrix"' in html and "<style>" in html and "<script" not in html
    assert html.count('class="cell covered"') >= 5 and "/watch/" in html


def test_bad_audit_invocations_write_nothing(sample_index, tmp_path):
    objectives = _write(tmp_path / "objectives.md", SYLLABUS)
    out = tmp_path / "report.html"
    for args, reason in [
        (["--course", "No Such Course"], "no course named 'No Such Course'"),
        (["--covered", "0.3", "--thin", "0.5"], "thresholds"),
    ]:
        proc = run_cli("audit", objectives, "--index", sample_index, "--out", str(out), "-q", *args)
        assert proc.returncode != 0 and reason in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert not out.exists() and not [p for p in os.listdir(tmp_path) if p.startswith(".lecturefind-")]
    empty = tmp_path / "empty.md"
    empty.write_text("")
    proc = run_cli("audit", str(empty), "--index", sample_index, "--out", str(out))
    assert proc.returncode != 0 and "empty file" in proc.stderr and not out.exists()


@pytest.mark.slow
def test_a_lecture_shown_twice_is_reported(index_copy, tmp_path):
    """The same lecture recorded again under another name: its slides are near-same slides in two lectures."""
    again = str(tmp_path / "lecture01_again.mp4")
    shutil.copy(LECTURE1, again)
    proc = run_cli("ingest", again, "--course", "sample-course", "--index", index_copy, "-q", timeout=600)
    assert proc.returncode == 0, proc.stderr
    objectives = _write(tmp_path / "objectives.md", SYLLABUS)
    proc = run_cli("audit", objectives, "--index", index_copy, "--format", "json", "-q")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    twice = [d for d in report["duplicates"] if d["kind"] == "slide"]
    assert twice, report["duplicates"]
    for d in twice:
        assert {os.path.basename(p["url"]).split("?")[0] for p in d["places"]} and len(d["places"]) == 2
    assert any("eigenvalue" in d["label"].lower() for d in twice)
    by_text = {o["objective"]: o for o in report["objectives"]}
    assert by_text["Derive the condition det(A − λI) = 0 that eigenvalues satisfy"]["repeated"]
    assert not by_text["Compare fixed-priority and round-robin arbitration"]["repeated"]


# -- the /audit page ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def audit_client(sample_index, models):
    from web_helpers import make_app

    return make_app(sample_index, models, AUDIT=True, AUDIT_MAX_OBJECTIVES=20).test_client()


def test_audit_page_is_off_unless_enabled(sample_index, models):
    from web_helpers import make_app

    client = make_app(sample_index, models).test_client()
    assert client.get("/audit").status_code == 404
    assert client.post("/audit", data={"objectives": "Eigenvalues"}).status_code == 404
    assert 'href="/audit"' not in client.get("/").get_data(as_text=True)


def test_audit_page_pasted_objectives_give_the_matrix(audit_client):
    page = audit_client.get("/audit").get_data(as_text=True)
    assert '<label for="objectives">' in page and 'href="/audit"' in page
    resp = audit_client.post("/audit", data={"objectives": SYLLABUS + "- <script>alert(1)</script> caching\n"})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'id="coverage-matrix"' in html and "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert html.count('class="cell covered"') >= 5
    assert re.search(r'<td class="cell covered"><a href="/watch/\d+\?t=\d+"', html)


def test_audit_page_uploaded_csv_and_bad_uploads(audit_client):
    data = {"file": (io.BytesIO(b"objective\nCompare fixed-priority and round-robin arbitration\n"), "goals.csv")}
    resp = audit_client.post("/audit", data=data, content_type="multipart/form-data")
    assert resp.status_code == 200 and 'class="tag covered">1 covered' in resp.get_data(as_text=True)
    for upload, reason in [((io.BytesIO(bytes(range(256)) * 4), "goals.md"), "binary file"),
                           ((io.BytesIO(b"".join(b"- objective %d\n" % i for i in range(25))), "goals.md"),
                            "25 objectives; at most 20"),
                           ((io.BytesIO(b""), "goals.txt"), "empty file")]:
        resp = audit_client.post("/audit", data={"file": upload}, content_type="multipart/form-data")
        body = resp.get_data(as_text=True)
        assert resp.status_code == 400 and reason in body, body[-600:]
        assert "/tmp" not in body and "lecturefind-objectives" not in body
    resp = audit_client.post("/audit", data={"objectives": "  "})
    assert resp.status_code == 400 and "Paste the learning objectives" in resp.get_data(as_text=True)


def test_an_objective_only_in_the_handout_is_marked_pdf_only(sample_index, tmp_path):
    """The handout's extra page (diagonalisation) is in no lecture: the audit says it is only in the PDFs."""
    from helpers import GT

    extra = next(q for q in GT["questions"] if q["kind"] == "pdf" and "eigenvectors" in q["text"])
    objectives = _write(tmp_path / "o.md", "- Write a matrix as P D P inverse with a basis of eigenvectors\n"
                                           "- Compare fixed-priority and round-robin arbitration\n")
    proc = run_cli("audit", objectives, "--index", sample_index, "--format", "json", "-q")
    assert proc.returncode == 0, proc.stderr
    first, second = json.loads(proc.stdout)["objectives"]
    assert first["verdict"] != "missing" and first["pdf_only"], first
    assert first["moments"][0]["kind"] == "pdf" and first["moments"][0]["page"] == extra["answer"]["page"]
    assert not second["pdf_only"]
    table = run_cli("audit", objectives, "--index", sample_index, "-q").stdout
    assert "Only in PDF pages, in no recording:" in table
