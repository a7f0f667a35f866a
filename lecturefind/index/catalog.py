"""The SQLite catalog: courses, lectures, files, segments, transcript, slides, ingest state.

SQLite is the source of truth. Every file is committed in one transaction, so a
crash at any point leaves either the old or the new state of that file.
"""
from __future__ import annotations

import os
import sqlite3
import time
from typing import Iterable, Optional

import numpy as np

SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS stamps(component TEXT PRIMARY KEY, version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS courses(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS files(
    id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, sha256 TEXT, size INTEGER, mtime_ns INTEGER,
    kind TEXT, state TEXT NOT NULL DEFAULT 'pending', error TEXT, ingested_at REAL);
CREATE TABLE IF NOT EXISTS lectures(
    id INTEGER PRIMARY KEY, course_id INTEGER NOT NULL REFERENCES courses(id),
    file_id INTEGER UNIQUE NOT NULL REFERENCES files(id), title TEXT NOT NULL, kind TEXT NOT NULL,
    duration REAL, width INTEGER, height INTEGER, has_audio INTEGER, pages INTEGER);
CREATE TABLE IF NOT EXISTS segments(
    id INTEGER PRIMARY KEY AUTOINCREMENT, lecture_id INTEGER NOT NULL REFERENCES lectures(id),
    start_s REAL, end_s REAL, page INTEGER, speech TEXT, slide_text TEXT, embedding BLOB);
CREATE INDEX IF NOT EXISTS segments_lecture ON segments(lecture_id, start_s);
CREATE VIRTUAL TABLE IF NOT EXISTS segments_fts USING fts5(
    text, tokenize='porter unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS sentences(
    id INTEGER PRIMARY KEY, lecture_id INTEGER NOT NULL REFERENCES lectures(id),
    start_s REAL, end_s REAL, text TEXT, embedding BLOB);
CREATE INDEX IF NOT EXISTS sentences_lecture ON sentences(lecture_id, start_s);
CREATE INDEX IF NOT EXISTS sentences_span ON sentences(lecture_id, start_s, end_s);
CREATE TABLE IF NOT EXISTS words(
    sentence_id INTEGER NOT NULL REFERENCES sentences(id), start_s REAL, end_s REAL, word TEXT);
CREATE INDEX IF NOT EXISTS words_sentence ON words(sentence_id);
CREATE TABLE IF NOT EXISTS slides(
    id INTEGER PRIMARY KEY, lecture_id INTEGER NOT NULL REFERENCES lectures(id), idx INTEGER,
    start_s REAL, end_s REAL, keyframe_t REAL, page INTEGER, text TEXT, same_as INTEGER,
    image TEXT, embedding BLOB);
CREATE INDEX IF NOT EXISTS slides_lecture ON slides(lecture_id, idx);
CREATE INDEX IF NOT EXISTS slides_span ON slides(lecture_id, start_s, end_s);
CREATE TABLE IF NOT EXISTS visual(
    slide_id INTEGER PRIMARY KEY REFERENCES slides(id), global BLOB, keypoints BLOB, descriptors BLOB,
    width INTEGER, height INTEGER);
CREATE TABLE IF NOT EXISTS links(
    id INTEGER PRIMARY KEY, page_slide_id INTEGER NOT NULL REFERENCES slides(id),
    video_slide_id INTEGER NOT NULL REFERENCES slides(id), inliers INTEGER, score REAL);
"""


def to_blob(vec: Optional[np.ndarray]) -> Optional[bytes]:
    return None if vec is None else np.asarray(vec, dtype=np.float32).tobytes()


def from_blob(blob: Optional[bytes]) -> Optional[np.ndarray]:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


class Catalog:
    """Wraps the SQLite catalog file `catalog.sqlite` of an index directory."""

    def __init__(self, index_dir: str, readonly: bool = False):
        self.index_dir = os.path.abspath(index_dir)
        self.path = os.path.join(self.index_dir, "catalog.sqlite")
        if readonly and not os.path.exists(self.path):
            raise FileNotFoundError(f"no index at {self.index_dir} (run `lecturefind ingest` first)")
        os.makedirs(self.index_dir, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        if not readonly:
            self.conn.executescript(SCHEMA)
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES('generation', '0')")

    # -- plumbing -------------------------------------------------------------------------
    def close(self) -> None:
        self.conn.close()

    def q(self, sql: str, args: Iterable = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, tuple(args)).fetchall()

    def one(self, sql: str, args: Iterable = ()) -> Optional[sqlite3.Row]:
        return self.conn.execute(sql, tuple(args)).fetchone()

    def transaction(self):
        return _Tx(self.conn)

    @property
    def generation(self) -> int:
        row = self.one("SELECT value FROM meta WHERE key='generation'")
        return int(row[0]) if row else 0

    def bump_generation(self) -> None:
        self.conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key='generation'")

    def set_stamps(self, stamps: dict) -> None:
        for k, v in stamps.items():
            self.conn.execute("INSERT OR REPLACE INTO stamps VALUES(?, ?)", (k, str(v)))

    def stamps(self) -> dict:
        return {r[0]: r[1] for r in self.q("SELECT component, version FROM stamps")}

    # -- files and lectures ---------------------------------------------------------------
    def mark_links_dirty(self, course_id: int) -> None:
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES(?, '1')", (f"links_dirty:{course_id}",))

    def dirty_link_courses(self) -> set[int]:
        return {int(r[0].split(":", 1)[1]) for r in self.q("SELECT key FROM meta WHERE key LIKE 'links_dirty:%'")}

    def clear_links_dirty(self, course_id: int) -> None:
        self.conn.execute("DELETE FROM meta WHERE key = ?", (f"links_dirty:{course_id}",))

    def file_row(self, path: str) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM files WHERE path = ?", (path,))

    def course_id(self, name: str) -> int:
        self.conn.execute("INSERT OR IGNORE INTO courses(name) VALUES(?)", (name,))
        return self.one("SELECT id FROM courses WHERE name = ?", (name,))[0]

    def record_failure(self, path: str, kind: Optional[str], error: str) -> None:
        """Remember that a file failed; its committed segments (if any) stay searchable."""
        with self.transaction():
            row = self.file_row(path)
            if row is None:
                self.conn.execute(
                    "INSERT INTO files(path, kind, state, error, ingested_at) VALUES(?,?,?,?,?)",
                    (path, kind, "failed", error, time.time()))
            else:
                self.conn.execute("UPDATE files SET error = ?, state = CASE WHEN state = 'done' THEN state "
                                  "ELSE 'failed' END WHERE id = ?", (error, row["id"]))

    def delete_lecture_content(self, lecture_id: int) -> list[int]:
        """Delete everything derived from a lecture; returns the removed segment ids."""
        seg_ids = [r[0] for r in self.q("SELECT id FROM segments WHERE lecture_id = ?", (lecture_id,))]
        c = self.conn
        c.execute("DELETE FROM segments_fts WHERE rowid IN (SELECT id FROM segments WHERE lecture_id = ?)",
                  (lecture_id,))
        c.execute("DELETE FROM segments WHERE lecture_id = ?", (lecture_id,))
        c.execute("DELETE FROM words WHERE sentence_id IN (SELECT id FROM sentences WHERE lecture_id = ?)",
                  (lecture_id,))
        c.execute("DELETE FROM sentences WHERE lecture_id = ?", (lecture_id,))
        slide_ids = "SELECT id FROM slides WHERE lecture_id = ?"
        c.execute(f"DELETE FROM links WHERE page_slide_id IN ({slide_ids}) OR video_slide_id IN ({slide_ids})",
                  (lecture_id, lecture_id))
        c.execute(f"DELETE FROM visual WHERE slide_id IN ({slide_ids})", (lecture_id,))
        c.execute("DELETE FROM slides WHERE lecture_id = ?", (lecture_id,))
        return seg_ids

    def lectures(self, course: Optional[str] = None) -> list[sqlite3.Row]:
        sql = ("SELECT l.*, c.name AS course, f.path, f.sha256, f.state, "
               "(SELECT COUNT(*) FROM segments s WHERE s.lecture_id = l.id) AS n_segments "
               "FROM lectures l JOIN courses c ON c.id = l.course_id JOIN files f ON f.id = l.file_id")
        if course:
            return self.q(sql + " WHERE c.name = ? ORDER BY c.name, l.title", (course,))
        return self.q(sql + " ORDER BY c.name, l.title")

    def lecture(self, lecture_id: int) -> Optional[sqlite3.Row]:
        return self.one(
            "SELECT l.*, c.name AS course, f.path FROM lectures l JOIN courses c ON c.id = l.course_id "
            "JOIN files f ON f.id = l.file_id WHERE l.id = ?", (lecture_id,))

    def all_embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        rows = self.q("SELECT id, embedding FROM segments WHERE embedding IS NOT NULL ORDER BY id")
        if not rows:
            return np.zeros((0,), np.int64), np.zeros((0, 0), np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.stack([from_blob(r[1]) for r in rows]).astype(np.float32)
        return ids, vecs


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK as a context manager (re-entrant)."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.outer = False

    def __enter__(self):
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        if self.outer:
            self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False
