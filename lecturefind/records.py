"""Records that travel between stages: probe results, transcript, slides, segments, and result moments."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from .visual.features import Features


@dataclass(frozen=True)
class Span:
    """A half-open time interval in seconds."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class Probe:
    """What a media file holds."""

    duration: float
    has_video: bool
    has_audio: bool
    fps: float = 0.0
    width: int = 0
    height: int = 0
    rotation: int = 0
    variable_fps: bool = False


@dataclass
class Word:
    start: float
    end: float
    text: str


@dataclass
class Sentence:
    """A transcript sentence with its words."""

    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)


@dataclass
class Slide:
    """A distinct slide (or scene) shown during [start, end)."""

    index: int
    start: float
    end: float
    keyframe_t: float
    text: str = ""
    title: str = ""                # its title line (OCR: the tallest line near the top; PDF: the first line)
    same_as: Optional[int] = None  # index of an earlier identical slide whose OCR is reused
    image_path: Optional[str] = None
    visual: Optional["Features"] = None   # of the keyframe / page render
    visual_later: int = 0          # >0: its descriptors are made after the commit, from its saved image, at this side


@dataclass
class Segment:
    """One searchable unit: a clip of a video/audio file or a PDF page."""

    start: float
    end: float
    speech: str = ""
    slide_text: str = ""
    page: Optional[int] = None
    sentence_idx: list[int] = field(default_factory=list)   # indices into the file's sentences
    slide_idx: list[int] = field(default_factory=list)      # indices into the file's slides

    @property
    def text(self) -> str:
        return "\n".join(t for t in (self.slide_text, self.speech) if t)


@dataclass
class Moment:
    """A search result: where in which lecture the answer is."""

    file: str
    lecture: str
    lecture_id: int
    course: str
    kind: str
    start_s: Optional[float]
    end_s: Optional[float]
    page: Optional[int]
    score: float
    snippet: str
    url: str
    confident: bool = False
    shown_in: list = field(default_factory=list)
    slide_ref: Optional[dict] = None
    segment_id: Optional[int] = None
    language: Optional[str] = None       # spoken language of the lecture (ISO 639-1)
    evidence: Optional[str] = None       # what carried it: 'speech', 'slide', 'page' or 'clip' (slides + speech)

    def to_json(self) -> dict:
        d = asdict(self)
        d["score"] = round(float(self.score), 4)
        for k in ("start_s", "end_s"):
            if d[k] is not None:
                d[k] = round(float(d[k]), 2)
        return d
