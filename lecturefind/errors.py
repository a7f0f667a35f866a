"""Errors with a message a user can read, and the one rule for showing a file name on one line."""


def printable(text: str) -> str:
    """`text` safe for one terminal or log line: control and format characters (newline, ESC of an ANSI/OSC
    sequence, bidi overrides) shown as escapes instead of acting."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def os_reason(e: OSError) -> str:
    """A plain reason for a file system error: 'permission denied', 'too many levels of symbolic links'."""
    return (e.strerror or type(e).__name__).lower()


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
