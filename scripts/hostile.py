"""Hostile-input harness: build bad files and bad HTTP requests, run the real CLI and server over them, count
what comes back.

    .venv/bin/python scripts/hostile.py [--out DIR] [--quick] [--keep]

Part 1 builds every case of CASES (bad media, bad PDFs, odd file names, loops, unreadable files) in a temp
folder, runs ONE `lecturefind ingest FOLDER -q` over the batch (a wall-clock timeout = a hang) and classifies each
file from the CLI's output and the catalog:

    indexed      state 'done' in the catalog (and it has segments)
    clean        named on exactly one `error: PATH: reason` / `warning: PATH: reason` line
    silent-skip  neither indexed nor named in the output
    skipped-root the case needs permissions that root does not have (chmod 000 is not enforced for root)

and, over the whole output: tracebacks, raw tool text (ffmpeg internals such as `@ 0x55...`, `return code -9`) and
unsafe terminal bytes (ESC, BEL, bidi overrides, other control characters, or a file name's raw newline).
Damaged index folders (random-byte / empty catalog.sqlite, a read-only index) get ingest, status and search.

Part 2 serves the batch index (`lecturefind serve`) and sends hostile requests: every `<id:...>` route of the app
(enumerated from Flask's url_map, so a new route is covered without editing this file) with bad ids, path traversal,
10k-char / NUL / invalid UTF-8 query strings, odd k, hostile uploads, a 50 MB body, HEAD / OPTIONS, XSS payloads.

A summary table is printed (and written as JSON to --out); the exit status is 1 when any traceback, 5xx, hang,
silent skip, raw tool text, unsafe byte, unescaped payload or unexpected outcome was found.

To extend it for a new feature: append a Case to CASES (a name, a builder `fn(folder) -> [paths]`, the expected
outcome) or a request to `http_requests()`.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SAMPLE = os.path.join(ROOT, "examples", "sample-course")
HANDOUT = os.path.join(SAMPLE, "handout_eigenvalues_and_arbitration.pdf")
LECTURE1 = os.path.join(SAMPLE, "lecture01_eigenvalues.mp4")
BIN = os.path.dirname(sys.executable)
CLI = os.path.join(BIN, "lecturefind")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0

RAW_TOOL = re.compile(r"@ 0x[0-9a-f]+|return code -?\d|\[(?:mov,mp4|matroska|h264|aac|mp3|wav)[^\]]*@|"
                      r"Invalid data found|moov atom not found|Conversion failed", re.I)
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    from lecturefind.errors import printable as p

    return p(text)


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> None:
    proc = subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg {' '.join(args)}: {proc.stderr[-500:]}")


def write(path, data: bytes):
    with open(path, "wb") as f:
        f.write(data)
    return path


def rand_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


# -- cases -------------------------------------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    build: Callable[[str], list]        # folder -> the paths (str or bytes) it made, [] = could not build
    expect: str = "any"                 # "error" (one clean line), "indexed", "any" (either), "root-skip"
    slow: bool = False                  # left out with --quick
    needs_non_root: bool = False        # permissions: meaningless as root
    paths: list = field(default_factory=list)
    outcome: str = ""
    detail: str = ""


def _cut_good(folder: str) -> list:
    dst = os.path.join(folder, "good_clip.mp4")
    ffmpeg("-ss", "40", "-i", LECTURE1, "-t", "10", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28",
           "-c:a", "aac", "-b:a", "48k", dst)
    return [dst]


def _truncated(folder: str) -> list:
    src = os.path.join(folder, ".tmp_full.mp4")
    ffmpeg("-ss", "10", "-i", LECTURE1, "-t", "20", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30",
           "-c:a", "aac", src)
    with open(src, "rb") as f:
        data = f.read()
    os.remove(src)
    return [write(os.path.join(folder, "truncated_half.mp4"), data[: len(data) // 2])]


def _garbage_header(folder: str) -> list:
    with open(LECTURE1, "rb") as f:
        data = bytearray(f.read(2_000_000))
    data[:4096] = rand_bytes(4096, 7)
    return [write(os.path.join(folder, "garbage_header.mp4"), bytes(data))]


def _encrypted(folder: str) -> list:
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter()
    for page in PdfReader(HANDOUT).pages[:2]:
        w.add_page(page)
    w.encrypt(user_password="s3cret", owner_password="owner", algorithm="AES-128")
    path = os.path.join(folder, "encrypted.pdf")
    with open(path, "wb") as f:
        w.write(f)
    return [path]


def _broken_xref(folder: str) -> list:
    with open(HANDOUT, "rb") as f:
        data = f.read()
    i = data.rfind(b"startxref")
    if i < 0:
        return [write(os.path.join(folder, "broken_xref.pdf"), data.replace(b"xref", b"xrfe"))]
    data = data[:i] + b"startxref\n99999999\n%%EOF\n"           # text layer intact, xref offset nonsense
    data = re.sub(rb"\d{10} \d{5} n", b"0000000001 00000 n", data)
    return [write(os.path.join(folder, "broken_xref.pdf"), data)]


def _pdf_as_mp4(folder: str) -> list:
    return [shutil.copy(HANDOUT, os.path.join(folder, "slides_really_pdf.mp4"))]


def _mp4_as_pdf(folder: str) -> list:
    with open(LECTURE1, "rb") as f:
        return [write(os.path.join(folder, "video_really_mp4.pdf"), f.read(1_000_000))]


def _named(name) -> Callable[[str], list]:
    def build(folder: str) -> list:
        path = os.path.join(os.fsencode(folder), name) if isinstance(name, bytes) else os.path.join(folder, name)
        return [write(path, b"")]
    return build


def _named_copy(name) -> Callable[[str], list]:
    """A valid PDF under a hostile name: the name then reaches the catalog, `status` and the web pages."""
    def build(folder: str) -> list:
        path = os.path.join(os.fsencode(folder), name) if isinstance(name, bytes) else os.path.join(folder, name)
        with open(HANDOUT, "rb") as f:
            return [write(path, f.read())]
    return build


def _long_name(folder: str) -> list:
    return [write(os.path.join(folder, "L" * 246 + ".pdf"), b"")]


def _symlink_loops(folder: str) -> list:
    d = os.path.join(folder, "loops")
    os.makedirs(os.path.join(d, "sub"))
    os.symlink("self.mp4", os.path.join(d, "self.mp4"))               # a link to itself
    os.symlink("b.pdf", os.path.join(d, "a.pdf"))                     # a -> b -> a
    os.symlink("a.pdf", os.path.join(d, "b.pdf"))
    os.symlink("..", os.path.join(d, "sub", "up"))                    # a folder cycle
    return [os.path.join(d, "self.mp4"), os.path.join(d, "a.pdf"), os.path.join(d, "b.pdf")]


def _unreadable_file(folder: str) -> list:
    p = shutil.copy(HANDOUT, os.path.join(folder, "unreadable.pdf"))
    os.chmod(p, 0)
    return [p]


def _unreadable_dir(folder: str) -> list:
    d = os.path.join(folder, "locked")
    os.mkdir(d)
    shutil.copy(HANDOUT, os.path.join(d, "inside_locked.pdf"))
    os.chmod(d, 0)
    return [d]


def _black(seconds: int, name: str) -> Callable[[str], list]:
    def build(folder: str) -> list:
        dst = os.path.join(folder, name)
        ffmpeg("-f", "lavfi", "-i", f"color=black:s=320x240:r=10:d={seconds}", "-f", "lavfi", "-i",
               "anullsrc=r=16000:cl=mono", "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast",
               "-c:a", "aac", "-shortest", dst)
        return [dst]
    return build


def _silence_wav(folder: str) -> list:
    dst = os.path.join(folder, "silence.wav")
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "8", dst)
    return [dst]


def _testing_pdf(kind: str, **kw) -> Callable[[str], list]:
    def build(folder: str) -> list:
        try:
            from testing.pdfs import hostile_pdf
        except ImportError:
            return []
        return [hostile_pdf(os.path.join(folder, f"hostile_{kind}.pdf"), kind, **kw)]
    return build


CASES: list[Case] = [
    Case("good clip (control)", _cut_good, "indexed"),
    Case("good handout pdf (control)", lambda d: [shutil.copy(HANDOUT, os.path.join(d, "handout.pdf"))], "indexed"),
    Case("zero-byte video", lambda d: [write(os.path.join(d, "zero.mp4"), b"")], "error"),
    Case("zero-byte pdf", lambda d: [write(os.path.join(d, "zero.pdf"), b"")], "error"),
    Case("zero-byte audio", lambda d: [write(os.path.join(d, "zero.wav"), b"")], "error"),
    Case("random bytes .mp4", lambda d: [write(os.path.join(d, "random.mp4"), rand_bytes(200_000, 1))], "error"),
    Case("random bytes .pdf", lambda d: [write(os.path.join(d, "random.pdf"), rand_bytes(50_000, 2))], "error"),
    Case("random bytes .wav", lambda d: [write(os.path.join(d, "random.wav"), rand_bytes(100_000, 3))], "error"),
    Case("truncated video (half)", _truncated, "any"),
    Case("video with garbage header", _garbage_header, "any"),
    Case("encrypted pdf", _encrypted, "error"),
    Case("pdf with broken xref", _broken_xref, "any"),
    Case("pdf named .mp4", _pdf_as_mp4, "error"),
    Case("mp4 named .pdf", _mp4_as_pdf, "error"),
    Case("name with newline", _named("new\nline.mp4"), "error"),
    Case("name with OSC title escape", _named("osc\x1b]0;pwned\x07.mp4"), "error"),
    Case("name with ANSI colour", _named("ansi\x1b[31mred\x1b[0m.pdf"), "error"),
    Case("name with bidi override", _named("bidi\u202efdp.mp4"), "error"),
    Case("250-byte name", _long_name, "error"),
    Case("non-UTF-8 name", _named(b"latin1_\xe9\xff.pdf"), "error"),
    Case("valid pdf, OSC/newline name", _named_copy("ok\n\x1b]0;pwned\x07\u202eslides.pdf"), "any"),
    Case("valid pdf, non-UTF-8 name", _named_copy(b"ok_latin1_\xe9\xff.pdf"), "any"),
    Case("symlink loops", _symlink_loops, "error"),
    Case("unreadable file (chmod 000)", _unreadable_file, "error", needs_non_root=True),
    Case("unreadable folder (chmod 000)", _unreadable_dir, "error", needs_non_root=True),
    Case("2 s black silent video", _black(2, "black_2s.mp4"), "any", slow=True),
    Case("10 s black silent video", _black(10, "black_10s.mp4"), "any", slow=True),
    Case("8 s silence wav", _silence_wav, "any"),
    # one hostile page among ordinary ones: the PDF is indexed (the bad page skipped or not rendered, with one
    # `warning:` line), each in a second or two (media/pdf.py's per-page limits)
    Case("testing/pdfs mediabox", _testing_pdf("mediabox"), "indexed"),
    Case("testing/pdfs flat page", _testing_pdf("flat"), "indexed"),
    Case("testing/pdfs 300 MB flate stream", _testing_pdf("stream"), "indexed"),
    Case("testing/pdfs 40000 px image", _testing_pdf("image"), "indexed"),
]


# -- running the CLI ---------------------------------------------------------------------------------------------

def run_cli(args: list, timeout: float, env: Optional[dict] = None) -> dict:
    t0 = time.time()
    try:
        p = subprocess.run([CLI, *args], capture_output=True, timeout=timeout, env=env)
        out, err, rc, hang = p.stdout, p.stderr, p.returncode, False
    except subprocess.TimeoutExpired as e:
        out, err, rc, hang = e.stdout or b"", e.stderr or b"", None, True
    return {"args": args, "rc": rc, "hang": hang, "secs": round(time.time() - t0, 1),
            "stdout": out.decode("utf-8", "backslashreplace"), "stderr": err.decode("utf-8", "backslashreplace")}


def output_problems(res: dict, raw_names: list) -> dict:
    text = res["stdout"] + res["stderr"]
    lines = text.splitlines()
    return {
        "traceback": [ln for ln in lines if "Traceback" in ln],
        "catch_all": [ln[:200] for ln in lines if ": unexpected " in ln],     # the pipeline's unforeseen-error net
        "raw_tool_text": [ln[:200] for ln in lines if RAW_TOOL.search(ln)],
        "unsafe_bytes": sorted({repr(ch) for ch in UNSAFE.findall(text.replace("\n", "").replace("\t", ""))})
        + [f"raw name {n!r}" for n in raw_names if n in text],
        "hang": ["timeout after %ss" % res["secs"]] if res["hang"] else [],
    }


def catalog_rows(index: str) -> dict:
    path = os.path.join(index, "catalog.sqlite")
    if not os.path.exists(path):
        return {}
    con = sqlite3.connect(path)
    try:
        return {p: (s, e) for p, s, e in con.execute("SELECT path, state, error FROM files")}
    finally:
        con.close()


def index_consistency(index: str) -> list:
    path = os.path.join(index, "catalog.sqlite")
    if not os.path.exists(path):
        return ["no catalog"]
    con = sqlite3.connect(path)
    checks = {
        "done files without lecture": "SELECT COUNT(*) FROM files WHERE state='done' "
                                      "AND id NOT IN (SELECT file_id FROM lectures)",
        "done lectures without segments": "SELECT COUNT(*) FROM lectures WHERE id NOT IN "
                                          "(SELECT lecture_id FROM segments)",
        "segments without lecture": "SELECT COUNT(*) FROM segments WHERE lecture_id NOT IN (SELECT id FROM lectures)",
        "segments without FTS row": "SELECT COUNT(*) FROM segments WHERE id NOT IN (SELECT rowid FROM segments_fts)",
        "lectures of failed files": "SELECT COUNT(*) FROM lectures WHERE file_id IN "
                                    "(SELECT id FROM files WHERE state<>'done')",
    }
    out = []
    try:
        for name, sql in checks.items():
            try:
                n = con.execute(sql).fetchone()[0]
            except sqlite3.Error as e:
                out.append(f"{name}: {e}")
                continue
            if n:
                out.append(f"{name}: {n}")
    finally:
        con.close()
    return out


def classify(case: Case, res: dict, rows: dict) -> None:
    if case.needs_non_root and IS_ROOT:
        case.outcome, case.detail = "skipped-root", "running as root: permissions not enforced"
        return
    lines = (res["stdout"] + res["stderr"]).splitlines()
    outcomes = []
    for p in case.paths:
        s = os.fsdecode(p)
        shown = printable(s)
        mention = [ln for ln in lines if shown in ln or (len(shown) > 60 and shown[:60] in ln)]
        clean = [ln for ln in mention if re.match(r"(error|warning): ", ln)]
        row = rows.get(s)
        if row is None:
            row = next((v for k, v in rows.items() if k.startswith(s.rstrip("/") + "/")), None)
        if row and row[0] == "done":
            outcomes.append(("indexed", ""))
        elif len(clean) == 1:
            outcomes.append(("clean", clean[0][:160]))
        elif len(clean) > 1:
            outcomes.append(("clean", f"{len(clean)} lines: " + clean[0][:120]))
        elif mention:
            outcomes.append(("unclean", mention[0][:160]))
        else:
            outcomes.append(("silent-skip", f"catalog: {row}"))
    kinds = {o for o, _ in outcomes}
    for bad in ("silent-skip", "unclean", "clean", "indexed"):
        if bad in kinds:
            case.outcome = bad
            case.detail = next(d for o, d in outcomes if o == bad)
            break
    if not outcomes:
        case.outcome, case.detail = "not-built", "builder made nothing"


def expected_ok(case: Case) -> bool:
    if case.outcome in ("skipped-root", "not-built"):
        return True
    if case.expect == "error":
        return case.outcome == "clean"
    if case.expect == "indexed":
        return case.outcome == "indexed"
    return case.outcome in ("clean", "indexed")


def damaged_indexes(work: str, sample_file: str, timeout: float) -> list:
    """ingest/status/search on index folders whose catalog is broken or which cannot be written."""
    results = []
    setups = {
        "random-byte catalog": lambda d: write(os.path.join(d, "catalog.sqlite"), rand_bytes(40_000, 9)),
        "zero-byte catalog": lambda d: write(os.path.join(d, "catalog.sqlite"), b""),
        "sqlite header + garbage": lambda d: write(os.path.join(d, "catalog.sqlite"),
                                                   b"SQLite format 3\x00" + rand_bytes(8_000, 10)),
        "read-only index folder": lambda d: os.chmod(d, 0o555),
    }
    for name, setup in setups.items():
        d = os.path.join(work, "idx-" + re.sub(r"\W+", "-", name))
        os.makedirs(d)
        setup(d)
        for cmd in (["ingest", sample_file, "--index", d, "-q"], ["status", "--index", d],
                    ["search", "eigenvalues", "--index", d]):
            if name.startswith("read-only") and IS_ROOT:
                results.append({"index": name, "cmd": cmd[0], "outcome": "skipped-root", "problems": {}})
                continue
            res = run_cli(cmd, timeout)
            probs = {k: v for k, v in output_problems(res, []).items() if v}
            err = [ln for ln in res["stderr"].splitlines() if ln.strip()]
            if res["rc"] == 0:
                outcome = "ok"
            elif err and all(re.match(r"(error|warning|Error): ", ln) for ln in err) and len(err) <= 3:
                outcome = "clean"
            else:
                outcome = "unclean"
                probs.setdefault("unclean", err[-3:])
            results.append({"index": name, "cmd": cmd[0], "rc": res["rc"], "outcome": outcome,
                            "first_line": (err or res["stdout"].splitlines() or [""])[0][:160], "problems": probs})
        os.chmod(d, 0o755)
    return results


# -- HTTP --------------------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raw_request(port: int, method: str, target: bytes, headers: Optional[dict] = None, body: bytes = b"",
                timeout: float = 60) -> dict:
    """One HTTP/1.1 request on its own connection, bytes exactly as given (no client-side normalisation)."""
    head = [b"%s %s HTTP/1.1" % (method.encode(), target), b"Host: 127.0.0.1:%d" % port, b"Connection: close"]
    hdrs = dict(headers or {})
    if body or method in ("POST", "PUT"):
        hdrs.setdefault("Content-Length", str(len(body)))
    head += [f"{k}: {v}".encode("latin-1") for k, v in hdrs.items()]
    data = b"\r\n".join(head) + b"\r\n\r\n"
    chunks = []
    t0 = time.time()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(data)
            try:
                for i in range(0, len(body), 1 << 20):
                    s.sendall(body[i:i + (1 << 20)])
            except (BrokenPipeError, ConnectionResetError):
                pass                                                  # the server refused the rest: read its answer
            while True:
                try:
                    b = s.recv(65536)
                except ConnectionResetError:
                    break
                if not b:
                    break
                chunks.append(b)
    except socket.timeout:
        return {"status": None, "hang": True, "secs": round(time.time() - t0, 1), "body": b"", "headers": ""}
    except OSError as e:
        return {"status": None, "hang": False, "error": str(e), "secs": round(time.time() - t0, 1), "body": b"",
                "headers": ""}
    raw = b"".join(chunks)
    head_b, _, body_b = raw.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d{3})", head_b)
    return {"status": int(m.group(1)) if m else None, "hang": False, "secs": round(time.time() - t0, 1),
            "headers": head_b.decode("latin-1"), "body": body_b}


def multipart(fields: list) -> tuple:
    """[(name, filename or None, content type or None, bytes)] -> (content type header, body)."""
    boundary = "hostile" + "%016x" % random.Random(5).getrandbits(64)
    out = []
    for name, filename, ctype, data in fields:
        disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        part = [f"--{boundary}".encode(), f"Content-Disposition: {disp}".encode()]
        if ctype:
            part.append(f"Content-Type: {ctype}".encode())
        out.append(b"\r\n".join(part) + b"\r\n\r\n" + data)
    body = b"\r\n".join(out) + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


XSS = ['<script>alert("xss")</script>', '"><img src=x onerror=alert(1)>', "</title><svg/onload=alert(1)>"]
BAD_IDS = ["0", "-1", str(2**63), str(2**64), str(10**30), "abc", "1e3", "%00", "1%00", "%2e%2e", "1.0", "+1",
           "0x10", "٣"]


def app_routes(index: str) -> list:
    """(rule, methods) of every route of the app, from Flask's url_map."""
    from lecturefind.web import create_app

    app = create_app({"INDEX": index, "MODELS": None, "TESTING": True, "RATE_LIMIT": 0, "AUDIT": True})
    return [(r.rule, sorted(r.methods - {"HEAD", "OPTIONS"})) for r in app.url_map.iter_rules()]


