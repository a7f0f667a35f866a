"""PDF pages: text layer with pypdf, renders with pypdfium2 for pages that need OCR or matching."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import MediaError


@dataclass
class PdfPage:
    page: int          # 1-based
    text: str          # text layer ('' when there is none)


def _clean(text: str) -> str:
    text = re.sub("\u00ad\\s*\n\\s*", "", text)     # soft hyphen at a line break: join the word
    text = text.replace("\u00ad", "-")                 # elsewhere it stands for a printed hyphen
    text = re.sub(r"[ \t]+", " ", text)
    return text.strip()


def read_pdf(path: str) -> list[PdfPage]:
    """Pages with their text layer; MediaError for encrypted, corrupt or empty PDFs."""
    import logging
    import os

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
        pages = []
        for i, p in enumerate(reader.pages):
            try:
                text = p.extract_text() or ""
            except Exception:
                text = ""
            pages.append(PdfPage(i + 1, _clean(text)))
    except MediaError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise MediaError(path, f"corrupt or unreadable PDF ({type(e).__name__}: {str(e)[:80]})") from None
    except Exception as e:  # pypdf raises many types on damaged files
        raise MediaError(path, f"corrupt or unreadable PDF ({type(e).__name__})") from None
    if not pages:
        raise MediaError(path, "PDF has no pages")
    return pages


def render_pages(path: str, max_side: int = 1280):
    """Yield (page number, BGR image) for each page."""
    import pypdfium2 as pdfium

    try:
        doc = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as e:
        raise MediaError(path, f"cannot render PDF ({e})") from None
    try:
        for i in range(len(doc)):
            page = doc[i]
            w, h = page.get_size()
            scale = max_side / max(w, h)
            pil = page.render(scale=scale).to_pil().convert("RGB")
            yield i + 1, np.ascontiguousarray(np.asarray(pil)[:, :, ::-1])
            page.close()
    finally:
        doc.close()
