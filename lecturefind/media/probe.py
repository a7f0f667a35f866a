"""Probe a media file with PyAV (the static ffmpeg from imageio-ffmpeg has no ffprobe)."""
from __future__ import annotations

import os

import av

from ..errors import MediaError
from ..records import Probe


def probe(path: str) -> Probe:
    """Duration, streams, fps, size and rotation; MediaError with a readable reason otherwise."""
    if not os.path.exists(path):
        raise MediaError(path, "file not found")
    if os.path.getsize(path) == 0:
        raise MediaError(path, "empty file (0 bytes)")
    try:
        with av.open(path, metadata_errors="ignore") as c:
            v = next((s for s in c.streams.video if s.codec_context is not None), None)
            a = next(iter(c.streams.audio), None)
            if v is None and a is None:
                raise MediaError(path, "no audio or video stream found")
            duration = _duration(c, v, a)
            if duration <= 0:
                raise MediaError(path, "could not determine a duration (truncated or corrupt file?)")
            p = Probe(duration=duration, has_video=v is not None, has_audio=a is not None)
            if v is not None:
                p.width, p.height = int(v.codec_context.width or 0), int(v.codec_context.height or 0)
                avg = v.average_rate or v.guessed_rate
                base = v.base_rate or avg
                p.fps = float(avg) if avg else 0.0
                p.variable_fps = bool(avg and base and abs(float(avg) - float(base)) > 0.01 * float(base))
                if p.width == 0 or p.height == 0:
                    raise MediaError(path, "video stream has no frame size (corrupt header?)")
                p.rotation = _rotation(c, v)
                if p.rotation in (90, 270):      # what a viewer sees (ffmpeg rotates decoded frames too)
                    p.width, p.height = p.height, p.width
            return p
    except MediaError:
        raise
    except av.error.InvalidDataError:
        raise MediaError(path, "not a readable media file (invalid data; corrupt or wrong extension)") from None
    except (av.error.FFmpegError, OSError) as e:
        raise MediaError(path, f"cannot open media: {getattr(e, 'strerror', None) or e}") from None


def _duration(c, v, a) -> float:
    if c.duration:
        return c.duration / 1_000_000
    for s in (v, a):
        if s is not None and s.duration and s.time_base:
            return float(s.duration * s.time_base)
    return 0.0


def _rotation(container, stream) -> int:
    """Display rotation in degrees: the legacy `rotate` tag, else the first frame's display matrix."""
    rot = stream.metadata.get("rotate")
    if rot:
        try:
            return int(float(rot)) % 360
        except ValueError:
            pass
    try:
        frame = next(container.decode(stream))
        return int(round(float(getattr(frame, "rotation", 0) or 0))) % 360
    except (StopIteration, av.error.FFmpegError, ValueError):
        return 0