def sample_ids(index: str) -> dict:
    con = sqlite3.connect(os.path.join(index, "catalog.sqlite"))
    try:
        def one(sql):
            row = con.execute(sql).fetchone()
            return str(row[0]) if row and row[0] is not None else "1"
        return {"lecture": one("SELECT MIN(id) FROM lectures WHERE kind <> 'pdf'"),
                "pdf": one("SELECT MIN(id) FROM lectures WHERE kind = 'pdf'"),
                "slide": one("SELECT MIN(id) FROM slides WHERE image IS NOT NULL"),
                "course": one("SELECT MIN(id) FROM courses")}
    finally:
        con.close()


def fill(rule: str, value: str) -> str:
    return re.sub(r"<(?:[a-z_]+:)?[a-z_]+>", value, rule)


def http_requests(routes: list, ids: dict, quick: bool) -> list:
    """[(label, method, target bytes, headers, body, check)] where check is 'xss' or ''."""
    reqs = []
    id_rules = [r for r, m in routes if "<id:" in r and "GET" in m]
    plain_get = [r for r, m in routes if "<" not in r and "GET" in m and not r.startswith("/static")]
    for rule in id_rules:
        for bad in BAD_IDS:
            reqs.append((f"bad id {bad}", "GET", fill(rule, bad).encode(), {}, b"", ""))
        good = ids["pdf"] if "pdf" in rule else ids["slide"] if "thumb" in rule else \
            ids["course"] if "course" in rule else ids["lecture"]
        for q in ("t=-1", "t=1e308", "t=nan", "page=0", "page=-5", "page=99999999999999999999", "hits=" + "1," * 500,
                  "q=" + "x" * 10_000, "q=%00", "q=%ff%fe", "t=%00"):
            reqs.append((f"good id ?{q[:16]}", "GET", (fill(rule, good) + "?" + q).encode(), {}, b"", ""))
        reqs.append(("Range: bytes=999999999999-", "GET", fill(rule, good).encode(),
                     {"Range": "bytes=999999999999-"}, b"", ""))
        reqs.append(("Range: bytes=-0", "GET", fill(rule, good).encode(), {"Range": "bytes=-0,5-1"}, b"", ""))
        for m in ("HEAD", "OPTIONS"):
            reqs.append((m, m, fill(rule, good).encode(), {}, b"", ""))
    traversal = ["/static/../../etc/passwd", "/static/..%2f..%2f..%2fetc%2fpasswd", "/static/%2e%2e/%2e%2e/etc/passwd",
                 "/media/..%2f..%2fetc%2fpasswd", "/thumb/..%2f..%2fetc%2fpasswd.jpg", "/static//etc/passwd",
                 "/static/%00", "/static/..\\..\\etc\\passwd", "//etc/passwd", "/watch/1/../../../etc/passwd"]
    for t in traversal:
        reqs.append(("traversal", "GET", t.encode(), {}, b"", "passwd"))
    for rule in plain_get:
        for q in ("q=" + "a" * 10_000, "q=%00abc", "q=%ff%fe", "k=" + str(10**9), "k=-1", "k=abc", "k=1e400",
                  "course=%00", "course=" + "c" * 5000, "q=x&k=0", "q=" + "%e2%80%ae" * 20, "q=test&q=other",
                  "page=-1", "offset=-9999999999"):
            reqs.append((f"{rule} ?{q[:14]}", "GET", f"{rule}?{q}".encode(), {}, b"", ""))
        reqs.append((f"{rule} raw NUL", "GET", rule.encode() + b"?q=a\x00b", {}, b"", ""))
        reqs.append((f"{rule} raw \\xff", "GET", rule.encode() + b"?q=\xff\xfe", {}, b"", ""))
        for m in ("HEAD", "OPTIONS"):
            reqs.append((m, m, rule.encode(), {}, b"", ""))
        for payload in XSS:
            from urllib.parse import quote

            reqs.append((f"{rule} xss", "GET", f"{rule}?q={quote(payload)}".encode(), {}, b"", payload))
    for rule in id_rules:
        good = ids["pdf"] if "pdf" in rule else ids["lecture"]
        if "watch" in rule or "pdf" in rule:
            from urllib.parse import quote

            for payload in XSS:
                reqs.append((f"{rule} xss", "GET", f"{fill(rule, good)}?q={quote(payload)}".encode(), {}, b"",
                             payload))
    png = bytes.fromhex("89504e470d0a1a0a")
    posts = [
        ("0-byte image", [("image", "x.png", "image/png", b"")]),
        ("text named .png", [("image", "notes.png", "image/png", b"just some words\n" * 100)]),
        ("png header only", [("image", "h.png", "image/png", png)]),
        ("random .jpg", [("image", "r.jpg", "image/jpeg", rand_bytes(30_000, 11))]),
        ("0-byte audio", [("audio", "a.wav", "audio/wav", b"")]),
        ("random audio", [("audio", "a.wav", "audio/wav", rand_bytes(30_000, 12))]),
        ("text + hostile filename", [("q", None, None, b"eigen"), ("image", "../../x\x1b]0;p\x07.png",
                                                                   "image/png", b"")]),
        ("bad k", [("q", None, None, b"eigen"), ("k", None, None, b"-99999999999999999999")]),
        ("invalid utf-8 q", [("q", None, None, b"\xff\xfe\xfa")]),
        ("no fields", []),
    ]
    for rule in ("/api/search", "/", "/embed/", "/audit"):
        for label, fields in posts:
            if rule == "/audit":
                fields = [("file", "o.txt", "text/plain", f[3]) for f in fields] or fields
            ctype, body = multipart(fields)
            reqs.append((f"POST {rule} {label}", "POST", rule.encode(), {"Content-Type": ctype}, body, ""))
        for ctype, body in (("application/json", b'{"q": "eigen"}'), ("text/plain", b"q=eigen"),
                            ("multipart/form-data", b"--x\r\n"), ("multipart/form-data; boundary=", b"garbage"),
                            ("application/x-www-form-urlencoded", b"q=%ff%fe&k=abc"),
                            ("application/x-www-form-urlencoded", b"q=" + b"a" * 200_000)):
            reqs.append((f"POST {rule} {ctype[:30]}", "POST", rule.encode(), {"Content-Type": ctype}, body, ""))
        reqs.append((f"POST {rule} lying Content-Length", "POST", rule.encode(),
                     {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "100"}, b"q=x", "short"))
    if not quick:
        ctype, body = multipart([("image", "big.png", "image/png", png + rand_bytes(50 * 1024 * 1024, 13))])
        reqs.append(("POST /api/search 50 MB", "POST", b"/api/search", {"Content-Type": ctype}, body, "413"))
    reqs.append(("TRACE /", "TRACE", b"/", {}, b"", ""))
    reqs.append(("PUT /api/search", "PUT", b"/api/search", {}, b"x", ""))
    reqs.append(("Host header junk", "GET", b"/", {"X-Forwarded-For": "1.2.3.4, \x01"}, b"", ""))
    return reqs


