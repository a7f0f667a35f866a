"""Decoding through the static ffmpeg binary shipped by imageio-ffmpeg (command built with ffmpeg-python)."""
from __future__ import annotations

import functools
import re
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


_KNOWN = [   # (what ffmpeg says, what a person can act on)
    (re.compile(r"moov atom not found", re.I), "truncated file: its index (moov atom) is missing"),
    (re.compile(r"partial file", re.I), "truncated file: it ends early (an incomplete download or copy?)"),
    (re.compile(r"Invalid data found|could not find codec parameters|Invalid argument", re.I),
     "not a readable video (invalid data: corrupt, or not the format its name says)"),
    (re.compile(r"partial file|Error while decoding|corrupt|truncat|End of file", re.I),
     "truncated or corrupt stream"),
    (re.compile(r"No such file", re.I), "file not found"),
    (re.compile(r"Permission denied", re.I), "permission denied"),
    (re.compile(r"Output file (#0 )?does not contain any stream|does not contain any stream", re.I),
     "no picture or sound stream can be decoded"),
]
_PREFIX = re.compile(r"^\s*\[[^\]]*@ ?0x[0-9a-f]+\]\s*|^\s*\[[^\]]*\]\s*", re.I)


def reason(stderr: str, what: str = "decode it") -> str:
    """One plain line for an ffmpeg failure: a known cause in words, else ffmpeg's last line without its
    `[component @ 0x…]` prefix (never a raw exit code)."""
    text = stderr or ""
    for pattern, plain in _KNOWN:
        if pattern.search(text):
            return plain
    lines = [_PREFIX.sub("", ln).strip() for ln in text.strip().splitlines()]
    lines = [ln for ln in lines if ln]
    return f"ffmpeg could not {what}" + (f": {lines[-1][:120]}" if lines else "")


def _run(stream, path: str) -> bytes:
    cmd = stream.global_args("-nostdin", "-v", "error").compile(cmd=ffmpeg_exe())
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise MediaError(path, reason(proc.stderr.decode("utf-8", "replace")))
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


def sample_frames(path: str, fps: float, width: int, height: int, colour: bool = False, keep: int = 0,
                  duration: float = 0.0) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (t, frame) at `fps`: grey uint8 HxW, or BGR HxWx3 with `colour`, area-scaled to width x height.
    Decoded cheaply: B-frames are skipped (a sample lands at most a few frames early, never a whole slide), no
    loop filter, 2 threads; at 2 fps that is a third of the decode time of every frame. With `keep`, frames are
    read into `keep` + 1 buffers in turn (no new memory per frame): a frame stays valid while `keep` more
    are read, so copy one that must live longer. Pictures that stop well before `duration` with ffmpeg
    reporting damage (a truncated download) are a MediaError at the end, not a silently shorter lecture."""
    stream = (
        ffmpeg_py.input(path, skip_frame="bidir", skip_loop_filter="all", flags2="fast", threads=2)
        .filter("fps", fps=fps)
        .filter("scale", width, height, flags="area")
        .output("pipe:", format="rawvideo", pix_fmt="bgr24" if colour else "gray", an=None, sn=None)
        .global_args("-nostdin", "-v", "error")
    )
    cmd = stream.compile(cmd=ffmpeg_exe())
    # stderr goes to a file, not a pipe: a damaged video can log more than a pipe buffer holds, and an
    # undrained stderr pipe would block ffmpeg while we block reading stdout
    errf = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, bufsize=0)
    shape = (height, width, 3) if colour else (height, width)
    size = int(np.prod(shape))
    buffers = [bytearray(size) for _ in range(keep + 1)] if keep else []
    i = 0
    assert proc.stdout is not None
    try:
        while True:
            buf = buffers[i % len(buffers)] if buffers else bytearray(size)
            if _read_into(proc.stdout, buf) < size:
                break
            yield i / fps, np.frombuffer(buf, np.uint8).reshape(shape)
            i += 1
    finally:
        proc.stdout.close()
        proc.wait()
        errf.seek(0)
        err = errf.read().decode("utf-8", "replace").strip()
        errf.close()
    if proc.returncode != 0 and i == 0:
        raise MediaError(path, reason(err, "decode the video") if err else "no video frame can be decoded")
    if err and duration and i / fps < duration - max(5.0, 0.05 * duration):
        raise MediaError(path, f"{reason(err, 'decode the video')}: pictures end at {i / fps:.0f} s of "
                               f"{duration:.0f} s")


def _read_into(f, buf: bytearray) -> int:
    """Fill buf from f; the bytes read (fewer at the end of the stream)."""
    view, got = memoryview(buf), 0
    while got < len(buf):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def frame_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """(w, h) of a frame scaled down to fit max_side (never up), both even."""
    s = min(1.0, max_side / max(width, height, 1))
    return max(2, int(width * s) // 2 * 2), max(2, int(height * s) // 2 * 2)


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
