"""PDF pages: the text layer and a render of each page with pdfium (one parse per page), bounded per page.

A page is looked at (with pypdf, without decoding anything big) before pdfium parses it: a page whose drawing
instructions inflate to more than MAX_PAGE_CONTENT bytes is skipped (pdfium would hold every object in memory:
~35 MB and 0.3 s per MB of small drawing operators), a page whose images add up to more than MAX_IMAGE_PIXELS is
not rendered (decoding is ~10 ns a pixel), and a render gives up after RENDER_SECONDS. A render is at most
`max_side` pixels whatever the MediaBox says. Each such page carries a `problem` for the user; the other pages
are read as usual.
"""
from __future__ import annotations

import ctypes
import logging
import math
import os
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import numpy as np

from ..errors import MediaError

RENDER_SIDE = 1280                   # longest side of a page render, pixels
MAX_PAGE_CONTENT = 8 << 20           # inflated content streams (and forms) of one page, bytes
MAX_IMAGE_PIXELS = 200_000_000       # all images of one page, decoded pixels
MAX_JPX_PIXELS = 30_000_000          # JPEG 2000 decodes whole, 4 bytes a sample: 30 MP is ~360 MB
RENDER_SECONDS = 15.0                # one page's render
MIN_RENDER_PX = 4                    # a render narrower than this (a 200 000 x 1 pt page) shows nothing
TEXT_PAGE_PATHS = 8                  # a page with at most this many path objects and no image is text alone


@dataclass
class PdfPage:
    page: int                        # 1-based
    text: str                        # text layer ('' when there is none)
    width: float = 0.0               # points, as shown (rotation applied)
    height: float = 0.0
    graphics: bool = False           # images, shadings, forms or more than a few paths: not text alone
    image: Optional[np.ndarray] = None   # BGR render (when asked for and possible)
    problem: str = ""                # why the page, or its render, was left out ('' when nothing was)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # pdfium marks a hyphen that breaks a word at a line end with U+FFFE (and joins the lines): the word, whole
    text = re.sub("[\x00-\x08\x0b-\x1f\ufffe\uffff]", "", text)
    text = re.sub("\u00ad\\s*\n\\s*", "", text)     # soft hyphen at a line break: join the word
    text = text.replace("\u00ad", "-")                 # elsewhere it stands for a printed hyphen
    text = re.sub(r"[ \t]+", " ", text)
    return text.strip()


# -- looking at a page before parsing it ------------------------------------------------------------------------
def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def _inflated_size(stream: Any, limit: int) -> int:
    """Bytes `stream` decodes to, counted up to just over `limit` (Flate is inflated in bounded steps, never
    whole); other filters count their encoded size."""
    data = getattr(stream, "_data", b"") or b""
    filters = _names(stream.get("/Filter"))
    if not filters or filters[-1] not in ("/FlateDecode", "/Fl"):
        return len(data)
    if len(filters) > 1:          # e.g. [/ASCII85Decode /FlateDecode]: the ASCII layer first (it only shrinks)
        from pypdf.filters import ASCII85Decode, ASCIIHexDecode

        for f in filters[:-1]:
            if f in ("/ASCII85Decode", "/A85"):
                data = ASCII85Decode.decode(data)
            elif f in ("/ASCIIHexDecode", "/AHx"):
                data = ASCIIHexDecode.decode(data)
            else:
                return len(data)
    z = zlib.decompressobj()
    n = 0
    step = 1 << 20
    try:
        for i in range(0, len(data), step):
            chunk = data[i:i + step]
            while chunk:
                n += len(z.decompress(chunk, step))
                if n > limit:
                    return n
                chunk = z.unconsumed_tail
            if z.eof:
                break
    except zlib.error:
        pass                      # damaged: what inflated so far (pdfium copes with the rest)
    return n


def _image_size(img: Any) -> tuple[int, int]:
    try:
        return max(0, int(img.get("/Width", 0))), max(0, int(img.get("/Height", 0)))
    except (TypeError, ValueError):
        return 0, 0


@dataclass
class PageCost:
    """What parsing and rendering a page will take, read off its objects before pdfium parses it."""

    content: int = 0          # inflated content streams and forms, bytes (counted up to just over the limit)
    pixels: int = 0           # decoded pixels of its images
    jpx_pixels: int = 0       # ... of those in JPEG 2000 (decoded whole)
    biggest: str = ""         # its largest image, in words
    read: list = field(default_factory=list)   # (generation, id) of the objects read to find this out

    def problem(self) -> tuple[str, str]:
        """('skip' or 'no render', why) when the page is over a limit, else ('', '')."""
        if self.content > MAX_PAGE_CONTENT:
            return "skip", f"its drawing instructions inflate to over {_mb(MAX_PAGE_CONTENT)} (the limit for one page)"
        if self.pixels > MAX_IMAGE_PIXELS or self.jpx_pixels > MAX_JPX_PIXELS:
            limit = MAX_JPX_PIXELS if self.jpx_pixels > MAX_JPX_PIXELS else MAX_IMAGE_PIXELS
            return "no render", f"{self.biggest} (over the {limit // 1_000_000} megapixels one page may decode)"
        return "", ""


