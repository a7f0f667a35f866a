"""A query, decoded once: typed text, a photo's pixels, a recording's samples, the course filter.

Every retriever reads the same `Query`; the input files are validated (one readable error per problem)
and decoded here, never again downstream.
"""
from __future__ import annotations

import dataclasses
import io
import os
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from .. import formats
from ..errors import MediaError, QueryError
from ..formats import Format, Limits

try:  # HEIC/HEIF photos from phones, when the wheel is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - optional
    pillow_heif = None  # type: ignore[assignment]


@dataclass(frozen=True)
class QueryImage:
    """A query photo: the file's bytes and format, and its pixels (BGR, EXIF orientation applied)."""

    path: str
    format: Format
    data: bytes
    pixels: np.ndarray


@dataclass(frozen=True)
class QueryAudio:
    """A spoken question: 16 kHz mono samples and what was said."""

    path: str
    samples: np.ndarray
    transcript: str


@dataclass(frozen=True)
class Query:
    """What every retriever ranks by. `text` is what the text path matches: the typed words, plus the
    recording's transcript, or (for a photo with nothing typed) the text read off the photo."""

    text: str = ""
    typed: str = ""
    image: Optional[QueryImage] = None
    audio: Optional[QueryAudio] = None
    course: Optional[str] = None
    k: int = 10
    latent: bool = True      # latent terms may stand in for words (`rank.searcher.LATENT_GATE`)
    vector_job: Optional[Future] = dataclasses.field(default=None, compare=False, repr=False)
    english_job: Optional[Future] = dataclasses.field(default=None, compare=False, repr=False)

    def vector(self) -> Optional[np.ndarray]:
        """The text embedding of `text` (computed beside the lexical search), or None without text."""
        return self.vector_job.result() if self.vector_job is not None else None

    def english_vector(self) -> Optional[np.ndarray]:
        """The English embedding of `text` when it is English, else None."""
        return self.english_job.result() if self.english_job is not None else None

    def with_text(self, text: str, vector_job: Optional[Future] = None,
                  english_job: Optional[Future] = None) -> "Query":
        return dataclasses.replace(self, text=text, vector_job=vector_job, english_job=english_job)


def _check_file(path: str, what: str, limit: int) -> None:
    if not os.path.isfile(path):
        raise QueryError(f"{path}: {what} file not found")
    size = os.path.getsize(path)
    if size == 0:
        raise QueryError(f"{path}: empty {what} file (0 bytes)")
    if size > limit:
        raise QueryError(f"{path}: {what} file too large ({size / 1e6:.1f} MB; limit {limit / 1e6:.0f} MB)")


def load_image(path: str, limits: Optional[Limits] = None) -> QueryImage:
    """A query image, validated and decoded: PNG, JPEG, WebP or HEIC (formats.py)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    limits = limits or Limits.from_env()
    accepted = formats.names("image", "query")
    _check_file(path, "image", limits.image_bytes)
    with open(path, "rb") as f:
        data = f.read()      # read once: decoded here, sent as is to Gemini
    try:
        with Image.open(io.BytesIO(data)) as im:
            name = formats.PIL_FORMATS.get(im.format or "")
            if name is None:
                raise QueryError(f"{path}: unsupported image format {im.format!r} (use {accepted})")
            w, h = im.size
            if w * h > limits.image_pixels:
                raise QueryError(f"{path}: image too large ({w}x{h} px; limit "
                                 f"{limits.image_pixels // 1_000_000} megapixels)")
            if min(w, h) < limits.image_min_side:
                raise QueryError(f"{path}: image too small ({w}x{h} px)")
            im.load()
            arr = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except QueryError:
        raise
    except UnidentifiedImageError:
        raise QueryError(f"{path}: not an image (content is not {accepted})") from None
    except Image.DecompressionBombError:
        raise QueryError(f"{path}: image too large (decompression bomb guard)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise QueryError(f"{path}: truncated or corrupt image ({str(e)[:80]})") from None
    return QueryImage(path, formats.by_name(name), data, np.ascontiguousarray(arr[:, :, ::-1]))


def load_audio(path: str, limits: Optional[Limits] = None) -> np.ndarray:
    """A spoken question as 16 kHz mono float32, at most `limits.audio_seconds` long."""
    from ..media.ffmpeg import decode_audio
    from ..media.probe import probe

    limits = limits or Limits.from_env()
    fmt = formats.from_path(path)
    if fmt is None or fmt.kind != "audio" or not fmt.query:
        ext = os.path.splitext(path)[1].lower()
        raise QueryError(f"{path}: unsupported audio type '{ext or '(none)'}' (use {formats.names('audio', 'query')})")
    _check_file(path, "audio", limits.audio_bytes)
    try:
        p = probe(path)
        if not p.has_audio:
            raise QueryError(f"{path}: no audio stream")
        if p.duration > limits.audio_seconds:
            raise QueryError(f"{path}: audio query too long ({p.duration:.0f} s; limit {limits.audio_seconds:.0f} s)")
        return decode_audio(path)
    except MediaError as e:
        raise QueryError(str(e)) from None


def decode_query(text: Optional[str], image: Optional[str], audio: Optional[str], course: Optional[str], k: int,
                 transcribe: Callable[[np.ndarray], str]) -> Query:
    """Validate and decode each part of a query once."""
    typed = (text or "").strip()
    q_image = load_image(image) if image else None
    q_audio = None
    if audio:
        samples = load_audio(audio)
        said = transcribe(samples).strip()
        if not said:
            raise QueryError(f"{audio}: no speech recognised in the audio query")
        q_audio = QueryAudio(audio, samples, said)
    joined = " ".join(p for p in (typed, q_audio.transcript if q_audio else "") if p)
    return Query(text=joined, typed=typed, image=q_image, audio=q_audio, course=course, k=k)
