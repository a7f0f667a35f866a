"""Reading learning objectives: a text/Markdown list, a CSV with an `objective` column, or a syllabus PDF.

In text and PDFs, bullet or numbered lines are the objectives and headings group them; a text file without any
bullet is one objective per line. Every refusal is an `ObjectivesError` naming the file and the reason.
"""
from __future__ import annotations

import csv
import io
import os
import re
from dataclasses import dataclass

from ..errors import LectureFindError, os_reason

MAX_OBJECTIVES = 1000        # an audit asks one search per objective; beyond this, split the list
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_CHARS = 500              # the longest question the search accepts

_BULLET = re.compile(r"^\s*(?:[-*+•◦▪▸►‣●○■□–—]|\(?\d{1,3}[.)]|\(?[a-zA-Z][.)]|\[[ xX]\])\s+(?P<text>\S.*)$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(?P<text>.+?)\s*#*\s*$")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


class ObjectivesError(LectureFindError):
    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")


# "By the end of the course, students will be able to ..." and the syllabus's action verb (Bloom's taxonomy) say
# what the student does, not what is taught: left out of the question asked, so "Compute the eigenvalues" does not
# match "computer" and "Explain ..." does not match every slide that says "explain".
_FRAME = re.compile(
    r"^(?:(?:by the end of|after|upon completing|on completion of|at the end of)\s+(?:this|the)\s+\w+\s*,?\s*)?"
    r"(?:(?:students?|learners?|participants?|you)\s+(?:will|should|can|must|shall|are able to|is able to)"
    r"(?:\s+be\s+able\s+to)?\s+|(?:be\s+)?able\s+to\s+)", re.IGNORECASE)
ACTION_VERBS = frozenset("""
analyse analyze apply appraise argue arrange assess calculate categorize cite classify compare compute construct
contrast create critique define demonstrate derive describe design develop differentiate discuss distinguish
estimate evaluate examine explain express formulate identify illustrate implement interpret justify know label
list locate name outline perform plan predict prove recall recognise recognize relate reproduce select show sketch
solve state summarise summarize understand use write be become gain learn master practise practice
""".split())
_VERB = re.compile(r"^(?P<verb>[A-Za-z]+)(?:\s*(?:,|and|or|/)\s*(?P<verb2>[A-Za-z]+))?\s+(?P<rest>.+)$")


def as_question(text: str) -> str:
    """What an objective asks the search: its framing and leading action verbs removed, when enough remains."""
    rest = _FRAME.sub("", text.strip(), count=1)
    m = _VERB.match(rest)
    if m and m.group("verb").lower() in ACTION_VERBS and (m.group("verb2") is None
                                                          or m.group("verb2").lower() in ACTION_VERBS):
        rest = m.group("rest")
    elif m and m.group("verb").lower() in ACTION_VERBS:
        rest = rest[len(m.group("verb")):].strip()
    return rest.strip() or text


@dataclass(frozen=True)
class Objective:
    text: str
    group: str = ""
    line: int = 0            # where it was read (1-based line, CSV row, or PDF page)

    @property
    def question(self) -> str:
        return as_question(self.text)


def _plain(text: str) -> str:
    """Markdown emphasis, code ticks, links and check boxes removed; whitespace collapsed; capped in length."""
    text = _LINK.sub(r"\1", text)
    text = re.sub(r"^\[[ xX]\]\s+", "", text.strip())
    text = re.sub(r"(\*\*|__|`|~~)", "", text)
    text = " ".join(text.split()).strip(" *_")
    return text[:MAX_CHARS]


def _decode(path: str, data: bytes) -> str:
    if b"\x00" in data:
        raise ObjectivesError(path, "a binary file, not a list of objectives (text, Markdown, CSV or PDF)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\r\n\f")
    if controls > len(text) * 0.01:
        raise ObjectivesError(path, "a binary file, not a list of objectives (text, Markdown, CSV or PDF)")
    return text