def _resolve(obj: Any, read: list) -> Any:
    if obj is None:
        return None
    if hasattr(obj, "idnum"):          # an indirect reference: pypdf reads (and caches) the object
        read.append((obj.generation, obj.idnum))
    return obj.get_object()


def inspect_page(page: Any, content_limit: int = MAX_PAGE_CONTENT, cost: Optional[PageCost] = None) -> PageCost:
    """The cost of a pypdf page: its content streams, and the forms, tiling patterns and images its resources
    use (each shared object counted once); filled into `cost` when given (so that it holds what was read even
    when pypdf fails half way)."""
    from pypdf.generic import ArrayObject

    cost = cost if cost is not None else PageCost()
    biggest_px = 0
    seen: set[int] = set()
    todo: list[tuple[Any, Any, int]] = [(page.get("/Contents"), page.get("/Resources"), 0)]
    while todo:
        contents, resources, depth = todo.pop()
        contents = _resolve(contents, cost.read)
        for s in (contents if isinstance(contents, ArrayObject) else [contents]):
            s = _resolve(s, cost.read)
            if hasattr(s, "get"):
                cost.content += _inflated_size(s, content_limit - cost.content)
                if cost.content > content_limit:
                    return cost
        resources = _resolve(resources, cost.read)
        if not hasattr(resources, "get") or depth > 8:
            continue
        for group in ("/XObject", "/Pattern"):
            d = _resolve(resources.get(group), cost.read)
            if not hasattr(d, "values"):
                continue
            for ref in d.values():
                key = getattr(ref, "idnum", None)
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                obj = _resolve(ref, cost.read)
                if not hasattr(obj, "get"):
                    continue
                if obj.get("/Subtype") == "/Image":
                    w, h = _image_size(obj)
                    jpx = "/JPXDecode" in _names(obj.get("/Filter"))
                    cost.pixels += w * h
                    cost.jpx_pixels += w * h if jpx else 0
                    if w * h > biggest_px:
                        biggest_px = w * h
                        cost.biggest = f"an image of {w} x {h} pixels" if not jpx else \
                            f"a JPEG 2000 image of {w} x {h} pixels"
                elif obj.get("/Subtype") == "/Form" or obj.get("/PatternType") == 1:
                    todo.append((obj, obj.get("/Resources"), depth + 1))
    return cost


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.0f} MB"


# -- pdfium -------------------------------------------------------------------------------------------------------
def _graphics(page: Any) -> bool:
    import pypdfium2.raw as c

    raw = page.raw
    paths = 0
    for k in range(c.FPDFPage_CountObjects(raw)):
        kind = c.FPDFPageObj_GetType(c.FPDFPage_GetObject(raw, k))
        if kind in (c.FPDF_PAGEOBJ_IMAGE, c.FPDF_PAGEOBJ_SHADING, c.FPDF_PAGEOBJ_FORM):
            return True
        if kind == c.FPDF_PAGEOBJ_PATH:
            paths += 1
            if paths > TEXT_PAGE_PATHS:
                return True
    return False


def _text(page: Any) -> str:
    tp = page.get_textpage()
    try:
        return _clean(tp.get_text_range())
    finally:
        tp.close()