def run_http(index: str, quick: bool, log: Callable) -> dict:
    port = free_port()
    env = dict(os.environ, LECTUREFIND_RATE_LIMIT="0", LECTUREFIND_AUDIT="1")
    errf = tempfile.TemporaryFile()
    srv = subprocess.Popen([CLI, "serve", "--index", index, "--port", str(port), "--threads", "4"],
                           stdout=errf, stderr=subprocess.STDOUT, env=env)
    summary: dict = {"requests": 0, "by_class": {}, "5xx": [], "traceback_bodies": [], "unescaped": [],
                     "hangs": [], "conn_errors": [], "other": [], "no_answer": [], "slow": [],
                     "server_log_tracebacks": 0}
    try:
        t0 = time.time()
        while time.time() - t0 < 300:
            if srv.poll() is not None:
                errf.seek(0)
                summary["other"].append("server exited: " + errf.read().decode(errors="replace")[-500:])
                return summary
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(1)
        log(f"  server up on :{port} after {time.time() - t0:.0f}s")
        reqs = http_requests(app_routes(index), sample_ids(index), quick)
        for label, method, target, headers, body, check in reqs:
            r = raw_request(port, method, target, headers, body)
            summary["requests"] += 1
            st = r["status"]
            cls = f"{st // 100}xx" if st else ("hang" if r["hang"] else "no answer")
            summary["by_class"][cls] = summary["by_class"].get(cls, 0) + 1
            where = f"{method} {target[:90].decode('latin-1')!r} [{label}]"
            if r["hang"]:
                summary["hangs"].append(where)
            elif st is None:
                if check == "short":                                 # a lying Content-Length: closed unanswered
                    summary["no_answer"].append(where)
                else:
                    summary["conn_errors"].append(f"{where}: {r.get('error', 'no status line')}")
            if r["secs"] > 10:
                summary["slow"].append(f"{r['secs']}s {where}")
            elif st >= 500:
                summary["5xx"].append(f"{st} {where}")
            if b"Traceback" in r["body"]:
                summary["traceback_bodies"].append(where)
            html = "text/html" in r["headers"].lower()
            if check and check not in ("413", "passwd", "short") and html and check.encode() in r["body"]:
                summary["unescaped"].append(where)
            if check == "passwd" and b"root:x:0:0" in r["body"]:
                summary["unescaped"].append(f"TRAVERSAL SERVED /etc/passwd: {where}")
            if check == "413" and st != 413:
                summary["other"].append(f"50 MB body got {st}, not 413")
    finally:
        srv.terminate()
        try:
            srv.wait(timeout=20)
        except subprocess.TimeoutExpired:
            srv.kill()
        errf.seek(0)
        logtext = errf.read().decode(errors="replace")
        summary["server_log_tracebacks"] = logtext.count("Traceback")
        if summary["server_log_tracebacks"]:
            i = logtext.find("Traceback")
            summary["other"].append("server log: " + logtext[i:i + 1500])
    return summary


