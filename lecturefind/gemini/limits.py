"""What may be sent to the model, checked before anything is sent."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..formats import FORMATS
from .errors import LimitError

log = logging.getLogger("lecturefind.gemini")

MAX_CLIP_AUDIO_S = 80.0      # a video clip with its audio track
MAX_CLIP_SILENT_S = 120.0    # a video clip without audio
MAX_AUDIO_S = 80.0           # an audio input
MAX_IMAGES = 6               # per content
MAX_PDF_PAGES = 6            # per content
MAX_VIDEOS = 1               # per content
MAX_TEXT_TOKENS = 8192
CHARS_PER_TOKEN = 4          # estimate used for truncation and the dry-run

# what the model takes as it is (formats.py; others are re-encoded first), plus the aliases clients send
MIME_TYPES = {kind: {f.mime for f in FORMATS if f.kind == kind and f.gemini}
              for kind in ("image", "video", "audio", "pdf")}
MIME_TYPES["audio"] |= {"audio/mp3", "audio/x-wav"}

# tokens per input, for the estimate (video: 258 tokens per sampled frame at 1 fps + 32 per second of audio)
TOKENS_PER_IMAGE = 258
TOKENS_PER_PDF_PAGE = 258
TOKENS_PER_VIDEO_S = 258
TOKENS_PER_AUDIO_S = 32


@dataclass
class Media:
    """One inline part: bytes with a MIME type (duration in seconds for audio/video)."""

    kind: str                  # image | video | audio | pdf
    mime: str
    data: bytes
    duration: float = 0.0
    has_audio: bool = False
    pages: int = 1
    label: str = ""


@dataclass
class Item:
    """One input that becomes exactly one Content and one vector."""

    task: str                           # 'query' | 'document'
    text: Optional[str] = None
    media: list[Media] = field(default_factory=list)
    label: str = ""

    def modality(self) -> str:
        kinds = {m.kind for m in self.media}
        for k in ("video", "audio", "pdf", "image"):
            if k in kinds:
                return k
        return "text"


def estimate_tokens(item: Item) -> dict:
    """{modality: tokens} for one item."""
    out: dict = {}

    def add(k: str, n: float) -> None:
        out[k] = out.get(k, 0) + int(round(n))

    if item.text:
        add("text", len(item.text) / CHARS_PER_TOKEN)
    for m in item.media:
        if m.kind == "video":
            add("video", m.duration * TOKENS_PER_VIDEO_S)
            if m.has_audio:
                add("audio", m.duration * TOKENS_PER_AUDIO_S)
        elif m.kind == "audio":
            add("audio", m.duration * TOKENS_PER_AUDIO_S)
        elif m.kind == "image":
            add("image", TOKENS_PER_IMAGE)
        elif m.kind == "pdf":
            add("document", TOKENS_PER_PDF_PAGE * m.pages)
    return out


def check_item(item: Item, warn: Optional[Callable[[str], None]] = None) -> Item:
    """Raise LimitError for anything the model refuses; truncate long text with a warning."""
    where = f" ({item.label})" if item.label else ""
    counts: dict = {}
    for m in item.media:
        counts[m.kind] = counts.get(m.kind, 0) + (m.pages if m.kind == "pdf" else 1)
        allowed = MIME_TYPES.get(m.kind)
        if allowed is None or m.mime not in allowed:
            ok = ", ".join(sorted(t for s in MIME_TYPES.values() for t in s))
            raise LimitError(f"unsupported MIME type '{m.mime}' for {m.kind}{where}; supported: {ok}")
        if not m.data:
            raise LimitError(f"empty {m.kind} payload{where}")
        if m.kind == "video":
            cap = MAX_CLIP_AUDIO_S if m.has_audio else MAX_CLIP_SILENT_S
            if m.duration > cap + 0.05:
                raise LimitError(f"video clip of {m.duration:.1f}s is over the {cap:.0f}s limit "
                                 f"{'with' if m.has_audio else 'without'} audio{where}")
        if m.kind == "audio" and m.duration > MAX_AUDIO_S + 0.05:
            raise LimitError(f"audio of {m.duration:.1f}s is over the {MAX_AUDIO_S:.0f}s limit{where}")
    if counts.get("video", 0) > MAX_VIDEOS:
        raise LimitError(f"{counts['video']} videos in one input; at most {MAX_VIDEOS}{where}")
    if counts.get("image", 0) > MAX_IMAGES:
        raise LimitError(f"{counts['image']} images in one input; at most {MAX_IMAGES}{where}")
    if counts.get("pdf", 0) > MAX_PDF_PAGES:
        raise LimitError(f"{counts['pdf']} PDF pages in one input; at most {MAX_PDF_PAGES}{where}")
    if item.text is not None:
        limit = MAX_TEXT_TOKENS * CHARS_PER_TOKEN
        if len(item.text) > limit:
            msg = (f"warning: text of ~{len(item.text) // CHARS_PER_TOKEN} tokens is over the "
                   f"{MAX_TEXT_TOKENS}-token limit; truncated{where}")
            (warn or log.warning)(msg)
            item.text = item.text[:limit]
    if not item.text and not item.media:
        raise LimitError(f"nothing to embed{where}")
    return item
