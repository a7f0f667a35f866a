"""The retriever seam: a decoded `Query` in, a ranking of segment ids with scores out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional, Protocol

from ..query import Query

CANDIDATES = 200     # ranked segments per retriever

Reads = Literal["text", "image", "audio"]


@dataclass(frozen=True)
class Ranked:
    """One segment in a ranking; `slide_id` names the slide a visual match was verified against."""

    segment_id: int
    score: float
    slide_id: Optional[int] = None


class Retriever(Protocol):
    """Ranks segments for the part of a query it `reads`; an empty list when that part is absent."""

    name: str
    reads: Reads

    def rank(self, query: Query, n: int = CANDIDATES) -> list[Ranked]: ...
