"""Build what is sent: small clip renditions (static ffmpeg via ffmpeg-python), one-page PDFs, audio."""
from __future__ import annotations

import io
import os
import subprocess
import tempfile

import ffmpeg as ffmpeg_py

from ..errors import MediaError
from ..media.ffmpeg import ffmpeg_exe
from .limits import Media


def _run(stream, path: str) -> None:
    cmd = stream.global_args("-nostdin", "-v", "error", "-y").compile(cmd=ffmpeg_exe())
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise MediaError(path, "ffmpeg could not cut a clip: " + (msg[-1] if msg else f"exit {proc.returncode}"))


def video_clip(path: str, start: float, end: float, *, has_video: bool, has_audio: bool, height: int = 360,
               fps: float = 2.0, audio_kbps: int = 32) -> Media:
    """[start, end) of `path` as a small mp4 (<= `height`p, `fps` fps, mono AAC) or, without video, mp3."""
    dur = max(0.1, end - start)
    with tempfile.TemporaryDirectory(prefix="lf-gemini-") as tmp:
        if has_video:
            out = os.path.join(tmp, "clip.mp4")
            src = ffmpeg_py.input(path, ss=round(start, 3), t=round(dur, 3))
            v = (src.video.filter("fps", fps=fps)
                 .filter("scale", -2, f"min({height},ih)", flags="area"))
            streams = [v] + ([src.audio] if has_audio else [])
            kw = dict(vcodec="libx264", preset="veryfast", crf=32, pix_fmt="yuv420p", g=int(max(1, fps * 10)),
                      movflags="+faststart", map_metadata=-1, sn=None)
            if has_audio:
                kw.update(acodec="aac", ac=1, ar=16000, audio_bitrate=f"{audio_kbps}k")
            _run(ffmpeg_py.output(*streams, out, **kw), path)
            mime, kind = "video/mp4", "video"
        else:
            out = os.path.join(tmp, "clip.mp3")
            src = ffmpeg_py.input(path, ss=round(start, 3), t=round(dur, 3))
            _run(src.output(out, acodec="libmp3lame", ac=1, ar=16000, audio_bitrate=f"{audio_kbps}k", vn=None,
                            map_metadata=-1), path)
            mime, kind = "audio/mpeg", "audio"
        with open(out, "rb") as f:
            data = f.read()
    return Media(kind=kind, mime=mime, data=data, duration=dur, has_audio=has_audio,
                 label=f"{os.path.basename(path)} {start:.1f}-{end:.1f}s")


def pdf_page(path: str, page: int) -> Media:
    """Page `page` (1-based) of a PDF as a one-page PDF."""
    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(path, strict=False)
    if reader.is_encrypted:
        reader.decrypt("")
    w = PdfWriter()
    w.add_page(reader.pages[page - 1])
    buf = io.BytesIO()
    w.write(buf)
    return Media(kind="pdf", mime="application/pdf", data=buf.getvalue(), pages=1,
                 label=f"{os.path.basename(path)} p{page}")


def audio_file(path: str, max_s: float = 80.0) -> Media:
    """An audio query: the first `max_s` seconds as mono mp3."""
    from ..media.probe import probe

    p = probe(path)
    m = video_clip(path, 0.0, min(p.duration, max_s), has_video=False, has_audio=True)
    m.label = os.path.basename(path)
    return m