# -- main --------------------------------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="folder for the work files and summary.json (default: a temp folder, removed)")
    ap.add_argument("--quick", action="store_true", help="leave out the slow cases and the 50 MB upload")
    ap.add_argument("--timeout", type=float, default=900, help="seconds before the batch ingest counts as a hang")
    ap.add_argument("--no-http", action="store_true")
    args = ap.parse_args()
    t_start = time.time()
    work = os.path.abspath(args.out) if args.out else tempfile.mkdtemp(prefix="lecturefind-hostile-")
    os.makedirs(work, exist_ok=True)
    batch = os.path.join(work, "batch")
    if os.path.exists(batch):
        subprocess.run(["chmod", "-R", "u+rwx", batch])
        shutil.rmtree(batch)
    os.makedirs(batch)
    index = os.path.join(work, "index")
    shutil.rmtree(index, ignore_errors=True)
    for d in os.listdir(work):
        if d.startswith("idx-"):
            subprocess.run(["chmod", "-R", "u+rwx", os.path.join(work, d)])
            shutil.rmtree(os.path.join(work, d))

    def log(msg: str) -> None:
        print(msg, flush=True)

    cases = [c for c in CASES if not (args.quick and c.slow)]
    log(f"building {len(cases)} cases in {batch}" + (" (root: permission cases are skipped)" if IS_ROOT else ""))
    for c in cases:
        try:
            c.paths = c.build(batch)
        except Exception as e:          # a builder that cannot run here (no ffmpeg codec, ...) is reported, not fatal
            c.outcome, c.detail = "not-built", f"{type(e).__name__}: {e}"[:200]
    raw_names = []
    for c in cases:
        for p in c.paths:
            s = os.fsdecode(p)
            base = os.path.basename(s)
            if not base.isprintable():
                raw_names.append(base)

    log(f"ingesting the batch (timeout {args.timeout:.0f}s) ...")
    res = run_cli(["ingest", batch, "--index", index, "-q", "--course", "Hostile"], args.timeout)
    log(f"  ingest rc={res['rc']} in {res['secs']}s")
    rows = catalog_rows(index)
    for c in cases:
        if c.outcome != "not-built":
            classify(c, res, rows)
    problems = output_problems(res, raw_names)
    consistency = index_consistency(index)
    st = run_cli(["status", "--index", index], 300)
    st_probs = {k: v for k, v in output_problems(st, raw_names).items() if v}
    if st["rc"] != 0:
        st_probs["rc"] = [str(st["rc"])]
    for words in ("eigenvalues", "slides pdf page"):          # result lines show titles made from hostile names
        sr = run_cli(["search", words, "--k", "50", "--index", index], 300)
        for k, v in output_problems(sr, raw_names).items():
            if v:
                st_probs[f"search: {k}"] = v
    stray = [ln[:160] for ln in res["stderr"].splitlines()
             if ln.strip() and not re.match(r"(error|warning): ", ln)]

    log("damaged / unwritable index folders ...")
    small = next((p for c in cases if c.name.startswith("good handout") for p in c.paths), HANDOUT)
    damaged = damaged_indexes(work, small, 300)

    http: dict = {}
    if not args.no_http:
        log("hostile HTTP against the batch index ...")
        http = run_http(index, args.quick, log)

    # -- summary
    counts: dict = {}
    for c in cases:
        counts[c.outcome] = counts.get(c.outcome, 0) + 1
    unexpected = [c for c in cases if not expected_ok(c)]
    print("\n== files " + "=" * 100)
    print(f"{'case':38} {'expect':8} {'outcome':13} detail")
    for c in cases:
        flag = "" if expected_ok(c) else "  <-- UNEXPECTED"
        print(f"{c.name[:38]:38} {c.expect:8} {c.outcome:13} {printable(c.detail)[:110]}{flag}")
    print(f"\nhostile files: {len(cases)} cases, {sum(len(c.paths) for c in cases)} paths; "
          + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    print(f"batch ingest: rc={res['rc']}, {res['secs']}s, hang: {'YES' if res['hang'] else 'no'}; "
          f"tracebacks: {len(problems['traceback'])}, catch-all 'unexpected' errors: {len(problems['catch_all'])}, "
          f"raw tool text lines: {len(problems['raw_tool_text'])}, "
          f"unsafe terminal bytes: {len(problems['unsafe_bytes'])}, stray stderr lines: {len(stray)}")
    for k in ("traceback", "catch_all", "raw_tool_text", "unsafe_bytes"):
        for ln in problems[k][:5]:
            print(f"  {k}: {printable(ln)}")
    for ln in stray[:5]:
        print(f"  stray: {printable(ln)}")
    print(f"index consistency: {'ok' if not consistency else consistency}; status/search output: "
          f"{'ok' if not st_probs else st_probs}")
    print("\n== damaged index folders " + "=" * 84)
    for d in damaged:
        print(f"{d['index']:26} {d['cmd']:7} {d['outcome']:13} {printable(d.get('first_line', ''))[:100]}"
              + (f"  PROBLEMS {d['problems']}" if d["problems"] else ""))
    if http:
        print("\n== HTTP " + "=" * 101)
        print(f"requests: {http['requests']}; " + ", ".join(f"{k}: {v}" for k, v in sorted(http["by_class"].items()))
              + f"; 5xx: {len(http['5xx'])}; Traceback in body: {len(http['traceback_bodies'])}; "
              f"unescaped payloads: {len(http['unescaped'])}; hangs: {len(http['hangs'])}; "
              f"connection errors: {len(http['conn_errors'])}; server-log tracebacks: {http['server_log_tracebacks']}")
        for k in ("5xx", "traceback_bodies", "unescaped", "hangs", "conn_errors", "other", "no_answer", "slow"):
            for ln in http[k][:15]:
                print(f"  {k}: {printable(ln)[:400]}")
    wall = time.time() - t_start
    print(f"\nwall time: {wall:.0f}s")

    failed = {
        "tracebacks": len(problems["traceback"]) + sum(1 for d in damaged if "traceback" in d["problems"])
        + len(st_probs.get("traceback", [])) + len(http.get("traceback_bodies", []))
        + http.get("server_log_tracebacks", 0),
        "hangs": int(res["hang"]) + sum(1 for d in damaged if "hang" in d["problems"]) + len(http.get("hangs", [])),
        "catch-all errors": len(problems["catch_all"]),
        "silent skips": counts.get("silent-skip", 0),
        "raw tool text": len(problems["raw_tool_text"]),
        "unsafe terminal bytes": len(problems["unsafe_bytes"]),
        "unclean errors": counts.get("unclean", 0) + sum(1 for d in damaged if d["outcome"] == "unclean"),
        "unexpected outcomes": len(unexpected),
        "inconsistent index / unsafe status or search output": len(consistency) + len(st_probs),
        "5xx": len(http.get("5xx", [])),
        "unescaped payloads": len(http.get("unescaped", [])),
        "connection errors": len(http.get("conn_errors", [])) + len(http.get("other", [])),
    }
    with open(os.path.join(work, "summary.json"), "w") as f:
        json.dump({"cases": [{"name": c.name, "expect": c.expect, "outcome": c.outcome, "detail": c.detail}
                             for c in cases], "counts": counts, "ingest": {k: res[k] for k in ("rc", "secs", "hang")},
                   "problems": problems, "stray": stray, "consistency": consistency, "status": st_probs,
                   "damaged": damaged, "http": http, "failed": failed, "wall_s": round(wall, 1)}, f, indent=1)
    with open(os.path.join(work, "ingest.stderr.txt"), "w") as f:
        f.write(res["stderr"] + "\n--- stdout ---\n" + res["stdout"])
    bad = {k: v for k, v in failed.items() if v}
    print("RESULT: " + ("FAIL " + ", ".join(f"{k}: {v}" for k, v in bad.items()) if bad else "PASS"))
    print(f"work folder: {work}")
    if not args.out:
        subprocess.run(["chmod", "-R", "u+rwx", work])
        shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
