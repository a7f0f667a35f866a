"""Every media format LectureFind reads, in one table: extensions, MIME types, magic bytes, limits.

Ingest (`media_kind`), the CLI, web uploads (`sniff`), query inputs and the Gemini backend (`gemini_ok`)
all read this table, so a format accepted in one place is accepted in all of them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Optional


def _ftyp(*brands: bytes) -> Callable[[bytes], bool]:
    """ISO base media (MP4/MOV/M4A/HEIC): 'ftyp' at offset 4, then a major brand."""
    return lambda h: h[4:8] == b"ftyp" and (not brands or h[8:12] in brands)


def _riff(form: bytes) -> Callable[[bytes], bool]:
    return lambda h: h[:4] == b"RIFF" and h[8:12] == form


def _prefix(*heads: bytes) -> Callable[[bytes], bool]:
    return lambda h: any(h.startswith(x) for x in heads)


def _mp3(h: bytes) -> bool:
    return h[:3] == b"ID3" or (len(h) > 1 and h[0] == 0xFF and (h[1] & 0xE0) == 0xE0)


_HEIC_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


@dataclass(frozen=True)
class Format:
    name: str                       # shown to users: "PNG", "MP4"
    kind: str                       # 'video' | 'audio' | 'pdf' | 'image'
    exts: tuple[str, ...]           # lower case, with the dot; the first is the canonical one
    mime: str
    magic: Callable[[bytes], bool]  # true for the first bytes of such a file
    ingest: bool = False            # `lecturefind ingest` takes it
    query: bool = False             # accepted as a query image / spoken question
    gemini: bool = False            # Gemini Embedding takes the bytes as they are (else re-encoded)

    @property
    def ext(self) -> str:
        return self.exts[0]


FORMATS: tuple[Format, ...] = (
    Format("MP4", "video", (".mp4", ".m4v"), "video/mp4", _ftyp(), ingest=True, gemini=True),
    Format("QuickTime", "video", (".mov",), "video/quicktime", _ftyp(b"qt  "), ingest=True, gemini=True),
    Format("Matroska", "video", (".mkv",), "video/x-matroska", _prefix(b"\x1a\x45\xdf\xa3"), ingest=True),
    Format("WebM", "video", (".webm",), "video/webm", _prefix(b"\x1a\x45\xdf\xa3"), ingest=True),
    Format("WAV", "audio", (".wav",), "audio/wav", _riff(b"WAVE"), ingest=True, query=True, gemini=True),
    Format("MP3", "audio", (".mp3",), "audio/mpeg", _mp3, ingest=True, query=True, gemini=True),
    Format("M4A", "audio", (".m4a",), "audio/mp4", _ftyp(), ingest=True, query=True),
    Format("FLAC", "audio", (".flac",), "audio/flac", _prefix(b"fLaC"), ingest=True, query=True),
    Format("OGG", "audio", (".ogg", ".opus"), "audio/ogg", _prefix(b"OggS"), query=True),      # browser recordings
    Format("WebM audio", "audio", (".weba",), "audio/webm", _prefix(b"\x1a\x45\xdf\xa3"), query=True),
    Format("PDF", "pdf", (".pdf",), "application/pdf", _prefix(b"%PDF-"), ingest=True, gemini=True),
    Format("PNG", "image", (".png",), "image/png", _prefix(b"\x89PNG\r\n\x1a\n"), query=True, gemini=True),
    Format("JPEG", "image", (".jpg", ".jpeg"), "image/jpeg", _prefix(b"\xff\xd8\xff"), query=True, gemini=True),
    Format("WebP", "image", (".webp",), "image/webp", _riff(b"WEBP"), query=True),
    Format("HEIC", "image", (".heic", ".heif"), "image/heic", _ftyp(*_HEIC_BRANDS), query=True),
)

_BY_EXT = {e: f for f in FORMATS for e in f.exts}
# Pillow's names for the image formats we take (MPO: a multi-picture JPEG from some phones)
PIL_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP", "HEIF": "HEIC", "HEIC": "HEIC"}


def by_name(name: str) -> Format:
    return next(f for f in FORMATS if f.name == name)


def from_path(path: str) -> Optional[Format]:
    """The format a file name claims (by extension), or None."""
    return _BY_EXT.get(os.path.splitext(path)[1].lower())


def media_kind(path: str) -> Optional[str]:
    """'video' | 'audio' | 'pdf' for a file `lecturefind ingest` takes, from its name; else None."""
    f = from_path(path)
    return f.kind if f is not None and f.ingest else None


def names(kind: str, role: str = "ingest") -> str:
    """'PNG, JPEG, WebP or HEIC': the formats of a kind accepted in a role, for messages."""
    got = list(dict.fromkeys(f.name.split()[0] for f in FORMATS if f.kind == kind and getattr(f, role)))
    return ", ".join(got[:-1]) + " or " + got[-1] if len(got) > 1 else "".join(got)


def ingest_exts() -> str:
    """'videos: mp4 m4v mov ...; audio: ...; pdf', for messages."""
    parts = []
    for kind, label in (("video", "videos"), ("audio", "audio"), ("pdf", "pdf")):
        exts = [e[1:] for f in FORMATS if f.kind == kind and f.ingest for e in f.exts]
        parts.append(label if kind == "pdf" else f"{label}: {' '.join(exts)}")
    return "; ".join(parts)


def sniff(head: bytes, kind: str) -> Optional[Format]:
    """The query format (image or audio) whose magic bytes `head` starts with, or None."""
    for f in FORMATS:
        if f.kind == kind and f.query and f.magic(head):
            return f
    return None


def mime(path: str) -> str:
    f = from_path(path)
    return f.mime if f is not None else "application/octet-stream"


@dataclass(frozen=True)
class Limits:
    """Size limits on query inputs; the web server's upload limits are the same numbers."""

    image_bytes: int = 10 * 1024 * 1024
    image_pixels: int = 40_000_000
    image_min_side: int = 16
    audio_bytes: int = 25 * 1024 * 1024
    audio_seconds: float = 80.0

    @classmethod
    def from_env(cls) -> "Limits":
        def mb(name: str, default: int) -> int:
            raw = os.environ.get(name)
            return int(float(raw) * 1024 * 1024) if raw else default

        d = cls()
        return cls(image_bytes=mb("LECTUREFIND_MAX_IMAGE_MB", d.image_bytes),
                   audio_bytes=mb("LECTUREFIND_MAX_AUDIO_MB", d.audio_bytes))
