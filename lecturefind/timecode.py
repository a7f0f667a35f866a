"""A time position in a lecture, with its renderings: clock (m:ss), WebVTT, and the `t` of a link."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Timecode:
    """Seconds from the start of a lecture (never negative)."""

    seconds: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "seconds", max(0.0, float(self.seconds)))

    @property
    def whole(self) -> int:
        """Whole seconds, as a jump link's `?t=` carries them."""
        return int(self.seconds)

    def clock(self) -> str:
        """m:ss, or h:mm:ss from an hour on: '0:47', '12:05', '1:02:03'."""
        h, rem = divmod(self.whole, 3600)
        m, s = divmod(rem, 60)
        return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

    def vtt(self) -> str:
        """WebVTT cue time: 'HH:MM:SS.mmm'."""
        ms = int(round(self.seconds * 1000))
        h, ms = divmod(ms, 3600_000)
        m, ms = divmod(ms, 60_000)
        s, ms = divmod(ms, 1000)
        return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"

    def __str__(self) -> str:
        return self.clock()


def clock(seconds: float | None) -> str:
    """A clock string for optional seconds ('' for None): the one time format of every page and the CLI."""
    return "" if seconds is None else Timecode(seconds).clock()


def clock_span(start: float | None, end: float | None) -> str:
    return f"{clock(start)}–{clock(end)}"
