"""Every link LectureFind hands out, built in one place (the CLI, JSON results and every page use it)."""
from __future__ import annotations

from typing import Optional
from urllib.parse import urlencode

from .timecode import Timecode


def with_params(url: str, **params) -> str:
    """`url` with the non-empty params appended as a query string."""
    params = {k: v for k, v in params.items() if v not in (None, "", [])}
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params)


class Urls:
    """Paths of the web UI. `Urls(embed=True)` keeps watch/PDF/search links inside the LMS embed."""

    def __init__(self, embed: bool = False):
        self.embed = embed
        self._ui = "/embed" if embed else ""

    def search(self, **params) -> str:
        return with_params(self._ui or "/", **params)

    def watch(self, lecture_id: int, t: Optional[float] = 0.0, **params) -> str:
        return with_params(f"{self._ui}/watch/{int(lecture_id)}?t={Timecode(t or 0.0).whole}", **params)

    def pdf(self, lecture_id: int, page: Optional[int] = 1, **params) -> str:
        return with_params(f"{self._ui}/pdf/{int(lecture_id)}?page={int(page or 1)}", **params)

    def moment(self, kind: str, lecture_id: int, start_s: Optional[float] = None, page: Optional[int] = None,
               **params) -> str:
        """Where a result opens: the PDF page, or the player at the moment's start."""
        if kind == "pdf":
            return self.pdf(lecture_id, page, **params)
        return self.watch(lecture_id, start_s, **params)

    def lecture_home(self, lecture_id: int, kind: str) -> str:
        """A lecture's own page (the player or the first page inside the embed)."""
        if self.embed:
            return self.moment(kind, lecture_id)
        return f"/lectures/{int(lecture_id)}"

    # pages and files outside the embed's own routes
    @staticmethod
    def lecture(lecture_id: int) -> str:
        return f"/lectures/{int(lecture_id)}"

    @staticmethod
    def course(course_id: int) -> str:
        return f"/courses/{int(course_id)}"

    @staticmethod
    def courses() -> str:
        return "/courses"

    @staticmethod
    def media(lecture_id: int) -> str:
        return f"/media/{int(lecture_id)}"

    @staticmethod
    def captions(lecture_id: int) -> str:
        return f"/captions/{int(lecture_id)}.vtt"

    @staticmethod
    def chapters(lecture_id: int) -> str:
        return f"/chapters/{int(lecture_id)}.vtt"

    @staticmethod
    def thumb(slide_id: int) -> str:
        return f"/thumb/{int(slide_id)}.jpg"


URLS = Urls()
