"""Errors with a message a user can read."""


class LectureFindError(Exception):
    """Base error; str() is one readable line."""


class MediaError(LectureFindError):
    """A file could not be read as the media its name claims."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class QueryError(LectureFindError):
    """A query input (image, audio) was refused."""
