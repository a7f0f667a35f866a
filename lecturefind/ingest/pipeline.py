"""Ingest files into an index directory, one SQLite transaction per file.

A file is skipped when its sha256 is unchanged, replaced when it changed, and a
failure is recorded as one readable line while the rest of the batch goes on.
A SIGKILL at any point leaves every file either fully old or fully new.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

import numpy as np

from ..config import IngestConfig
from ..errors import LectureFindError, MediaError
from ..index.catalog import Catalog, to_blob
from ..index.vectors import VectorStore
from ..models import Models
from ..values import media_kind
from .extract import Extracted, Extractor


@dataclass
class IngestReport:
    files: int = 0
    ingested: int = 0
    unchanged: int = 0
    segments: int = 0
    media_seconds: float = 0.0
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)
    stage_seconds: dict = field(default_factory=dict)

    @property
    def realtime_factor(self) -> float:
        return self.media_seconds / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        return (f"files: {self.files} ({self.ingested} ingested, {self.unchanged} unchanged, "
                f"{len(self.errors)} failed) · segments: {self.segments} · errors: {len(self.errors)} · "
                f"elapsed: {self.elapsed:.1f}s · media: {self.media_seconds:.0f}s · "
                f"real-time factor: {self.realtime_factor:.1f}x")


def discover(paths: Iterable[str]) -> list[tuple[str, Optional[str]]]:
    """(absolute path, error or None) for every file named or found under a directory."""
    out: list[tuple[str, Optional[str]]] = []
    for p in paths:
        ap = os.path.abspath(p)
        if os.path.isdir(ap):
            for root, dirs, files in os.walk(ap):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and media_kind(name):
                        out.append((os.path.join(root, name), None))
        elif not os.path.exists(ap):
            out.append((ap, "file not found"))
        elif media_kind(ap) is None:
            out.append((ap, f"unsupported file type '{os.path.splitext(ap)[1] or '(none)'}' "
                            "(videos: mp4 mov mkv webm m4v; audio: wav mp3 m4a flac; pdf)"))
        else:
            out.append((ap, None))
    return out


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class IndexLock:
    """One writer per index directory (readers never wait)."""

    def __init__(self, index_dir: str):
        self.path = os.path.join(index_dir, ".ingest.lock")

    def __enter__(self):
        self.fd = open(self.path, "w")
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.fd.close()


def segment_vector(seg, sent_vecs: np.ndarray, slide_vecs: np.ndarray) -> Optional[np.ndarray]:
    """A segment's vector: the mean of its speech and its slide-text directions, L2-normalised.

    Built from the sentence and slide embeddings already computed, so no text is embedded twice
    (embedding a whole 30 s clip's text costs ~10x more than its parts).
    """
    parts = []
    if seg.sentence_idx:
        parts.append(sent_vecs[seg.sentence_idx].mean(axis=0))
    if seg.slide_idx:
        parts.append(slide_vecs[seg.slide_idx].mean(axis=0))
    parts = [p / (np.linalg.norm(p) or 1.0) for p in parts]
    if not parts:
        return None
    v = np.mean(parts, axis=0)
    return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)


Reporter = Callable[[str, str, float, float], None]   # (file, stage, done, total)


class Ingestor:
    def __init__(self, index_dir: str, cfg: Optional[IngestConfig] = None, models: Optional[Models] = None,
                 reporter: Optional[Reporter] = None, log: Callable[[str], None] = print):
        self.index_dir = os.path.abspath(index_dir)
        self.cfg = cfg or IngestConfig()
        self.models = models or Models()
        self.catalog = Catalog(self.index_dir)
        self.vectors = VectorStore(self.index_dir)
        self.extractor = Extractor(self.models, self.cfg, os.path.join(self.index_dir, "keyframes"))
        self.reporter = reporter
        self.log = log
        self.gemini = None   # optional lecturefind.gemini.indexer.GeminiIndexer, set by `ingest --backend gemini`

    def close(self) -> None:
        self.catalog.close()

    def ingest(self, paths: Iterable[str], course: Optional[str] = None) -> IngestReport:
        rep = IngestReport()
        t0 = time.perf_counter()
        with IndexLock(self.index_dir):
            self.vectors.load(self.catalog, persist=True)
            for path, err in discover(paths):
                rep.files += 1
                if err:
                    self._fail(rep, path, err)
                    continue
                try:
                    self._one(rep, path, course)
                    if self.gemini is not None:   # after the offline signals are committed
                        self.gemini.index_file(self.catalog, path)
                except MediaError as e:
                    self._fail(rep, path, e.reason)
                except LectureFindError as e:
                    self._fail(rep, path, str(e))
                except Exception as e:  # never let one file stop the batch
                    self._fail(rep, path, f"unexpected {type(e).__name__}: {str(e)[:160]}")
            dirty = self.catalog.dirty_link_courses()   # also those of a run killed before this point
            if dirty:
                t1 = time.perf_counter()
                from ..visual.links import rebuild_links

                rebuild_links(self.catalog, dirty)
                rep.stage_seconds["links"] = time.perf_counter() - t1
        rep.elapsed = time.perf_counter() - t0
        return rep

    def _fail(self, rep: IngestReport, path: str, reason: str) -> None:
        line = f"error: {path}: {reason}"
        rep.errors.append(line)
        self.log(line)
        try:
            self.catalog.record_failure(path, media_kind(path), reason)
        except Exception:
            pass

    def _one(self, rep: IngestReport, path: str, course: Optional[str]) -> None:
        kind = media_kind(path)
        st = os.stat(path)
        if st.st_size == 0:
            raise MediaError(path, "empty file (0 bytes)")
        row = self.catalog.file_row(path)
        if row and row["state"] == "done" and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
            rep.unchanged += 1
            return
        digest = sha256_file(path)
        if row and row["state"] == "done" and row["sha256"] == digest:
            with self.catalog.transaction() as c:
                c.execute("UPDATE files SET size=?, mtime_ns=? WHERE id=?", (st.st_size, st.st_mtime_ns, row["id"]))
            rep.unchanged += 1
            return

        def progress(stage: str, done: float, total: float) -> None:
            if self.reporter:
                self.reporter(path, stage, done, total)

        ex = self.extractor.extract(path, kind, digest, progress)
        if not ex.segments:
            raise MediaError(path, "nothing to index (no speech, slides or text found)")
        t1 = time.perf_counter()
        emb = self.models.embedder
        sent_vecs = emb.passages([s.text for s in ex.sentences])
        slide_vecs = emb.passages([s.text for s in ex.slides])
        seg_vecs = [segment_vector(seg, sent_vecs, slide_vecs) for seg in ex.segments]
        ex.timings["embed"] = time.perf_counter() - t1
        progress("embed", 1, 1)
        course_name = course or os.path.basename(os.path.dirname(path)) or "default"
        removed, added = self._commit(path, st, digest, course_name, ex, seg_vecs, sent_vecs, slide_vecs)
        self.vectors.sync(self.catalog, self._gen_before, removed, added)
        rep.ingested += 1
        rep.segments += len(ex.segments)
        rep.media_seconds += ex.duration
        for k, v in ex.timings.items():
            rep.stage_seconds[k] = rep.stage_seconds.get(k, 0.0) + v

    def _commit(self, path, st, digest, course_name, ex: Extracted, seg_vecs, sent_vecs, slide_vecs):
        cat = self.catalog
        with cat.transaction() as c:
            self._gen_before = cat.generation
            course_id = cat.course_id(course_name)
            cat.mark_links_dirty(course_id)     # committed with the file: a crash cannot lose it
            row = cat.file_row(path)
            if row is None:
                file_id = c.execute("INSERT INTO files(path) VALUES(?)", (path,)).lastrowid
            else:
                file_id = row["id"]
            c.execute("UPDATE files SET sha256=?, size=?, mtime_ns=?, kind=?, state='done', error=NULL, "
                      "ingested_at=? WHERE id=?", (digest, st.st_size, st.st_mtime_ns, ex.kind, time.time(), file_id))
            lec = cat.one("SELECT id FROM lectures WHERE file_id=?", (file_id,))
            title = os.path.splitext(os.path.basename(path))[0].replace("_", " ")
            p = ex.probe
            vals = (course_id, title, ex.kind, ex.duration or None, p.width if p else None,
                    p.height if p else None, int(p.has_audio) if p else 0, ex.pages or None)
            removed: list[int] = []
            if lec is None:
                lecture_id = c.execute(
                    "INSERT INTO lectures(course_id, title, kind, duration, width, height, has_audio, pages, file_id)"
                    " VALUES(?,?,?,?,?,?,?,?,?)", vals + (file_id,)).lastrowid
            else:
                lecture_id = lec["id"]
                removed = cat.delete_lecture_content(lecture_id)
                c.execute("UPDATE lectures SET course_id=?, title=?, kind=?, duration=?, width=?, height=?, "
                          "has_audio=?, pages=? WHERE id=?", vals + (lecture_id,))
            added = {}
            for seg, vec in zip(ex.segments, seg_vecs):
                sid = c.execute(
                    "INSERT INTO segments(lecture_id, start_s, end_s, page, speech, slide_text, embedding) "
                    "VALUES(?,?,?,?,?,?,?)",
                    (lecture_id, seg.start, seg.end, seg.page, seg.speech, seg.slide_text, to_blob(vec))).lastrowid
                c.execute("INSERT INTO segments_fts(rowid, text) VALUES(?, ?)", (sid, seg.text))
                if vec is not None:
                    added[sid] = vec
            for sent, vec in zip(ex.sentences, sent_vecs):
                sid = c.execute("INSERT INTO sentences(lecture_id, start_s, end_s, text, embedding) VALUES(?,?,?,?,?)",
                                (lecture_id, sent.start, sent.end, sent.text, to_blob(vec))).lastrowid
                c.executemany("INSERT INTO words(sentence_id, start_s, end_s, word) VALUES(?,?,?,?)",
                              [(sid, w.start, w.end, w.text) for w in sent.words])
            for sl, vec in zip(ex.slides, slide_vecs):
                slide_id = c.execute(
                    "INSERT INTO slides(lecture_id, idx, start_s, end_s, keyframe_t, page, text, same_as, "
                    "image, embedding) VALUES(?,?,?,?,?,?,?,?,?,?)",
                    (lecture_id, sl.index, sl.start, sl.end, sl.keyframe_t,
                     sl.index + 1 if ex.kind == "pdf" else None, sl.text, sl.same_as, sl.image_path,
                     to_blob(vec) if sl.text else None)).lastrowid
                if sl.visual is not None:
                    kp, desc = sl.visual.to_blobs()
                    c.execute("INSERT INTO visual(slide_id, keypoints, descriptors, width, height) VALUES(?,?,?,?,?)",
                              (slide_id, kp, desc, sl.visual.width, sl.visual.height))
            cat.set_stamps(self.models.stamps())
            cat.bump_generation()
        return removed, added
