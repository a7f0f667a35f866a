"""The SQLite catalog: courses, lectures, files, segments, transcript, slides, links, Gemini vectors.

SQLite is the source of truth and this class is the only door to it: every read and write is a named
method here (no SQL elsewhere in the package). Every file is committed in one transaction, so a crash at
any point leaves either the old or the new state of that file.
"""
from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

import numpy as np

from ..errors import LectureFindError, os_reason
from ..records import Segment, Sentence, Slide
from ..signals.embed import LATENT
from ..words import fts_text

if TYPE_CHECKING:
    from ..visual.features import Features

SCHEMA_VERSION = "1"

# sentences and slides whose latent terms are still to be made (`Catalog.latent_missing`; partial indexes hold them)
_LATENT_OWED = "latent IS NULL AND text <> ''"

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
    duration REAL, width INTEGER, height INTEGER, has_audio INTEGER, pages INTEGER, language TEXT,
    language_prob REAL);
CREATE TABLE IF NOT EXISTS segments(
    id INTEGER PRIMARY KEY AUTOINCREMENT, lecture_id INTEGER NOT NULL REFERENCES lectures(id),
    start_s REAL, end_s REAL, page INTEGER, speech TEXT, slide_text TEXT, embedding BLOB, embedding_en BLOB);
CREATE INDEX IF NOT EXISTS segments_lecture ON segments(lecture_id, start_s);
CREATE VIRTUAL TABLE IF NOT EXISTS segments_fts USING fts5(
    text, tokenize='unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS sentences(
    id INTEGER PRIMARY KEY, lecture_id INTEGER NOT NULL REFERENCES lectures(id),
    start_s REAL, end_s REAL, text TEXT, embedding BLOB, embedding_en BLOB, latent BLOB);
CREATE INDEX IF NOT EXISTS sentences_lecture ON sentences(lecture_id, start_s);
CREATE INDEX IF NOT EXISTS sentences_span ON sentences(lecture_id, start_s, end_s);
CREATE INDEX IF NOT EXISTS sentences_latent_owed ON sentences(id) WHERE {latent_owed};
CREATE TABLE IF NOT EXISTS words(
    sentence_id INTEGER NOT NULL REFERENCES sentences(id), start_s REAL, end_s REAL, word TEXT);
CREATE INDEX IF NOT EXISTS words_sentence ON words(sentence_id);
CREATE TABLE IF NOT EXISTS slides(
    id INTEGER PRIMARY KEY, lecture_id INTEGER NOT NULL REFERENCES lectures(id), idx INTEGER,
    start_s REAL, end_s REAL, keyframe_t REAL, page INTEGER, text TEXT, same_as INTEGER,
    image TEXT, embedding BLOB, embedding_en BLOB, title TEXT, latent BLOB);
CREATE INDEX IF NOT EXISTS slides_lecture ON slides(lecture_id, idx);
CREATE INDEX IF NOT EXISTS slides_span ON slides(lecture_id, start_s, end_s);
CREATE INDEX IF NOT EXISTS slides_latent_owed ON slides(id) WHERE {latent_owed};
CREATE TABLE IF NOT EXISTS visual(
    slide_id INTEGER PRIMARY KEY REFERENCES slides(id), global BLOB, keypoints BLOB, descriptors BLOB,
    width INTEGER, height INTEGER);
CREATE TABLE IF NOT EXISTS links(
    id INTEGER PRIMARY KEY, page_slide_id INTEGER NOT NULL REFERENCES slides(id),
    video_slide_id INTEGER NOT NULL REFERENCES slides(id), inliers INTEGER, score REAL);
