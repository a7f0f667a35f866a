"""Settings from flags and the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional


def default_index_dir() -> str:
    return os.environ.get("LECTUREFIND_INDEX", "./lecturefind-index")


@dataclass
class IngestConfig:
    window_s: float = 30.0        # clip length
    overlap_s: float = 10.0       # overlap between consecutive clips
    snap_s: float = 4.0           # snap clip edges to slide changes this close
    max_audio_clip_s: float = 80.0
    max_silent_clip_s: float = 120.0
    sample_fps: float = 2.0       # frames per second looked at for slide changes
    language: Optional[str] = None   # spoken language (ISO 639-1) of every lecture; None: detect per lecture
    glossary: tuple[str, ...] = ()   # course terms for the speech decoder (--vocab FILE)
    course_vocab: bool = False       # also the terms printed in the course's slide PDFs (--course-vocab)
    slide_vocab: bool = True         # the terms on the lecture's own slides (--no-slide-vocab)
    jobs: int = 1                    # files whose pictures and speech are worked on at once (--jobs)
    # a PDF of more pages is committed by its words first (searchable in seconds); its vectors and visual
    # descriptors follow in the same run (and a run killed before they do owes them to the next)
    pdf_later_above: int = 50

    @classmethod
    def from_env(cls) -> "IngestConfig":
        c = cls()
        for name, attr in (("LECTUREFIND_WINDOW_S", "window_s"), ("LECTUREFIND_OVERLAP_S", "overlap_s")):
            if os.environ.get(name):
                setattr(c, attr, float(os.environ[name]))
        if os.environ.get("LECTUREFIND_INGEST_JOBS"):
            c.jobs = max(1, int(os.environ["LECTUREFIND_INGEST_JOBS"]))
        if os.environ.get("LECTUREFIND_PDF_LATER_ABOVE"):
            c.pdf_later_above = max(0, int(os.environ["LECTUREFIND_PDF_LATER_ABOVE"]))
        if os.environ.get("LECTUREFIND_SLIDE_VOCAB", "1") == "0":
            c.slide_vocab = False
        return c