def _from_lines(lines: list[tuple[int, str]], pdf: bool) -> list[Objective]:
    """Bullets are objectives and the heading above them their group; without bullets (text only), every line."""
    bulleted = any(_BULLET.match(t) for _, t in lines)
    out: list[Objective] = []
    group = ""
    for n, raw in lines:
        if not raw.strip():
            continue
        h = _HEADING.match(raw)
        if h:
            group = _plain(h.group("text"))
            continue
        b = _BULLET.match(raw)
        if b:
            text = _plain(b.group("text"))
            if text:
                out.append(Objective(text, group, n))
        elif bulleted or pdf:
            # a line between bullets: a heading if it is short and reads like one, else prose (ignored)
            words = raw.split()
            if len(words) <= 8 and not raw.rstrip().endswith((".", ",", ";")):
                group = _plain(raw).rstrip(":")
        else:
            text = _plain(raw)
            if text:
                out.append(Objective(text, group, n))
    return out


def _from_csv(path: str, text: str) -> list[Objective]:
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as e:
        raise ObjectivesError(path, f"not a readable CSV ({e})") from None
    if not rows:
        return []
    head = [c.strip().lower() for c in rows[0]]
    if "objective" not in head:
        raise ObjectivesError(path, "a CSV needs an 'objective' column (found: " + ", ".join(head[:8]) + ")")
    col = head.index("objective")
    gcol = next((head.index(c) for c in ("group", "section", "module", "unit", "topic") if c in head), None)
    out = []
    for n, row in enumerate(rows[1:], start=2):
        text = _plain(row[col]) if col < len(row) else ""
        if text:
            group = _plain(row[gcol]) if gcol is not None and gcol < len(row) else ""
            out.append(Objective(text, group, n))
    return out


def _from_pdf(path: str) -> list[Objective]:
    from ..media.pdf import read_pdf

    pages = read_pdf(path)          # MediaError for encrypted, corrupt or empty PDFs
    lines = [(p.page, line) for p in pages for line in p.text.splitlines()]
    if not any(t.strip() for _, t in lines):
        raise ObjectivesError(path, "the PDF has no text layer to read objectives from")
    out = _from_lines(lines, pdf=True)
    if not out:
        raise ObjectivesError(path, "no bullet or numbered lines in the PDF (objectives are read from those)")
    return out


def read_objectives(path: str, limit: int = MAX_OBJECTIVES) -> list[Objective]:
    """The objectives in `path`, duplicates dropped, in file order."""
    try:
        size = os.path.getsize(path)
        if os.path.isdir(path):
            raise ObjectivesError(path, "a folder, not a file of objectives")
    except OSError as e:
        raise ObjectivesError(path, os_reason(e)) from None
    if size == 0:
        raise ObjectivesError(path, "empty file (0 bytes): no objectives to audit")
    if size > MAX_FILE_BYTES:
        raise ObjectivesError(path, f"{size / 1e6:.1f} MB is too large for a list of objectives "
                                    f"(at most {MAX_FILE_BYTES // (1024 * 1024)} MB)")
    ext = os.path.splitext(path)[1].lower()
    try:
        with open(path, "rb") as fh:
            head = fh.read(5)
            if ext == ".pdf" or head.startswith(b"%PDF-"):
                found = _from_pdf(path)
            else:
                data = head + fh.read()
                text = _decode(path, data)
                found = _from_csv(path, text) if ext == ".csv" else \
                    _from_lines(list(enumerate(text.splitlines(), start=1)), pdf=False)
    except OSError as e:
        raise ObjectivesError(path, os_reason(e)) from None
    seen: set[str] = set()
    out = []
    for o in found:
        key = " ".join(o.text.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(o)
    if not out:
        raise ObjectivesError(path, "no objectives found (one per line or bullet; headings group them)")
    if len(out) > limit:
        raise ObjectivesError(path, f"{len(out)} objectives; at most {limit} per audit "
                                    "(split the list, or raise --max-objectives)")
    return out
