"""Decoding through the static ffmpeg binary shipped by imageio-ffmpeg (command built with ffmpeg-python)."""
from __future__ import annotations

import functools
import subprocess
import tempfile
from typing import Iterator

import ffmpeg as ffmpeg_py
import numpy as np

from ..errors import MediaError


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _run(stream, path: str) -> bytes:
    cmd = stream.global_args("-nostdin", "-v", "error").compile(cmd=ffmpeg_exe())
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MediaError(path, "ffmpeg could not decode it: " + (msg[-1] if msg else f"exit {proc.returncode}"))
    return proc.stdout


def decode_audio(path: str, sr: int = 16000, start: float | None = None, duration: float | None = None) -> np.ndarray:
    """Mono float32 PCM at `sr` Hz."""
    kw = {}
    if start is not None:
        kw["ss"] = start
    if duration is not None:
        kw["t"] = duration
    stream = ffmpeg_py.input(path, **kw).output("pipe:", format="f32le", ac=1, ar=sr, vn=None, sn=None)
    return np.frombuffer(_run(stream, path), dtype=np.float32).copy()


def sample_frames(path: str, fps: float, width: int, height: int) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (t, gray uint8 HxW) at `fps`, decoded cheaply (no loop filter, area downscale, 2 threads)."""
    stream = (
        ffmpeg_py.input(path, skip_loop_filter="all", flags2="fast", threads=2)
        .filter("fps", fps=fps)
        .filter("scale", width, height, flags="area")
        .output("pipe:", format="rawvideo", pix_fmt="gray", an=None, sn=None)
        .global_args("-nostdin", "-v", "error")
    )
    cmd = stream.compile(cmd=ffmpeg_exe())
    # stderr goes to a file, not a pipe: a damaged video can log more than a pipe buffer holds, and an
    # undrained stderr pipe would block ffmpeg while we block reading stdout
    errf = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf)
    size = width * height
    i = 0
    assert proc.stdout is not None
    try:
        while True:
            buf = proc.stdout.read(size)
            if len(buf) < size:
                break
            yield i / fps, np.frombuffer(buf, np.uint8).reshape(height, width)
            i += 1
    finally:
        proc.stdout.close()
        proc.wait()
        errf.seek(0)
        err = errf.read().decode("utf-8", "replace").strip()
        errf.close()
    if proc.returncode != 0 and i == 0:
        raise MediaError(path, "ffmpeg could not decode video: " + (err.splitlines()[-1] if err else "no frames"))


def grab_frame(path: str, t: float, max_side: int = 1280) -> np.ndarray:
    """One BGR frame near time t, downscaled so its longer side is at most max_side."""
    scale = f"'min({max_side},iw)':'min({max_side},ih)':force_original_aspect_ratio=decrease"
    stream = (
        ffmpeg_py.input(path, ss=max(0.0, t))
        .output("pipe:", vframes=1, format="image2pipe", vcodec="png", vf=f"scale={scale}")
    )
    data = _run(stream, path)
    if not data:
        raise MediaError(path, f"truncated or corrupt video: no frame can be decoded at {t:.1f}s")
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise MediaError(path, f"could not decode frame at {t:.1f}s")
    return img