CREATE TABLE IF NOT EXISTS gemini_segments(
    segment_id INTEGER PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE, model TEXT NOT NULL,
    dims INTEGER NOT NULL, content_key TEXT NOT NULL, vec BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS gemini_meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS owed(
    slide_id INTEGER PRIMARY KEY REFERENCES slides(id), vectors INTEGER NOT NULL,
    visual INTEGER NOT NULL);  -- vectors: 1 if owed; visual: the side its descriptors are owed at, 0 for none
""".replace("{latent_owed}", _LATENT_OWED)

# a lecture row joined with its course and file, as every result and page needs it
_LECTURE = ("SELECT l.*, l.id AS lecture_id, c.name AS course, f.path, f.sha256, f.state FROM lectures l "
            "JOIN courses c ON c.id = l.course_id JOIN files f ON f.id = l.file_id")
# the longest sentence or slide stored (see `Catalog._note_longest`); none recorded (an older index): no bound
# (plus 1 s: the value is kept as text with 15 digits)
_LONGEST = "(COALESCE((SELECT CAST(value AS REAL) FROM meta WHERE key = 'longest:{}'), 1e18) + 1.0)"
_SEGMENT = ("SELECT s.id, s.lecture_id, s.start_s, s.end_s, s.page, s.speech, s.slide_text, s.embedding, "
            "s.embedding_en, {page_latent} AS latent, "   # see `Catalog._segment_sql`
            "l.title, l.kind, l.has_audio, l.duration, l.language, c.name AS course, f.path, f.sha256 "
            "FROM segments s "
            "JOIN lectures l ON l.id = s.lecture_id JOIN courses c ON c.id = l.course_id "
            "JOIN files f ON f.id = l.file_id")
_SLIDE = ("SELECT s.*, l.kind, l.title, l.language, c.name AS course, f.path FROM slides s "
          "JOIN lectures l ON l.id = s.lecture_id JOIN courses c ON c.id = l.course_id "
          "JOIN files f ON f.id = l.file_id")


def same_catalog(a: str, b: str) -> bool:
    """Whether a cache stamped with catalog identity `a` may be this catalog's (`b`): unless both are known and
    differ (a cache written before identities, or a catalog not yet given one, is judged by its counters)."""
    return not a or not b or a == b


def to_blob(vec: Optional[np.ndarray]) -> Optional[bytes]:
    return None if vec is None else np.asarray(vec, dtype=np.float32).tobytes()


def from_latent(blob: Optional[bytes]) -> Optional[np.ndarray]:
    """A stored text's latent terms (`signals.embed.LATENT` rows), None when not made or none."""
    return np.frombuffer(blob, LATENT) if blob else None


def from_blob(blob: Optional[bytes]) -> Optional[np.ndarray]:
    """The vector, or None (no vector; an empty blob marks "none on purpose", e.g. no English vector of a German
    sentence)."""
    return np.frombuffer(blob, dtype=np.float32) if blob else None


NOT_ENGLISH = b""     # embedding_en of an item that is not English text: looked at, none made
NO_LATENT = b""       # latent of an item whose text has no latent terms: looked at, none made


@dataclass
class LectureContent:
    """What one file's extraction yields, with its vectors, ready to replace the lecture's stored content."""

    kind: str
    title: str
    duration: Optional[float] = None
    pages: Optional[int] = None
    width: Optional[int] = None
    height: Optional[int] = None
    has_audio: bool = False
    language: Optional[str] = None          # spoken language, ISO 639-1
    language_prob: Optional[float] = None   # detection probability (1.0 when given)
    segments: Sequence[Segment] = ()
    segment_vecs: Sequence[Optional[np.ndarray]] = ()
    sentences: Sequence[Sentence] = ()
    sentence_vecs: Optional[np.ndarray] = None
    slides: Sequence[Slide] = ()
    slide_vecs: Optional[np.ndarray] = None
    # the English embedding (`signals.embed.EnglishEmbedder`) of each item that is English text, else None
    segment_vecs_en: Sequence[Optional[np.ndarray]] = ()
    sentence_vecs_en: Sequence[Optional[np.ndarray]] = ()
    slide_vecs_en: Sequence[Optional[np.ndarray]] = ()
    vectors_later: bool = False     # a PDF's pages are committed by their words; their vectors are owed (`owed`)


@dataclass
class Replaced:
    """The outcome of `Catalog.replace_lecture`: what the vector store must drop and add."""

    lecture_id: int
    generation_before: int
    removed: list[int] = field(default_factory=list)
    added: dict[int, np.ndarray] = field(default_factory=dict)
    added_en: dict[int, np.ndarray] = field(default_factory=dict)


def _en(vecs: Sequence[Optional[np.ndarray]], n: int) -> Sequence[Optional[np.ndarray]]:
    return vecs if len(vecs) == n else [None] * n


def _en_blob(vec: Optional[np.ndarray]) -> bytes:
    return NOT_ENGLISH if vec is None else np.asarray(vec, dtype=np.float32).tobytes()


class Catalog:
    """Wraps the SQLite catalog file `catalog.sqlite` of an index directory."""

    def __init__(self, index_dir: str, readonly: bool = False):
        self.index_dir = os.path.abspath(index_dir)
        self.path = os.path.join(self.index_dir, "catalog.sqlite")
        if readonly and not os.path.exists(self.path):
            raise FileNotFoundError(f"no index at {self.index_dir} (run `lecturefind ingest` first)")
        try:
            os.makedirs(self.index_dir, exist_ok=True)
        except OSError as e:
            raise LectureFindError(f"{self.index_dir}: cannot create the index folder "
                                   f"({os_reason(e)})") from None
        if not readonly and not os.access(self.index_dir, os.W_OK):
            raise LectureFindError(f"{self.index_dir}: cannot write the index folder (permission denied)")
        try:
            self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as e:
            raise LectureFindError(f"{self.path}: not a readable LectureFind catalog ({e}); move it aside and "
                                   "ingest again") from None
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self._vocab_ready = False
        self._latent = True          # the latent columns are there (an older index on read-only storage: not)
        try:
            self._migrate()              # readers too: an index made by an older version gains its new columns
        except sqlite3.OperationalError as e:
            raise LectureFindError(f"{self.path}: this index needs an upgrade its reader cannot write ({e}); "
                                   "run `lecturefind ingest` on it once") from None
        except sqlite3.DatabaseError as e:
            raise LectureFindError(f"{self.path}: not a readable LectureFind catalog ({e}); move it aside and "
                                   "ingest again") from None
        if not readonly:
            self.conn.executescript(SCHEMA)
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES('schema', ?)", (SCHEMA_VERSION,))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES('generation', '0')")
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES('identity', lower(hex(randomblob(8))))")
            for table in ("sentences", "slides"):       # an index made before the longest spans were kept
                if self.one("SELECT 1 FROM meta WHERE key = ?", (f"longest:{table}",)) is None:
                    longest = self.one(f"SELECT MAX(end_s - start_s) FROM {table}")
                    if longest is not None and longest[0] is not None:
                        with self.transaction():
                            self._note_longest(table, [longest[0]])

    def _migrate(self) -> None:
        """Older indexes: lectures had no language; segments_fts had FTS5's English porter stems;
        gemini_segments had a per-row signature and no foreign key."""
        lecture_cols = {r[1] for r in self.conn.execute("PRAGMA table_info(lectures)")}
        if lecture_cols and "language" not in lecture_cols:
            self.conn.execute("ALTER TABLE lectures ADD COLUMN language TEXT")
            self.conn.execute("ALTER TABLE lectures ADD COLUMN language_prob REAL")
        for table in ("segments", "sentences", "slides"):
            cols = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
            if cols and "embedding_en" not in cols:
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN embedding_en BLOB")
            if table == "slides" and cols and "title" not in cols:
                self.conn.execute("ALTER TABLE slides ADD COLUMN title TEXT")      # NULL: the first line counts
            if table != "segments" and cols and "latent" not in cols:
                try:
                    self.conn.execute(f"ALTER TABLE {table} ADD COLUMN latent BLOB")   # NULL: made by the next ingest
                except sqlite3.OperationalError:
                    self._latent = False     # read-only storage: searched without latent terms until an ingest
        fts = self.one("SELECT sql FROM sqlite_master WHERE name = 'segments_fts'")
        if fts and "porter" in fts[0]:
            self._rebuild_fts()
        cols = {r[1] for r in self.conn.execute("PRAGMA table_info(gemini_segments)")}
        if "sig" not in cols:
            return
        with self.transaction() as c:
            c.execute("ALTER TABLE gemini_segments RENAME TO gemini_segments_old")
            c.execute("CREATE TABLE gemini_segments(segment_id INTEGER PRIMARY KEY REFERENCES segments(id) "
                      "ON DELETE CASCADE, model TEXT NOT NULL, dims INTEGER NOT NULL, content_key TEXT NOT NULL, "
                      "vec BLOB NOT NULL)")
            c.execute("INSERT INTO gemini_segments SELECT segment_id, model, dims, content_key, vec "
                      "FROM gemini_segments_old WHERE segment_id IN (SELECT id FROM segments)")
            c.execute("DROP TABLE gemini_segments_old")

    def _rebuild_fts(self) -> None:
        """BM25's table re-made from the segments, words stemmed in their lecture's language (`fts_text`)."""
        rows = self.q("SELECT s.id, s.slide_text, s.speech, l.language FROM segments s "
                      "JOIN lectures l ON l.id = s.lecture_id")
        with self.transaction() as c:
            c.execute("DROP TABLE segments_fts")
            c.execute("CREATE VIRTUAL TABLE segments_fts USING fts5(text, tokenize='unicode61 remove_diacritics 2')")
            c.executemany("INSERT INTO segments_fts(rowid, text) VALUES(?, ?)",
                          [(r[0], fts_text("\n".join(t for t in (r[1], r[2]) if t), r[3])) for r in rows])
            self._bump_texts()
            self.bump_generation()

    # -- plumbing (tests and tools read with q/one; the package uses the named methods) -------------
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

    @property
    def identity(self) -> str:
        """A random name this catalog got when made (an older one: when first written by this version). The caches
        beside it (`bm25.idx`, `vectors*.faiss`) carry it, so a catalog copied over another index's, or a cache
        copied from another index, is not taken for a match because the counters happen to agree."""
        row = self.one("SELECT value FROM meta WHERE key='identity'")
        return str(row[0]) if row else ""

    def _bump_texts(self) -> None:
        """BM25's texts changed (segments_fts): a cache of them (`index.bm25`) is behind from now on."""
        self.conn.execute("INSERT INTO meta VALUES('texts', '1') ON CONFLICT(key) DO UPDATE SET "
                          "value = CAST(value AS INTEGER) + 1")

    def texts_key(self) -> tuple[int, int, str]:
        """What a cache of BM25's texts is stamped with: (texts changed count, the highest segment id; ids are
        never reused, `identity`), one statement at any size (every search asks it)."""
        row = self.one("SELECT (SELECT value FROM meta WHERE key='texts'), (SELECT MAX(id) FROM segments), "
                       "(SELECT value FROM meta WHERE key='identity')")
        return (int(row[0] or 0), int(row[1] or 0), str(row[2] or "")) if row else (0, 0, "")

    def segment_ids(self) -> np.ndarray:
        """Every segment id, ascending."""
        ids = np.array([r[0] for r in self.conn.execute("SELECT id FROM segments")], np.int64)   # off an index
        ids.sort()
        return ids

    def fts_rows(self, batch: int = 5000, after: int = 0):
        """(segment id, BM25 text) of every segment (with `after`: of those with a higher id), `batch` at a time in
        id order (building `index.bm25`)."""
        for rows in self._batched("SELECT rowid, text FROM segments_fts WHERE rowid > ?", (after,), "rowid",
                                  batch, None):
            yield [(r[0], r[1]) for r in rows]

    def set_stamps(self, stamps: dict) -> None:
        for k, v in stamps.items():
            self.conn.execute("INSERT OR REPLACE INTO stamps VALUES(?, ?)", (k, str(v)))

    def stamps(self) -> dict:
        return {r[0]: r[1] for r in self.q("SELECT component, version FROM stamps")}

    # -- links dirty markers ----------------------------------------------------------------------
    def mark_links_dirty(self, course_id: int) -> None:
        self.conn.execute("INSERT OR IGNORE INTO meta VALUES(?, '1')", (f"links_dirty:{course_id}",))

    def dirty_link_courses(self) -> set[int]:
        return {int(r[0].split(":", 1)[1]) for r in self.q("SELECT key FROM meta WHERE key LIKE 'links_dirty:%'")}

    def clear_links_dirty(self, course_id: int) -> None:
        self.conn.execute("DELETE FROM meta WHERE key = ?", (f"links_dirty:{course_id}",))

    # -- files, courses, lectures -----------------------------------------------------------------
    def file_row(self, path: str) -> Optional[sqlite3.Row]:
        return self.one("SELECT * FROM files WHERE path = ?", (path,))

    def touch_file(self, file_id: int, size: int, mtime_ns: int) -> None:
        """An unchanged file (same sha256) with a new mtime: remember the new size/mtime."""
        with self.transaction() as c:
            c.execute("UPDATE files SET size=?, mtime_ns=? WHERE id=?", (size, mtime_ns, file_id))

    def failed_files(self) -> list[sqlite3.Row]:
        """Files whose last ingest failed: not indexed at all (state 'failed'), or indexed offline with a later
        step (the Gemini vectors) failed (state 'done' with an error); `indexed` says which."""
        return self.q("SELECT path, error, state = 'done' AS indexed FROM files WHERE state='failed' OR "
                      "(error IS NOT NULL AND error != '') ORDER BY path")

    def clear_error(self, path: str) -> None:
        """A file's later steps succeeded on a rerun: its earlier error no longer stands."""
        with self.transaction() as c:
            c.execute("UPDATE files SET error=NULL WHERE path=? AND state='done'", (path,))

    def course_id(self, name: str) -> int:
        self.conn.execute("INSERT OR IGNORE INTO courses(name) VALUES(?)", (name,))
        return self.q("SELECT id FROM courses WHERE name = ?", (name,))[0][0]

    def course(self, course_id: int) -> Optional[sqlite3.Row]:
        return self.one("SELECT id, name FROM courses WHERE id = ?", (course_id,))

    def course_names(self) -> list[str]:
        return [r[0] for r in self.q("SELECT name FROM courses ORDER BY name")]

    def course_summaries(self) -> list[sqlite3.Row]:
        """id, name, n (lectures) and secs (seconds of video/audio) per course."""
        return self.q("SELECT c.id, c.name, COUNT(l.id) AS n, SUM(CASE WHEN l.kind != 'pdf' THEN l.duration END) "
                      "AS secs FROM courses c LEFT JOIN lectures l ON l.course_id = c.id GROUP BY c.id ORDER BY c.name")

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

    def course_pdf_texts(self, course: str) -> list[str]:
        """The page texts of the course's slide PDFs (for its speech vocabulary)."""
        return [r[0] for r in self.q(
            "SELECT s.text FROM slides s JOIN lectures l ON l.id = s.lecture_id JOIN courses c ON c.id = l.course_id "
            "WHERE c.name = ? AND l.kind = 'pdf' AND s.text != '' ORDER BY l.id, s.idx", (course,))]

    def lectures(self, course: Optional[str] = None) -> list[sqlite3.Row]:
        sql = _LECTURE.replace(" FROM lectures l", ", (SELECT COUNT(*) FROM segments s WHERE s.lecture_id = l.id) "
                               "AS n_segments FROM lectures l", 1)
        if course:
            return self.q(sql + " WHERE c.name = ? ORDER BY c.name, l.title", (course,))
        return self.q(sql + " ORDER BY c.name, l.title")

    def lecture(self, lecture_id: int) -> Optional[sqlite3.Row]:
        return self.one(_LECTURE + " WHERE l.id = ?", (lecture_id,))

    def replace_lecture(self, path: str, size: int, mtime_ns: int, sha256: str, course: str,
                        content: LectureContent, stamps: dict) -> Replaced:
        """Store a file's lecture in one transaction, replacing whatever it held before (with its Gemini rows)."""
        with self.transaction() as c:
            out = Replaced(lecture_id=0, generation_before=self.generation)
            course_id = self.course_id(course)
            self.mark_links_dirty(course_id)     # committed with the file: a crash cannot lose it
            row = self.file_row(path)
            file_id = row["id"] if row is not None else \
                c.execute("INSERT INTO files(path) VALUES(?)", (path,)).lastrowid
            c.execute("UPDATE files SET sha256=?, size=?, mtime_ns=?, kind=?, state='done', error=NULL, "
                      "ingested_at=? WHERE id=?", (sha256, size, mtime_ns, content.kind, time.time(), file_id))
            lec = self.one("SELECT id FROM lectures WHERE file_id=?", (file_id,))
            vals = (course_id, content.title, content.kind, content.duration or None, content.width,
                    content.height, int(bool(content.has_audio)), content.pages or None, content.language,
                    content.language_prob)
            if lec is None:
                out.lecture_id = c.execute(
                    "INSERT INTO lectures(course_id, title, kind, duration, width, height, has_audio, pages, language, "
                    "language_prob, file_id) VALUES(?,?,?,?,?,?,?,?,?,?,?)", vals + (file_id,)).lastrowid
            else:
                out.lecture_id = lec["id"]
                out.removed = self._delete_lecture_content(out.lecture_id)
                c.execute("UPDATE lectures SET course_id=?, title=?, kind=?, duration=?, width=?, height=?, "
                          "has_audio=?, pages=?, language=?, language_prob=? WHERE id=?", vals + (out.lecture_id,))
            self._insert_content(out, content)
            self.set_stamps(stamps)
            self.bump_generation()
        return out

    def _insert_content(self, out: Replaced, content: LectureContent) -> None:
        c, lecture_id = self.conn, out.lecture_id
        seg_en = _en(content.segment_vecs_en, len(content.segments))
        for seg, vec, ven in zip(content.segments, content.segment_vecs, seg_en):
            sid = c.execute(
                "INSERT INTO segments(lecture_id, start_s, end_s, page, speech, slide_text, embedding, embedding_en) "
                "VALUES(?,?,?,?,?,?,?,?)",
                (lecture_id, seg.start, seg.end, seg.page, seg.speech, seg.slide_text, to_blob(vec),
                 _en_blob(ven))).lastrowid
            c.execute("INSERT INTO segments_fts(rowid, text) VALUES(?, ?)", (sid, fts_text(seg.text, content.language)))
            if vec is not None and sid is not None:
                out.added[sid] = vec
            if ven is not None and sid is not None:
                out.added_en[sid] = ven
        if content.segments:
            self._bump_texts()
        self._note_longest("sentences", [s.end - s.start for s in content.sentences])
        self._note_longest("slides", [sl.end - sl.start for sl in content.slides if sl.end is not None])
        sent_vecs = content.sentence_vecs if content.sentence_vecs is not None else [None] * len(content.sentences)
        sent_en = _en(content.sentence_vecs_en, len(content.sentences))
        for sent, vec, ven in zip(content.sentences, sent_vecs, sent_en):
            sid = c.execute("INSERT INTO sentences(lecture_id, start_s, end_s, text, embedding, embedding_en) "
                            "VALUES(?,?,?,?,?,?)",
                            (lecture_id, sent.start, sent.end, sent.text, to_blob(vec), _en_blob(ven))).lastrowid
            c.executemany("INSERT INTO words(sentence_id, start_s, end_s, word) VALUES(?,?,?,?)",
                          [(sid, w.start, w.end, w.text) for w in sent.words])
        slide_vecs = content.slide_vecs if content.slide_vecs is not None else [None] * len(content.slides)
        slide_en = _en(content.slide_vecs_en, len(content.slides))
        for sl, vec, ven in zip(content.slides, slide_vecs, slide_en):
            slide_id = c.execute(
                "INSERT INTO slides(lecture_id, idx, start_s, end_s, keyframe_t, page, text, same_as, "
                "image, embedding, embedding_en, title) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                (lecture_id, sl.index, sl.start, sl.end, sl.keyframe_t,
                 sl.index + 1 if content.kind == "pdf" else None, sl.text, sl.same_as, sl.image_path,
                 to_blob(vec) if sl.text else None, _en_blob(ven) if sl.text else None, sl.title or None)).lastrowid
            if sl.visual is not None and slide_id is not None:
                self._put_visual(slide_id, sl.visual)
            owes_vectors = content.vectors_later and bool(sl.text)
            if owes_vectors or sl.visual_later:
                c.execute("INSERT INTO owed(slide_id, vectors, visual) VALUES(?,?,?)",
                          (slide_id, int(owes_vectors), sl.visual_later))

    def _note_longest(self, table: str, spans: list[float]) -> None:
        """Keep the longest sentence or slide ever stored: a time-range look-up then scans only the rows that can
        reach into the range (`sentences_between`, `slides_between`). Deletions leave it an upper bound."""
        if spans:
            self.conn.execute("INSERT INTO meta VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET "
                              "value = MAX(CAST(value AS REAL), CAST(excluded.value AS REAL))",
                              (f"longest:{table}", float(max(spans))))

    def _put_visual(self, slide_id: int, visual: "Features") -> None:
        kp, desc = visual.to_blobs()
        self.conn.execute("INSERT INTO visual(slide_id, keypoints, descriptors, width, height) VALUES(?,?,?,?,?)",
                          (slide_id, kp, desc, visual.width, visual.height))

    def _delete_lecture_content(self, lecture_id: int) -> list[int]:
        """Delete everything derived from a lecture (Gemini rows included); returns the removed segment ids."""
        seg_ids = [r[0] for r in self.q("SELECT id FROM segments WHERE lecture_id = ?", (lecture_id,))]
        c = self.conn
        segs = "SELECT id FROM segments WHERE lecture_id = ?"
        if c.execute(f"DELETE FROM gemini_segments WHERE segment_id IN ({segs})", (lecture_id,)).rowcount:
            self._bump_gemini_generation()
        c.execute(f"DELETE FROM segments_fts WHERE rowid IN ({segs})", (lecture_id,))
        if seg_ids:
            self._bump_texts()
        c.execute("DELETE FROM segments WHERE lecture_id = ?", (lecture_id,))
        c.execute("DELETE FROM words WHERE sentence_id IN (SELECT id FROM sentences WHERE lecture_id = ?)",
                  (lecture_id,))
        c.execute("DELETE FROM sentences WHERE lecture_id = ?", (lecture_id,))
        slide_ids = "SELECT id FROM slides WHERE lecture_id = ?"
        c.execute(f"DELETE FROM links WHERE page_slide_id IN ({slide_ids}) OR video_slide_id IN ({slide_ids})",
                  (lecture_id, lecture_id))
        c.execute(f"DELETE FROM visual WHERE slide_id IN ({slide_ids})", (lecture_id,))
        c.execute(f"DELETE FROM owed WHERE slide_id IN ({slide_ids})", (lecture_id,))
        c.execute("DELETE FROM slides WHERE lecture_id = ?", (lecture_id,))
        return seg_ids

    # -- segments: retrieval and refinement --------------------------------------------------------
    def english_missing(self, limit: int = 512) -> list[tuple[str, int, str, Optional[str]]]:
        """Items of an index made before English vectors: (table, id, text, lecture language), oldest first."""
        out: list[tuple[str, int, str, Optional[str]]] = []
        for table, text in (("segments", "coalesce(t.slide_text, '') || char(10) || coalesce(t.speech, '')"),
                            ("sentences", "t.text"), ("slides", "t.text")):
            if len(out) >= limit:
                break
            out += [(table, r[0], r[1] or "", r[2]) for r in self.q(
                f"SELECT t.id, {text}, l.language FROM {table} t JOIN lectures l ON l.id = t.lecture_id "
                f"WHERE t.embedding_en IS NULL AND t.embedding IS NOT NULL ORDER BY t.id LIMIT ?",
                (limit - len(out),))]
        return out

    def put_english(self, items: Sequence[tuple[str, int, Optional[np.ndarray]]]) -> None:
        """Store English vectors (None: not English) of (table, id) items, in one transaction."""
        with self.transaction() as c:
            for table, item_id, vec in items:
                assert table in ("segments", "sentences", "slides")
                c.execute(f"UPDATE {table} SET embedding_en = ? WHERE id = ?", (_en_blob(vec), item_id))
            self.bump_generation()

    def latent_missing(self, limit: int = 256) -> list[tuple[str, int, str]]:
        """Sentences and slides with text and no latent terms yet (table, id, text), oldest first: every item of
        a file just committed, and of an index made before them (read off the `*_latent_owed` partial indexes)."""
        out: list[tuple[str, int, str]] = []
        for table in ("sentences", "slides"):
            if len(out) < limit:
                out += [(table, r[0], r[1]) for r in self.q(
                    f"SELECT id, text FROM {table} WHERE {_LATENT_OWED} ORDER BY id LIMIT ?",
                    (limit - len(out),))]
        return out

    def latent_owed(self) -> int:
        """How many sentences and slides `latent_missing` would still list."""
        return sum(self.q(f"SELECT COUNT(*) FROM {t} WHERE {_LATENT_OWED}")[0][0]
                   for t in ("sentences", "slides"))

    def put_latent(self, items: Sequence[tuple[str, int, Optional[bytes]]]) -> None:
        """Store the latent terms (None: the text has none) of (table, id) items, in one transaction; answers kept
        for the current `results_key` are stale from then on."""
        with self.transaction() as c:
            for table, item_id, blob in items:
                assert table in ("sentences", "slides")
                c.execute(f"UPDATE {table} SET latent = ? WHERE id = ?", (NO_LATENT if blob is None else blob,
                                                                           item_id))
            c.execute("INSERT INTO meta VALUES('latent', '1') ON CONFLICT(key) DO UPDATE SET "
                      "value = CAST(value AS INTEGER) + 1")

    @property
    def _latent_col(self) -> str:
        return "latent" if self._latent else "NULL AS latent"

    def results_key(self) -> tuple[int, int]:
        """What a kept search answer is stamped with: the generation and how many times latent terms were added
        (they change answers without a new generation, which would reload every vector store)."""
        row = self.one("SELECT (SELECT value FROM meta WHERE key = 'generation'), "
                       "(SELECT value FROM meta WHERE key = 'latent')")
        return (int(row[0] or 0), int(row[1] or 0)) if row else (0, 0)

    # -- work owed on committed pages (a large PDF's vectors and text-page descriptors) --------------
    def owed_pages(self, limit: int = 64) -> list[sqlite3.Row]:
        """Pages committed by their words whose vectors or picture descriptors are still to be made, oldest first:
        slide_id, vectors (1: owed), visual (the side descriptors are owed at, 0: none), text, image, segment_id,
        language, course_id, path."""
        if not self._has_table("owed"):
            return []
        return self.q("SELECT o.slide_id, o.vectors, o.visual, sl.text, sl.image, sg.id AS segment_id, l.language, "
                      "l.course_id, f.path FROM owed o JOIN slides sl ON sl.id = o.slide_id "
                      "JOIN lectures l ON l.id = sl.lecture_id JOIN files f ON f.id = l.file_id "
                      "LEFT JOIN segments sg ON sg.lecture_id = sl.lecture_id AND sg.page = sl.page "
                      "ORDER BY o.slide_id LIMIT ?", (limit,))

    def owed_count(self) -> int:
        """How many pages still owe vectors or descriptors (0 for an index made before pages could owe them)."""
        return self.q("SELECT COUNT(*) FROM owed")[0][0] if self._has_table("owed") else 0

    def pay_owed(self, paid: Sequence[tuple[sqlite3.Row, Optional[np.ndarray], Optional[np.ndarray],
                                            Optional["Features"]]]) -> Replaced:
        """Store what owed pages were given, (row from `owed_pages`, e5 vector, English vector, descriptors), in one
        transaction; a page's segment takes its page's vectors (a page is one segment). Returns what the vector
        stores must add."""
        with self.transaction() as c:
            out = Replaced(lecture_id=0, generation_before=self.generation)
            for row, vec, ven, visual in paid:
                if row["vectors"] and vec is not None:
                    c.execute("UPDATE slides SET embedding = ?, embedding_en = ? WHERE id = ?",
                              (to_blob(vec), _en_blob(ven), row["slide_id"]))
                    if row["segment_id"] is not None:
                        c.execute("UPDATE segments SET embedding = ?, embedding_en = ? WHERE id = ?",
                                  (to_blob(vec), _en_blob(ven), row["segment_id"]))
                        out.added[row["segment_id"]] = vec
                        if ven is not None:
                            out.added_en[row["segment_id"]] = ven
                if row["visual"] and visual is not None:
                    c.execute("DELETE FROM visual WHERE slide_id = ?", (row["slide_id"],))
                    self._put_visual(row["slide_id"], visual)
                    self.mark_links_dirty(row["course_id"])      # its page may match a lecture's slide
                c.execute("DELETE FROM owed WHERE slide_id = ?", (row["slide_id"],))
            self.bump_generation()
        return out

    def _has_table(self, name: str) -> bool:
        return self.one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None

    def languages(self) -> list[str]:
        """The spoken languages of the indexed lectures."""
        return [r[0] for r in self.q("SELECT DISTINCT language FROM lectures WHERE language IS NOT NULL")]

    def segment_count(self, lecture_id: Optional[int] = None) -> int:
        if lecture_id is None:
            return self.q("SELECT COUNT(*) FROM segments")[0][0]
        return self.q("SELECT COUNT(*) FROM segments WHERE lecture_id = ?", (lecture_id,))[0][0]

    def all_embeddings(self, column: str = "embedding") -> tuple[np.ndarray, np.ndarray]:
        """(segment ids, vectors) of every segment with a vector in `column` (embedding | embedding_en)."""
        assert column in ("embedding", "embedding_en")
        rows = self.q(f"SELECT id, {column} FROM segments WHERE length({column}) > 0 ORDER BY id")
        if not rows:
            return np.zeros((0,), np.int64), np.zeros((0, 0), np.float32)
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows]).astype(np.float32)
        return ids, vecs

    def embedding_batches(self, column: str = "embedding", batch: int = 2000, ids: Optional[Sequence[int]] = None):
        """(segment ids, vectors, BM25 texts) of the segments with a vector in `column`, `batch` at a time, in id
        order; `ids`: only these segments. Rebuilding an external store from the catalog streams through this."""
        assert column in ("embedding", "embedding_en")
        sql = (f"SELECT s.id, s.{column}, f.text FROM segments s LEFT JOIN segments_fts f ON f.rowid = s.id "
               f"WHERE length(s.{column}) > 0")
        for rows in self._batched(sql, (), "s.id", batch, ids):
            yield (np.array([r[0] for r in rows], dtype=np.int64),
                   np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows]),
                   [r[2] or "" for r in rows])

    def _batched(self, sql: str, args: Sequence, key: str, batch: int, ids: Optional[Sequence[int]]):
        """The rows of `sql` (a WHERE clause; its first column `key`, a segment id) in id order, at most `batch`
        at a time; `ids`: only these."""
        if ids is None:
            last = 0
            while rows := self.q(sql + f" AND {key} > ? ORDER BY {key} LIMIT ?", (*args, last, batch)):
                yield rows
                if len(rows) < batch:
                    return
                last = rows[-1][0]
            return
        wanted = sorted(int(i) for i in ids)
        for i in range(0, len(wanted), batch):
            chunk = wanted[i:i + batch]
            rows = self.q(sql + f" AND {key} IN ({','.join('?' * len(chunk))}) ORDER BY {key}", (*args, *chunk))
            if rows:
                yield rows

    def embedded_ids(self, column: str = "embedding") -> set[int]:
        """Ids of the segments with a vector in `column`."""
        assert column in ("embedding", "embedding_en")
        return {r[0] for r in self.q(f"SELECT id FROM segments WHERE length({column}) > 0")}

    def setting(self, key: str) -> Optional[str]:
        """An index-wide setting (`store`: where the segment vectors live; `index_id`: the name in external stores
        of an index named before `identity`)."""
        row = self.one("SELECT value FROM meta WHERE key = ?", (f"setting:{key}",))
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES(?, ?)", (f"setting:{key}", value))

    def term_doc_counts(self, terms: Iterable[str]) -> dict[str, int]:
        """Segments holding each FTS5 term (`words.fts_text` stems), off the FTS5 vocabulary; absent ones left out."""
        terms = list(dict.fromkeys(terms))
        if not terms:
            return {}
        if not self._vocab_ready:
            self.conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.segments_vocab USING fts5vocab(main, segments_fts, row)")
            self._vocab_ready = True
        marks = ",".join("?" * len(terms))
        return {r[0]: r[1] for r in self.q(f"SELECT term, doc FROM temp.segments_vocab WHERE term IN ({marks})", terms)}

    def bm25(self, match: str, limit: int) -> list[int]:
        """Segment ids best first for an FTS5 MATCH expression."""
        rows = self.q("SELECT rowid FROM segments_fts WHERE segments_fts MATCH ? ORDER BY bm25(segments_fts) "
                      "LIMIT ?", (match, limit))
        return [r[0] for r in rows]

    def segments_in_course(self, segment_ids: Sequence[int], course: str) -> set[int]:
        if not segment_ids:
            return set()
        marks = ",".join("?" * len(segment_ids))
        return {r[0] for r in self.q(
            f"SELECT s.id FROM segments s JOIN lectures l ON l.id = s.lecture_id JOIN courses c ON c.id = l.course_id "
            f"WHERE c.name = ? AND s.id IN ({marks})", [course, *segment_ids])}

    def segments(self, segment_ids: Sequence[int]) -> list[sqlite3.Row]:
        """Segments with their lecture (lecture_id, title, kind, course, path, ...), in no particular order."""
        if not segment_ids:
            return []
        marks = ",".join("?" * len(segment_ids))
        return self.q(self._segment_sql() + f" WHERE s.id IN ({marks})", list(segment_ids))

    def pages_before(self, lecture_id: int, page: int, n: int) -> list[sqlite3.Row]:
        """A PDF's `n` pages before `page` (`segments` rows), in page order."""
        return self.q(self._segment_sql() + " WHERE s.lecture_id = ? AND s.page >= ? AND s.page < ? ORDER BY s.page",
                      (lecture_id, page - n, page))

    def file_segments(self, path: str) -> list[sqlite3.Row]:
        return self.q(self._segment_sql() + " WHERE f.path = ? ORDER BY s.id", (path,))

    def _segment_sql(self) -> str:
        # a PDF page's latent terms are its slide row's (a video segment's anchors carry their own)
        return _SEGMENT.format(page_latent="(SELECT sl.latent FROM slides sl WHERE sl.lecture_id = s.lecture_id "
                               "AND sl.idx = s.page - 1)" if self._latent else "NULL")

    def sentences_between(self, lecture_id: int, start: float, end: float) -> list[sqlite3.Row]:
        """Transcript sentences overlapping [start, end)."""
        return self.q(f"SELECT id, start_s, end_s, text, embedding, embedding_en, {self._latent_col} "
                      "FROM sentences WHERE lecture_id=? "
                      f"AND start_s < ? AND end_s > ? AND start_s >= ? - {_LONGEST.format('sentences')} "
                      "ORDER BY start_s", (lecture_id, end, start, start))

    def slides_between(self, lecture_id: int, start: float, end: float) -> list[sqlite3.Row]:
        """Slides on screen during [start, end)."""
        return self.q(f"SELECT id, start_s, end_s, text, title, embedding, embedding_en, {self._latent_col} "
                      "FROM slides WHERE lecture_id=? "
                      f"AND start_s < ? AND end_s > ? AND start_s >= ? - {_LONGEST.format('slides')} "
                      "ORDER BY start_s", (lecture_id, end, start, start))

    # -- transcript and slides of a lecture ------------------------------------------------------
    def sentences(self, lecture_id: int) -> list[sqlite3.Row]:
        return self.q("SELECT id, start_s, end_s, text FROM sentences WHERE lecture_id = ? ORDER BY start_s",
                      (lecture_id,))

    def sentence_vectors(self, lecture_id: int) -> list[dict]:
        """A lecture's sentences with their e5 vectors (`vector`, None when missing), in time order."""
        return [{"start_s": r["start_s"], "end_s": r["end_s"], "text": r["text"], "vector": from_blob(r["embedding"])}
                for r in self.q("SELECT start_s, end_s, text, embedding FROM sentences WHERE lecture_id = ? "
                                "ORDER BY start_s", (lecture_id,))]

    def words(self, lecture_id: int) -> dict[int, list[sqlite3.Row]]:
        """sentence id -> its timed words, for the whole lecture in one read."""
        out: dict[int, list[sqlite3.Row]] = {}
        for w in self.q("SELECT w.sentence_id, w.start_s, w.end_s, w.word FROM words w JOIN sentences s "
                        "ON s.id = w.sentence_id WHERE s.lecture_id = ? ORDER BY w.sentence_id, w.start_s",
                        (lecture_id,)):
            out.setdefault(w["sentence_id"], []).append(w)
        return out

    def slides(self, lecture_id: int) -> list[sqlite3.Row]:
        """A lecture's slides (PDF: its pages), in page then time order."""
        return self.q("SELECT id, idx, start_s, end_s, page, text, title, image, same_as FROM slides "
                      "WHERE lecture_id = ? ORDER BY COALESCE(page, 0), start_s", (lecture_id,))

    def distinct_slides(self, course: Optional[str] = None) -> list[sqlite3.Row]:
        """Every distinct slide and PDF page (a slide shown again is not repeated), with its lecture and e5
        vector: id, lecture_id, title (the lecture's), kind, start_s, end_s, page, text, slide_title, embedding."""
        sql = ("SELECT s.id, s.lecture_id, l.title, l.kind, s.start_s, s.end_s, s.page, s.text, "
               "s.title AS slide_title, s.embedding FROM slides s JOIN lectures l ON l.id = s.lecture_id "
               "JOIN courses c ON c.id = l.course_id WHERE s.same_as IS NULL AND s.text != ''")
        if course:
            return self.q(sql + " AND c.name = ? ORDER BY l.id, s.idx", (course,))
        return self.q(sql + " ORDER BY l.id, s.idx")

    def slide(self, slide_id: int) -> Optional[sqlite3.Row]:
        """A slide with its lecture (lecture_id, kind, title, course, path)."""
        return self.one(_SLIDE + " WHERE s.id = ?", (slide_id,))

    def slide_image(self, slide_id: int) -> Optional[str]:
        row = self.one("SELECT image FROM slides WHERE id = ?", (slide_id,))
        return row["image"] if row is not None else None

    def slide_at(self, lecture_id: int, t: float) -> Optional[sqlite3.Row]:
        """The slide on screen at t (else the last one before t, else the first): id, idx, same_as, image."""
        cols = "SELECT id, idx, same_as, image, start_s, end_s FROM slides WHERE lecture_id=?"
        return (self.one(cols + " AND start_s <= ? AND end_s > ? ORDER BY start_s DESC LIMIT 1",
                         (lecture_id, t + 0.01, t + 0.01))
                or self.one(cols + " AND start_s <= ? ORDER BY start_s DESC LIMIT 1", (lecture_id, t + 0.01))
                or self.one(cols + " ORDER BY start_s LIMIT 1", (lecture_id,)))

    def page_slide(self, lecture_id: int, page: int) -> Optional[sqlite3.Row]:
        return self.one("SELECT id, image, text FROM slides WHERE lecture_id=? AND page=? ORDER BY idx LIMIT 1",
                        (lecture_id, page))

    def slide_occurrences(self, slide_id: int) -> list[sqlite3.Row]:
        """Every time a video slide is on screen: itself and each later return (same_as) in its lecture."""
        s = self.one("SELECT lecture_id, idx FROM slides WHERE id=?", (slide_id,))
        if s is None:
            return []
        return self.q("SELECT s.id, s.lecture_id, s.start_s, s.end_s, l.title FROM slides s "
                      "JOIN lectures l ON l.id = s.lecture_id WHERE s.lecture_id=? AND (s.idx=? OR s.same_as=?) "
                      "ORDER BY s.start_s", (s["lecture_id"], s["idx"], s["idx"]))

    def segment_of_slide(self, slide_id: int) -> Optional[int]:
        """The segment that shows a slide: a PDF page's own segment, or the first clip overlapping the slide."""
        row = self.one("SELECT g.id FROM slides s JOIN segments g ON g.lecture_id = s.lecture_id WHERE s.id = ? AND "
                       "((s.page IS NOT NULL AND g.page = s.page) OR (s.page IS NULL AND g.start_s < s.end_s AND "
                       "g.end_s > s.start_s)) ORDER BY g.start_s LIMIT 1", (slide_id,))
        return row[0] if row is not None else None

    # -- visual features and page <-> slide links ------------------------------------------------
    def visual_features(self, kinds: Sequence[str]) -> list[sqlite3.Row]:
        """slide_id, keypoints, descriptors, width, height of every slide in lectures of these kinds."""
        marks = ",".join("?" * len(kinds))
        return self.q("SELECT v.slide_id, v.keypoints, v.descriptors, v.width, v.height FROM visual v "
                      "JOIN slides s ON s.id = v.slide_id JOIN lectures l ON l.id = s.lecture_id "
                      f"WHERE l.kind IN ({marks})", list(kinds))

    def course_visual_slides(self, course_id: int) -> list[sqlite3.Row]:
        """id and lecture kind of every slide of a course that has visual features."""
        return self.q("SELECT s.id, l.kind FROM slides s JOIN lectures l ON l.id = s.lecture_id "
                      "JOIN visual v ON v.slide_id = s.id WHERE l.course_id = ?", (course_id,))

    def replace_links(self, course_id: int, slide_ids: Sequence[int],
                      links: Sequence[tuple[int, int, int, float]]) -> None:
        """The course's page↔slide links are now `links` (page slide, video slide, inliers, score); clean marker."""
        with self.transaction() as c:
            if slide_ids:
                marks = ",".join("?" * len(slide_ids))
                c.execute(f"DELETE FROM links WHERE page_slide_id IN ({marks}) OR video_slide_id IN ({marks})",
                          [*slide_ids, *slide_ids])
            c.executemany("INSERT INTO links(page_slide_id, video_slide_id, inliers, score) VALUES(?,?,?,?)", links)
            self.clear_links_dirty(course_id)

    def linked_slides(self, slide_id: int) -> set[int]:
        """A slide and the PDF pages / video slides linked to it."""
        rows = self.q("SELECT page_slide_id, video_slide_id FROM links WHERE page_slide_id=? OR video_slide_id=?",
                      (slide_id, slide_id))
        return {slide_id} | {r[0] for r in rows} | {r[1] for r in rows}

    def page_links(self, lecture_id: int, page: int) -> list[int]:
        """Video slide ids linked to a PDF page, strongest first."""
        return [r[0] for r in self.q(
            "SELECT k.video_slide_id FROM links k JOIN slides p ON p.id = k.page_slide_id "
            "WHERE p.lecture_id=? AND p.page=? ORDER BY k.inliers DESC", (lecture_id, page))]

    def linked_page(self, lecture_id: int, idx: int) -> Optional[sqlite3.Row]:
        """The PDF page (page, lecture_id, title, path) most strongly linked to video slide `idx` of a lecture."""
        return self.one(
            "SELECT p.page, p.lecture_id, l.title, f.path FROM links k JOIN slides v ON v.id = k.video_slide_id "
            "JOIN slides p ON p.id = k.page_slide_id JOIN lectures l ON l.id = p.lecture_id "
            "JOIN files f ON f.id = l.file_id WHERE v.lecture_id=? AND v.idx=? ORDER BY k.inliers DESC LIMIT 1",
            (lecture_id, idx))

    def all_links(self) -> list[sqlite3.Row]:
        """Every link: deck, deck_file, page, lecture_id, lecture, start_s, end_s, inliers."""
        return self.q(
            "SELECT pl.title AS deck, pf.path AS deck_file, p.page, vl.id AS lecture_id, vl.title AS lecture, "
            "v.start_s, v.end_s, k.inliers FROM links k JOIN slides p ON p.id = k.page_slide_id "
            "JOIN lectures pl ON pl.id = p.lecture_id JOIN files pf ON pf.id = pl.file_id "
            "JOIN slides v ON v.id = k.video_slide_id JOIN lectures vl ON vl.id = v.lecture_id "
            "ORDER BY pl.title, p.page, vl.title, v.start_s")

    # -- Gemini vectors (one per segment; removed with their segment) -------------------------------
    def _bump_gemini_generation(self) -> None:
        self.conn.execute("INSERT INTO gemini_meta VALUES('generation', '1') ON CONFLICT(key) DO UPDATE SET "
                          "value = CAST(value AS INTEGER) + 1")

    def gemini_generation(self) -> int:
        try:
            r = self.one("SELECT value FROM gemini_meta WHERE key='generation'")
        except sqlite3.OperationalError:   # an index made before the Gemini tables existed, opened read-only
            return 0
        return int(r[0]) if r else 0

    def gemini_done(self, segment_ids: Sequence[int], model: str, dims: int) -> set[int]:
        """Which of these segments already have a vector of this model and size."""
        if not segment_ids:
            return set()
        marks = ",".join("?" * len(segment_ids))
        try:
            return {r[0] for r in self.q(f"SELECT segment_id FROM gemini_segments WHERE model=? AND dims=? "
                                         f"AND segment_id IN ({marks})", [model, dims, *segment_ids])}
        except sqlite3.OperationalError:
            return set()

    def put_gemini_vectors(self, rows: Sequence[tuple[int, str, int, str, np.ndarray]]) -> None:
        """(segment id, model, dims, content key, vector) rows, in one transaction with a new Gemini generation."""
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO gemini_segments(segment_id, model, dims, content_key, vec) "
                          "VALUES(?,?,?,?,?)", [(sid, model, dims, key, to_blob(vec))
                                                for sid, model, dims, key, vec in rows])
            self._bump_gemini_generation()

    def gemini_space(self) -> Optional[tuple[str, int, int]]:
        """(model, dims, vectors) of the index's Gemini space: its most common (model, dims); None without any."""
        try:
            r = self.one("SELECT g.model, g.dims, COUNT(*) FROM gemini_segments g JOIN segments s ON "
                         "s.id = g.segment_id GROUP BY g.model, g.dims ORDER BY 3 DESC, 1, 2 LIMIT 1")
        except sqlite3.OperationalError:   # an index made before the Gemini tables existed, opened read-only
            return None
        return (r[0], int(r[1]), int(r[2])) if r else None

    def gemini_batches(self, batch: int = 2000, ids: Optional[Sequence[int]] = None):
        """(segment ids, vectors, texts: all '') of the Gemini space's vectors, `batch` at a time in id order
        (`ids`: only these); what an external store of them is built and repaired from."""
        space = self.gemini_space()
        if space is None:
            return
        sql = ("SELECT g.segment_id, g.vec FROM gemini_segments g JOIN segments s ON s.id = g.segment_id "
               "WHERE g.model = ? AND g.dims = ?")
        for rows in self._batched(sql, space[:2], "g.segment_id", batch, ids):
            yield (np.array([r[0] for r in rows], np.int64), np.stack([np.frombuffer(r[1], np.float32) for r in rows]),
                   [""] * len(rows))

    def gemini_ids(self) -> set[int]:
        """Ids of the segments with a vector in the Gemini space."""
        space = self.gemini_space()
        if space is None:
            return set()
        return {r[0] for r in self.q("SELECT g.segment_id FROM gemini_segments g JOIN segments s ON "
                                     "s.id = g.segment_id WHERE g.model = ? AND g.dims = ?", space[:2])}

    def gemini_vectors(self) -> tuple[np.ndarray, np.ndarray, Optional[str]]:
        """(segment ids, vectors, model) of the index's Gemini space: the most common (model, dims)."""
        space = self.gemini_space()
        parts = list(self.gemini_batches(20000)) if space else []
        if space is None or not parts:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), None
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), space[0]

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
