"""PDFs made for tests and benchmarks (never used by the product): textbook-sized text PDFs from real text, and
hostile pages (a huge MediaBox, a content stream that inflates to hundreds of MB, a giant image).

Every maker writes plain PDF objects itself (no PDF library needed), so that a hostile page is exactly what its
name says, and it is built in seconds from a few KB of Python: nothing big is ever committed.
"""
from __future__ import annotations

import io
import os
import random
import textwrap
import zlib
from typing import Iterable, Optional, Sequence

A4 = (595, 842)


class _Writer:
    """The smallest PDF writer that is enough here: numbered objects, one page tree, an xref table."""

    def __init__(self) -> None:
        self.objects: list[Optional[bytes]] = [None, None]      # 1: catalog, 2: page tree (filled in at the end)
        self.pages: list[int] = []
        self.font = self.add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")

    def add(self, body: bytes) -> int:
        self.objects.append(body)
        return len(self.objects)

    def stream(self, data: bytes, extra: bytes = b"", compress: bool = True) -> int:
        if compress:
            data = zlib.compress(data, 9)
            extra += b" /Filter /FlateDecode"
        return self.add(b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream")

    def page(self, content: bytes, size: Sequence[float] = A4, xobjects: Optional[dict[str, int]] = None,
             compress: bool = True) -> None:
        contents = self.stream(content, compress=compress)
        xo = b""
        if xobjects:
            xo = b" /XObject << " + b" ".join(b"/%s %d 0 R" % (k.encode(), v) for k, v in xobjects.items()) + b" >>"
        box = " ".join(f"{v:g}" for v in (0, 0, *size)).encode()
        self.pages.append(self.add(b"<< /Type /Page /Parent 2 0 R /MediaBox [%s] /Contents %d 0 R "
                                   b"/Resources << /Font << /F1 %d 0 R >>%s >> >>" % (box, contents, self.font, xo)))

    def write(self, path: str) -> str:
        self.objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
        kids = b" ".join(b"%d 0 R" % p for p in self.pages)
        self.objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self.pages))
        out = io.BytesIO()
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for n, body in enumerate(self.objects, 1):
            offsets.append(out.tell())
            out.write(b"%d 0 obj\n" % n + (body or b"null") + b"\nendobj\n")
        xref = out.tell()
        out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(self.objects) + 1))
        out.write(b"".join(b"%010d 00000 n \n" % o for o in offsets))
        out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(self.objects) + 1, xref))
        with open(path, "wb") as f:
            f.write(out.getvalue())
        return path


def _pdf_string(line: str) -> bytes:
    data = line.encode("cp1252", "replace")
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def text_page_content(lines: Iterable[str], size: Sequence[float] = A4, font: float = 10.0,
                      figure: bool = False) -> bytes:
    """Lines of Helvetica from the top left; with `figure`, a small vector plot in the lower half."""
    lead = font * 1.25
    ops = [b"BT /F1 %g Tf %g TL 56 %g Td" % (font, lead, size[1] - 64)]
    for line in lines:
        ops.append(_pdf_string(line) + b" '")
    ops.append(b"ET")
    if figure:   # axes, a grid and a polyline: a textbook figure is drawn with paths
        x0, y0, w, h = 90.0, 90.0, size[0] - 180.0, 220.0
        ops.append(b"0.6 w %g %g m %g %g l %g %g l S" % (x0, y0 + h, x0, y0, x0 + w, y0))
        for i in range(1, 8):
            ops.append(b"0.2 w %g %g m %g %g l S" % (x0, y0 + i * h / 8, x0 + w, y0 + i * h / 8))
        rnd = random.Random(len(ops))
        pts = [(x0 + w * i / 40, y0 + h * (0.5 + 0.4 * rnd.uniform(-1, 1) * (i % 7) / 7)) for i in range(41)]
        ops.append(b"1.2 w %g %g m " % pts[0] + b" ".join(b"%.1f %.1f l" % p for p in pts[1:]) + b" S")
    return b"\n".join(ops)


def real_text(min_chars: int) -> list[str]:
    """Paragraphs of real technical English: the documentation of Python's standard library (pydoc, plain text),
    deterministic for one Python version."""
    import pydoc
    import warnings

    names = ["collections", "itertools", "functools", "os", "re", "json", "argparse", "logging", "threading",
             "subprocess", "socket", "sqlite3", "datetime", "decimal", "fractions", "statistics", "random",
             "math", "string", "textwrap", "unittest", "typing", "dataclasses", "pathlib", "shutil", "tarfile",
             "zipfile", "csv", "email", "http.client", "urllib.request", "xml.etree.ElementTree", "asyncio",
             "concurrent.futures", "multiprocessing", "inspect", "ast", "dis", "pickle", "copy", "heapq", "bisect",
             "array", "struct", "codecs", "io", "tempfile", "glob", "fnmatch", "hashlib", "hmac", "secrets",
             "base64", "binascii", "zlib", "gzip", "bz2", "lzma", "calendar", "time", "locale", "gettext", "enum"]
    paras: list[str] = []
    total = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while total < min_chars:
            for name in names:
                try:
                    doc = pydoc.render_doc(name, renderer=pydoc.plaintext)
                except Exception:
                    continue
                lines = [ln.strip().lstrip("|").strip() for ln in doc.splitlines()]   # pydoc's gutter
                for para in "\n".join("" if set(ln) <= set("-|") else ln for ln in lines).split("\n\n"):
                    para = " ".join(para.split())
                    if len(para) > 40:
                        paras.append(para)
                        total += len(para)
                if total >= min_chars:
                    break
            if not paras:
                raise RuntimeError("no documentation text found")
    return paras