def _render(page: Any, width: float, height: float, max_side: int, seconds: float) -> tuple[Optional[np.ndarray], str]:
    """(BGR render at most max_side pixels, '') or (None, why not). Progressive rendering, abandoned after
    `seconds`."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as c

    if not (width > 0 and height > 0 and math.isfinite(width) and math.isfinite(height)):
        return None, f"its page size is {width:g} x {height:g} pt"
    scale = max_side / max(width, height)
    w, h = math.ceil(width * scale), math.ceil(height * scale)
    if min(w, h) < MIN_RENDER_PX:
        return None, f"its page is {width:g} x {height:g} pt (a render would be {w} x {h} pixels)"
    bitmap = pdfium.PdfBitmap.new_native(w, h, c.FPDFBitmap_BGR)
    bitmap.fill_rect((255, 255, 255, 255), 0, 0, w, h)
    deadline = time.monotonic() + seconds
    pause = c.IFSDK_PAUSE(version=1)
    pause.NeedToPauseNow = type(pause.NeedToPauseNow)(lambda _: int(time.monotonic() > deadline))
    try:
        status = c.FPDF_RenderPageBitmap_Start(bitmap, page, 0, 0, w, h, 0, c.FPDF_ANNOT, ctypes.byref(pause))
        while status == c.FPDF_RENDER_TOBECONTINUED and time.monotonic() <= deadline:
            status = c.FPDF_RenderPage_Continue(page, ctypes.byref(pause))
    finally:
        c.FPDF_RenderPage_Close(page)
    if status == c.FPDF_RENDER_TOBECONTINUED:
        return None, f"rendering it took over {seconds:g} s"
    if status != c.FPDF_RENDER_DONE:
        return None, "pdfium could not render it"
    img = np.array(bitmap.to_numpy()[:, :, :3])     # BGR, copied out of pdfium's buffer
    bitmap.close()
    return img, ""


# -- the document ---------------------------------------------------------------------------------------------
def _open(path: str):
    """A pypdf reader over the pages; MediaError for missing, empty, encrypted, corrupt or page-less PDFs."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not os.path.exists(path):
        raise MediaError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise MediaError(path, "empty file (0 bytes)")
    logging.getLogger("pypdf").setLevel(logging.ERROR)   # damaged files: one error line, not pypdf's warnings
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                raise MediaError(path, "encrypted PDF (a password is required)")
        n = len(reader.pages)
    except MediaError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise MediaError(path, f"corrupt or unreadable PDF ({type(e).__name__}: {str(e)[:80]})") from None
    except Exception as e:  # pypdf raises many types on damaged files
        raise MediaError(path, f"corrupt or unreadable PDF ({type(e).__name__})") from None
    if n == 0:
        raise MediaError(path, "PDF has no pages")
    return reader, n


class PdfPages:
    """A PDF's pages, one at a time: `len()` of them, and iterating gives each with its text layer, whether it
    has graphics, and (with `render`) a BGR render at most `max_side` pixels. MediaError at once when the file
    cannot be read at all; a page over a limit comes with a `problem` instead (no text when it was skipped, no
    image when it was not rendered). pdfium is not thread-safe: iterate in one thread."""

    def __init__(self, path: str, render: bool = True, max_side: int = RENDER_SIDE):
        import pypdfium2 as pdfium

        self.path, self.render, self.max_side = path, render, max_side
        self.reader, self._n = _open(path)
        try:
            self.doc = pdfium.PdfDocument(path)
        except pdfium.PdfiumError as e:
            raise MediaError(path, f"cannot read PDF ({e})") from None
        self.count = len(self.doc)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[PdfPage]:
        try:
            for i in range(self.count):
                yield _one_page(self.reader, self.doc, i, self._n, self.render, self.max_side)
        finally:
            self.close()

    def close(self) -> None:
        self.doc.close()


def pdf_pages(path: str, render: bool = True, max_side: int = RENDER_SIDE) -> Iterator[PdfPage]:
    """The pages of `path` (see PdfPages)."""
    return iter(PdfPages(path, render, max_side))


def _one_page(reader: Any, doc: Any, i: int, n: int, render: bool, max_side: int) -> PdfPage:
    import pypdfium2 as pdfium

    out = PdfPage(i + 1, "")
    cost = PageCost()
    if i < n:
        try:
            inspect_page(reader.pages[i], cost=cost)
        except Exception:
            pass                  # pypdf cannot follow it: pdfium may (its render is still time-bound)
        cache = getattr(reader, "resolved_objects", None)
        if isinstance(cache, dict):   # what was read for this page (a stream's or an image's bytes) is not kept
            for key in cost.read:
                cache.pop(key, None)
    verdict, why = cost.problem()
    if verdict == "skip":
        out.problem = f"page {out.page} skipped: {why}"
        return out
    try:
        page = doc[i]
    except pdfium.PdfiumError as e:
        out.problem = f"page {out.page} skipped: pdfium cannot read it ({e})"
        return out
    try:
        out.width, out.height = page.get_size()
        out.text = _text(page)
        out.graphics = _graphics(page)
        if not render:
            return out
        if verdict != "no render":
            out.image, why = _render(page, out.width, out.height, max_side, RENDER_SECONDS)
        if why:
            out.problem = f"page {out.page} not rendered: {why}" + ("; its text is indexed" if out.text else "")
    except pdfium.PdfiumError as e:
        out.problem = f"page {out.page} not rendered: pdfium failed ({e})"
    finally:
        page.close()
    return out


def read_pdf(path: str) -> list[PdfPage]:
    """Pages with their text layer (no renders); MediaError for encrypted, corrupt or empty PDFs."""
    return list(pdf_pages(path, render=False))


def render_pages(path: str, max_side: int = RENDER_SIDE) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (page number, BGR image) for each page that could be rendered."""
    for p in pdf_pages(path, render=True, max_side=max_side):
        if p.image is not None:
            yield p.page, p.image
