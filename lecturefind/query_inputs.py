"""Validate and decode query inputs (images, audio) with one readable error per problem."""
from __future__ import annotations

import os

import numpy as np

from .errors import QueryError

IMAGE_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP", "HEIF": "HEIC", "HEIC": "HEIC"}
MAX_IMAGE_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_AUDIO_S = 80.0
AUDIO_EXTS = {".wav", ".mp3", ".m4a", ".flac"}

try:  # HEIC/HEIF photos from phones, when the wheel is installed
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - optional
    pillow_heif = None


def _check_file(path: str, what: str, limit: int) -> None:
    if not os.path.isfile(path):
        raise QueryError(f"{path}: {what} file not found")
    size = os.path.getsize(path)
    if size == 0:
        raise QueryError(f"{path}: empty {what} file (0 bytes)")
    if size > limit:
        raise QueryError(f"{path}: {what} file too large ({size / 1e6:.1f} MB; limit {limit / 1e6:.0f} MB)")


def load_image(path: str) -> np.ndarray:
    """A query image as BGR uint8, EXIF orientation applied. PNG, JPEG, WebP (HEIC with pillow-heif)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    _check_file(path, "image", MAX_IMAGE_BYTES)
    try:
        with Image.open(path) as im:
            fmt = IMAGE_FORMATS.get(im.format or "")
            if fmt is None:
                raise QueryError(f"{path}: unsupported image format {im.format!r} (use PNG, JPEG, WebP or HEIC)")
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise QueryError(f"{path}: image too large ({w}x{h} px; limit {MAX_PIXELS // 1_000_000} megapixels)")
            if min(w, h) < 16:
                raise QueryError(f"{path}: image too small ({w}x{h} px)")
            im.load()
            im = ImageOps.exif_transpose(im).convert("RGB")
            arr = np.asarray(im)
    except QueryError:
        raise
    except UnidentifiedImageError:
        raise QueryError(f"{path}: not an image (content is not PNG, JPEG, WebP or HEIC)") from None
    except Image.DecompressionBombError:
        raise QueryError(f"{path}: image too large (decompression bomb guard)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise QueryError(f"{path}: truncated or corrupt image ({str(e)[:80]})") from None
    return np.ascontiguousarray(arr[:, :, ::-1])


def load_audio(path: str) -> np.ndarray:
    """A query recording as 16 kHz mono float32; at most 80 s."""
    from .errors import MediaError
    from .media.ffmpeg import decode_audio
    from .media.probe import probe

    ext = os.path.splitext(path)[1].lower()
    if ext not in AUDIO_EXTS:
        raise QueryError(f"{path}: unsupported audio type '{ext or '(none)'}' (use WAV, MP3, M4A or FLAC)")
    _check_file(path, "audio", 50 * 1024 * 1024)
    try:
        p = probe(path)
        if not p.has_audio:
            raise QueryError(f"{path}: no audio stream")
        if p.duration > MAX_AUDIO_S:
            raise QueryError(f"{path}: audio query too long ({p.duration:.0f} s; limit {MAX_AUDIO_S:.0f} s)")
        return decode_audio(path)
    except MediaError as e:
        raise QueryError(str(e)) from None