def textbook_pdf(path: str, pages: int, figure_every: int = 10, seed: int = 0) -> str:
    """`pages` dense A4 pages of real text (~3 500 characters each, 10 pt), every `figure_every`-th page also with
    a vector figure: what a textbook with a text layer is."""
    per_page, width = 62, 96
    paras = real_text(pages * per_page * width // 2)
    rnd = random.Random(seed)
    rnd.shuffle(paras)
    lines: list[str] = []
    w = _Writer()
    p = 0
    for para in paras * (1 + pages * per_page // max(1, len(paras))):
        lines.extend(textwrap.wrap(para, width) + [""])
        while len(lines) >= per_page:
            fig = figure_every > 0 and p % figure_every == figure_every - 1
            n = per_page // 2 if fig else per_page
            w.page(text_page_content([f"{p + 1}"] + lines[:n], figure=fig))
            lines = lines[n:]
            p += 1
            if p == pages:
                return w.write(path)
    raise RuntimeError("not enough text")


def slides_pdf(path: str, pages: int, sources: Sequence[str]) -> str:
    """`pages` slide pages taken in turn from the `sources` PDFs (repeated as needed), with pypdf."""
    from pypdf import PdfReader, PdfWriter

    src = [pg for s in sources for pg in PdfReader(s).pages]
    out = PdfWriter()
    for i in range(pages):
        out.add_page(src[i % len(src)])
    with open(path, "wb") as f:
        out.write(f)
    return path


def repeated_flate(chunk: bytes, times: int, tail: bytes = b"") -> bytes:
    """A zlib (FlateDecode) stream of `chunk` * `times` + `tail`, made without ever holding or compressing the
    whole: `chunk` is deflated once into a byte-aligned block with a reset dictionary (a full flush), which is
    then repeated; the checksum is run over the data as it would be decoded."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = z.compress(chunk) + z.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15)
    last = end.compress(tail) + end.flush()
    adler = 1
    for _ in range(times):
        adler = zlib.adler32(chunk, adler)
    adler = zlib.adler32(tail, adler)
    return b"\x78\xda" + block * times + last + adler.to_bytes(4, "big")


# -- hostile pages -------------------------------------------------------------------------------------------------
def _ordinary(w: _Writer, n: int, start: int = 1) -> None:
    paras = [
        "The eigenvalues of a matrix A are the numbers lambda for which A v = lambda v has a solution v other "
        "than zero; they are the roots of the characteristic polynomial det(A - lambda I) = 0.",
        "A bus arbiter decides which master may drive the shared bus next: fixed priority, round robin, or a "
        "daisy chain that passes the grant from one device to the next.",
    ]
    for i in range(n):
        body = [f"Ordinary page {start + i}"] + textwrap.wrap(" ".join(paras * 4), 90)
        w.page(text_page_content(body))


def hostile_pdf(path: str, kind: str, before: int = 2, after: int = 2, **kw) -> str:
    """An ordinary PDF of `before` + 1 + `after` text pages whose page `before + 1` is hostile:

    - ``mediabox``: a 200 000 x 200 000 pt page (``side=``), with text on it;
    - ``stream``: a content stream that inflates to ``mb=300`` MB of drawing operators (about 0.3 MB compressed);
    - ``image``: a ``px=40000`` x 40000 RGB image (4.8 GB decoded, about 5 MB compressed);
    - ``flat``: a 200 000 x 1 pt page (a render of it is one pixel high).
    """
    w = _Writer()
    _ordinary(w, before)
    if kind == "mediabox":
        side = float(kw.get("side", 200_000))
        w.page(text_page_content(["A page two hundred thousand points wide"], size=(side, side), font=2000),
               size=(side, side))
    elif kind == "flat":
        w.page(text_page_content(["flat"], size=(200_000, 1), font=1), size=(200_000, 1))
    elif kind == "stream":
        mb = float(kw.get("mb", 300))
        unit = b"0.5 0.5 0.5 rg 10 10 5 5 re f\n"                     # one small filled square, again and again
        chunk = unit * (1 << 16)
        data = repeated_flate(chunk, max(1, int(mb * (1 << 20)) // len(chunk)),
                              b"BT /F1 12 Tf 56 700 Td (a page of three hundred megabytes) Tj ET\n")
        contents = w.add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
        w.pages.append(w.add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                             b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (contents, w.font)))
    elif kind == "image":
        px = int(kw.get("px", 40_000))
        data = repeated_flate(b"\xff" * (px * 3), px)                 # white rows
        img = w.add(b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB "
                    b"/BitsPerComponent 8 /Length %d /Filter /FlateDecode >>\nstream\n" % (px, px, len(data))
                    + data + b"\nendstream")
        w.page(text_page_content(["A page with a giant picture"]) + b"\nq 400 0 0 400 100 100 cm /Im0 Do Q",
               xobjects={"Im0": img})
    else:
        raise ValueError(kind)
    _ordinary(w, after, start=before + 2)
    return w.write(path)


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="Write a test PDF.")
    ap.add_argument("kind", choices=["textbook", "mediabox", "stream", "image", "flat"])
    ap.add_argument("path")
    ap.add_argument("--pages", type=int, default=400)
    args = ap.parse_args()
    if args.kind == "textbook":
        textbook_pdf(args.path, args.pages)
    else:
        hostile_pdf(args.path, args.kind)
    print(args.path, os.path.getsize(args.path))


if __name__ == "__main__":
    main()
