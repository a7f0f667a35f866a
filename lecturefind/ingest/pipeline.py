"""Ingest files into an index directory, one SQLite transaction per file.

A file is skipped when its sha256 is unchanged, replaced when it changed, and a
failure is recorded as one readable line while the rest of the batch goes on.
A SIGKILL at any point leaves every file either fully old or fully new.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
import sqlite3
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Protocol, Sequence

import numpy as np

from ..config import IngestConfig
from ..errors import LectureFindError, MediaError, os_reason, printable
from ..formats import ingest_exts, media_kind
from ..index.bm25 import Bm25Cache
from ..index.catalog import Catalog, LectureContent, Replaced
from ..index.store import StoreError, open_stores, store_spec
from ..ml_models import MLModels
from ..words import reads_as_english
from .extract import Extracted, Extractor

OWED_BATCH = 64     # owed pages paid per transaction (~50 s of work: a kill loses at most that; each batch is a new
                    # generation, which every searcher reloads)


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
    owed_paid: int = 0          # pages given their vectors/descriptors after their words were committed

    @property
    def realtime_factor(self) -> float:
        return self.media_seconds / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        return (f"files: {self.files} ({self.ingested} ingested, {self.unchanged} unchanged, "
                f"{len(self.errors)} failed) · segments: {self.segments} · errors: {len(self.errors)} · "
                f"elapsed: {self.elapsed:.1f}s · media: {self.media_seconds:.0f}s · "
                f"real-time factor: {self.realtime_factor:.1f}x" +
                (f" · {self.owed_paid} pages given their vectors after their words" if self.owed_paid else ""))


def discover(paths: Iterable[str]) -> list[tuple[str, Optional[str]]]:
    """(absolute path, error or None) for every file named or found under a directory, each once; a folder
    that cannot be read is an error line too, not a silent gap."""
    out: list[tuple[str, Optional[str]]] = []

    def unreadable(e: OSError) -> None:
        out.append((os.path.abspath(e.filename or "?"), f"cannot read folder ({os_reason(e)})"))

    for p in paths:
        ap = os.path.abspath(p)
        if os.path.isdir(ap):
            for root, dirs, files in os.walk(ap, onerror=unreadable):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and media_kind(name):
                        out.append((os.path.join(root, name), None))
        elif not os.path.exists(ap):
            out.append((ap, "file not found"))
        elif media_kind(ap) is None:
            out.append((ap, f"unsupported file type '{os.path.splitext(ap)[1] or '(none)'}' ({ingest_exts()})"))
        else:
            out.append((ap, None))
    once: dict[str, tuple[str, Optional[str]]] = {}
    for pe in out:
        once.setdefault(pe[0], pe)
    return list(once.values())


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


def segment_vector(seg, sent_vecs: Sequence[Optional[np.ndarray]],
                   slide_vecs: Sequence[Optional[np.ndarray]]) -> Optional[np.ndarray]:
    """A segment's vector: the mean of its speech and its slide-text directions, L2-normalised.

    Built from the sentence and slide embeddings already computed, so no text is embedded twice
    (embedding a whole 30 s clip's text costs ~10x more than its parts). Items without a vector (None: e.g.
    no English vector of a German sentence) are left out.
    """
    parts = []
    for idx, vecs in ((seg.sentence_idx, sent_vecs), (seg.slide_idx, slide_vecs)):
        have = [vecs[i] for i in idx if vecs[i] is not None]
        if have:
            parts.append(np.mean(have, axis=0))
    parts = [p / (np.linalg.norm(p) or 1.0) for p in parts]
    if not parts:
        return None
    v = np.mean(parts, axis=0)
    return (v / (np.linalg.norm(v) or 1.0)).astype(np.float32)


Reporter = Callable[[str, str, float, float], None]   # (file, stage, done, total)


class Indexer(Protocol):
    """More signals for a file after its offline content is committed (e.g. the Gemini backend's vectors)."""

    def index_file(self, catalog: Catalog, path: str) -> int: ...


class Ingestor:
    """Ingests files into one index: offline extraction and commit, then each extra indexer handed in."""

    def __init__(self, index_dir: str, cfg: Optional[IngestConfig] = None, models: Optional[MLModels] = None,
                 reporter: Optional[Reporter] = None, log: Callable[[str], None] = print,
                 indexers: Sequence[Indexer] = (), store: Optional[str] = None):
        """`store`: where the vectors go (`index.store.StoreSpec`); default: the one the index records."""
        self.index_dir = os.path.abspath(index_dir)
        self.cfg = cfg or IngestConfig()
        self.models = models or MLModels(self.cfg.jobs)
        self.catalog = Catalog(self.index_dir)
        self.store = store_spec(self.catalog, self.index_dir, store)
        self.vectors, self.vectors_en = open_stores(self.store, self.catalog, self.index_dir)
        self.extractor = Extractor(self.models, self.cfg, os.path.join(self.index_dir, "keyframes"))
        self._workers = ThreadPoolExecutor(max_workers=max(1, self.cfg.jobs), thread_name_prefix="pictures")
        self.reporter = reporter
        self.log = log
        self.indexers = tuple(indexers)

    def close(self) -> None:
        self._workers.shutdown(wait=True)
        self.catalog.close()

    def ingest(self, paths: Iterable[str], course: Optional[str] = None) -> IngestReport:
        """Files in order. A file's pictures are read (with `cfg.jobs` > 1 in worker threads, that many files
        at once), then its speech in a worker (its decoder prompt needs its own slides first); this thread embeds
        and commits each file in turn, one transaction each, while the next files are worked on."""
        rep = IngestReport()
        t0 = time.perf_counter()
        with IndexLock(self.index_dir):
            self.vectors.load(self.catalog, persist=True)      # an unreachable store stops here, catalog untouched
            self.vectors_en.load(self.catalog, persist=True)
            if self.catalog.setting("store") != str(self.store):
                self.catalog.set_setting("store", str(self.store))   # search and serve use it from now on
            self._backfill_english()
            if self.catalog.generation != self.vectors.generation:
                self.vectors.load(self.catalog, persist=True)
                self.vectors_en.load(self.catalog, persist=True)
            pending: deque[_Started] = deque()     # files whose pictures or speech are being worked on
            # slide PDFs first: their terms are the vocabulary of the course's lectures
            for path, err in sorted(discover(paths), key=lambda pe: media_kind(pe[0]) != "pdf"):
                rep.files += 1
                if err:
                    self._fail(rep, path, err)
                    continue
                started = self._guarded(rep, path, self._start, rep, path, course)
                if started is None and self.indexers and self.catalog.file_row(path) is not None:
                    # unchanged offline; an extra indexer may still owe it (e.g. Gemini calls that failed)
                    self._guarded(rep, path, self._index_extra, path)
                if started is not None and media_kind(path) == "pdf":
                    # a PDF is read here, and its words must be in the catalog before the course's lectures
                    # start (their decoder prompt)
                    self._guarded(rep, started.path, self._finish, rep, started)
                elif started is not None:
                    pending.append(started)
                while len(pending) > self.cfg.jobs:     # commit in order, the next files' work going on
                    job = pending.popleft()
                    self._guarded(rep, job.path, self._finish, rep, job)
            while pending:
                job = pending.popleft()
                self._guarded(rep, job.path, self._finish, rep, job)
            self._pay_owed(rep)          # also what a run killed before this point owed
            try:
                self._sync_gemini()
            except LectureFindError as e:
                rep.errors.append(str(e))
                self.log(f"error: {printable(str(e))}")
            dirty = self.catalog.dirty_link_courses()   # also those of a run killed before this point
            if dirty:
                t1 = time.perf_counter()
                from ..visual.links import rebuild_links

                rebuild_links(self.catalog, dirty)
                rep.stage_seconds["links"] = time.perf_counter() - t1
            self._sync_bm25(rep)
            self._pay_latent(rep)        # last: nothing waits on them (also what a killed run left owed)
        rep.elapsed = time.perf_counter() - t0
        return rep

    def _english(self, texts: list[str], language: Optional[str]) -> list[Optional[np.ndarray]]:
        """The English embedding of each text that is English (see `words.reads_as_english`), else None."""
        which = [i for i, t in enumerate(texts) if t and reads_as_english(t, language)]
        out: list[Optional[np.ndarray]] = [None] * len(texts)
        for i, v in zip(which, self.models.english.passages([texts[i] for i in which])):
            out[i] = v
        return out

    def _backfill_english(self) -> None:
        """An index made before English vectors gains them (once; then each file brings its own)."""
        while batch := self.catalog.english_missing():
            vecs: dict[tuple[str, int], Optional[np.ndarray]] = {}
            for lang in {b[3] for b in batch}:
                rows = [b for b in batch if b[3] == lang]
                vecs.update(zip(((b[0], b[1]) for b in rows), self._english([b[2] for b in rows], lang)))
            self.catalog.put_english([(t, i, vecs[(t, i)]) for t, i, _, _ in batch])

    def _guarded(self, rep: IngestReport, path: str, step: Callable[..., Any], *args: Any) -> Any:
        """Run one step of a file; a failure becomes that file's error line and the batch goes on."""
        try:
            return step(*args)
        except StoreError:
            raise                        # the store is down: the whole batch stops (the next run repairs it)
        except MediaError as e:
            self._fail(rep, path, e.reason)
        except LectureFindError as e:
            self._fail(rep, path, str(e))
        except Exception as e:  # never let one file stop the batch
            self._fail(rep, path, f"unexpected {type(e).__name__}: {str(e)[:160]}")
        return None

    def _fail(self, rep: IngestReport, path: str, reason: str) -> None:
        line = f"error: {printable(path)}: {printable(reason)}"
        rep.errors.append(line)
        self.log(line)
        try:
            try:
                self.catalog.record_failure(path, media_kind(path), reason)
            except UnicodeEncodeError:    # a name that is not UTF-8: listed as printed, so `status` shows it too
                self.catalog.record_failure(printable(path), media_kind(path), reason)
        except Exception:
            pass

    def _start(self, rep: IngestReport, path: str, course: Optional[str]) -> Optional["_Started"]:
        """Checks, the picture work, and the speech started; None when the file is unchanged."""
        kind = media_kind(path)
        if kind is None:
            raise MediaError(path, f"unsupported file type ({ingest_exts()})")
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            raise MediaError(path, "its name is not valid UTF-8 (the index stores names as text); rename it, e.g. "
                                   "with `convmv -f latin1 -t utf8`") from None
        try:
            st = os.stat(path)
            with open(path, "rb"):
                pass
        except OSError as e:
            raise MediaError(path, f"cannot open ({os_reason(e)})") from None
        if st.st_size == 0:
            raise MediaError(path, "empty file (0 bytes)")
        row = self.catalog.file_row(path)
        if row and row["state"] == "done" and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
            rep.unchanged += 1
            return None
        digest = sha256_file(path)
        if row and row["state"] == "done" and row["sha256"] == digest:
            self.catalog.touch_file(row["id"], st.st_size, st.st_mtime_ns)
            rep.unchanged += 1
            return None

        def progress(stage: str, done: float, total: float) -> None:
            if self.reporter:
                self.reporter(path, stage, done, total)

        course_name = course or os.path.basename(os.path.dirname(path)) or "default"
        printed = self.catalog.course_pdf_texts(course_name) if kind != "pdf" and self.cfg.course_vocab else []
        if kind == "pdf" or self.cfg.jobs == 1:
            # read now: pdfium is not thread-safe; and with one job the previous file's speech and embedding
            # already share the cores with these pictures (a worker thread would add a third lane: measured
            # 10% more CPU on the devset, from more threads than cores)
            finish = self.extractor.start(path, kind, digest, progress, printed, self.cfg.glossary)
        else:                   # pictures in a worker, speech after them in another: see `ingest`
            picturing = self._workers.submit(self.extractor.start, path, kind, digest, progress, printed,
                                             self.cfg.glossary)
            finish = lambda: picturing.result()()     # noqa: E731
        return _Started(path, st.st_size, st.st_mtime_ns, digest, course_name, finish, progress)

    def _finish(self, rep: IngestReport, job: "_Started") -> None:
        """Wait for the file's speech, embed, commit, then hand the file to each extra indexer."""
        path = job.path
        ex = job.finish()
        if ex.transcript is not None and ex.transcript.note:
            self.log(f"warning: {printable(path)}: {ex.transcript.note}")
        if not ex.segments:
            raise MediaError(path, "nothing to index (no speech, slides or text found)")
        t1 = time.perf_counter()
        # a large PDF's vectors come after its commit (`_pay_owed`); not in Milvus, whose BM25 holds only the
        # segments with a vector
        later = ex.later and self.store.kind == "faiss"
        lang = ex.transcript.language if ex.transcript else None
        sent_vecs: Optional[np.ndarray] = None
        slide_vecs: Optional[np.ndarray] = None
        seg_vecs: list[Optional[np.ndarray]] = [None] * len(ex.segments)
        sent_en: list[Optional[np.ndarray]] = []
        slide_en: list[Optional[np.ndarray]] = []
        seg_en: list[Optional[np.ndarray]] = []
        if not later:
            emb = self.models.embedder
            sent_vecs = sent_e5 = emb.passages([s.text for s in ex.sentences])
            slide_vecs = slide_e5 = emb.passages([s.text for s in ex.slides])
            sent_rows, slide_rows = list(sent_e5), list(slide_e5)
            seg_vecs = [segment_vector(seg, sent_rows, slide_rows) for seg in ex.segments]
            sent_en = self._english([s.text for s in ex.sentences], lang)
            slide_en = self._english([s.text for s in ex.slides], lang)
            seg_en = [segment_vector(seg, sent_en, slide_en) for seg in ex.segments]
            ex.timings["embed"] = time.perf_counter() - t1
            job.progress("embed", 1, 1)
        p = ex.probe
        content = LectureContent(
            kind=ex.kind, title=os.path.splitext(os.path.basename(path))[0].replace("_", " "),
            duration=ex.duration or None, pages=ex.pages or None, width=p.width if p else None,
            height=p.height if p else None, has_audio=bool(p.has_audio) if p else False,
            language=ex.transcript.language if ex.transcript else None,
            language_prob=ex.transcript.probability if ex.transcript and ex.transcript.language else None,
            segments=ex.segments, segment_vecs=seg_vecs, sentences=ex.sentences, sentence_vecs=sent_vecs,
            slides=ex.slides, slide_vecs=slide_vecs, segment_vecs_en=seg_en, sentence_vecs_en=sent_en,
            slide_vecs_en=slide_en, vectors_later=later)
        done = self.catalog.replace_lecture(path, job.size, job.mtime_ns, job.digest, job.course, content,
                                            self.models.stamps())
        self._sync_stores(done, path)
        rep.ingested += 1
        rep.segments += len(ex.segments)
        rep.media_seconds += ex.duration
        for k, v in ex.timings.items():
            rep.stage_seconds[k] = rep.stage_seconds.get(k, 0.0) + v
        self._index_extra(path)         # after the offline signals are committed

    def _sync_stores(self, done: Replaced, path: str) -> None:
        try:
            self.vectors.sync(self.catalog, done.generation_before, done.removed, done.added)
            self.vectors_en.sync(self.catalog, done.generation_before, done.removed, done.added_en)
        except StoreError as e:
            raise StoreError(f"{e}; {printable(path)} is in the catalog and the next ingest brings the store "
                             "up to date") from None

    def _pay_owed(self, rep: IngestReport) -> None:
        """Pages committed by their words (a large PDF's: see `IngestConfig.pdf_later_above`) get their vectors
        and visual descriptors, a batch per transaction, so a run killed here leaves the rest owed to the next
        run, with nothing made twice. Searches meanwhile find those pages by their words. A failure is one line;
        the pages stay owed."""
        total = self.catalog.owed_count()
        if not total:
            return
        t0, path = time.perf_counter(), ""
        try:
            while batch := self.catalog.owed_pages(OWED_BATCH):
                path = batch[0]["path"]
                self._pay_batch(batch, path)
                rep.owed_paid += len(batch)
                if self.reporter:
                    self.reporter(path, "later", min(rep.owed_paid, total), total)
        except Exception as e:  # noqa: BLE001 - one line, and the links, the summary and the next run go on
            reason = str(e) if isinstance(e, LectureFindError) else f"unexpected {type(e).__name__}: {str(e)[:160]}"
            line = (f"error: {printable(path)}: the vectors of its pages could not all be made ({printable(reason)}); "
                    "those pages are found by their words, and the next ingest tries again")
            rep.errors.append(line)
            self.log(line)
        finally:
            rep.stage_seconds["later"] = rep.stage_seconds.get("later", 0.0) + time.perf_counter() - t0

    def _pay_batch(self, batch: list, path: str) -> None:
        texts = [r["text"] if r["vectors"] else "" for r in batch]
        want = [i for i, t in enumerate(texts) if t]
        vecs: list[Optional[np.ndarray]] = [None] * len(batch)
        vecs_en: list[Optional[np.ndarray]] = [None] * len(batch)
        if want:
            for i, v in zip(want, self.models.embedder.passages([texts[i] for i in want])):
                vecs[i] = v
            for lang in {batch[i]["language"] for i in want}:
                same = [i for i in want if batch[i]["language"] == lang]
                for i, v in zip(same, self._english([texts[i] for i in same], lang)):
                    vecs_en[i] = v
        visual = [self.extractor.page_features(r["image"], r["visual"]) if r["visual"] else None for r in batch]
        done = self.catalog.pay_owed(list(zip(batch, vecs, vecs_en, visual)))
        self._sync_stores(done, path)

    def _pay_latent(self, rep: IngestReport) -> None:
        """The latent terms of every sentence and slide still without them (this run's files, a killed run's, an
        older index's), a batch per transaction. Made last, once the links and the word index are done: nothing
        waits on them, and a search meanwhile scores those items by their words and vectors alone. A failure is one
        line; the items stay owed to the next run."""
        t0, total, done = time.perf_counter(), self.catalog.latent_owed(), 0
        emb = self.models.embedder if total else None       # no model loaded for nothing
        if emb is None or not emb.has_latent:
            return
        try:
            while batch := self.catalog.latent_missing():
                made = emb.latents([text for _, _, text in batch])
                self.catalog.put_latent([(t, i, None if v is None else v.tobytes())
                                         for (t, i, _), v in zip(batch, made)])
                done += len(batch)
                if self.reporter:
                    self.reporter(self.index_dir, "latent", min(done, total), total)
        except Exception as e:  # noqa: BLE001 - one line; the summary and the next run go on
            reason = str(e) if isinstance(e, LectureFindError) else f"unexpected {type(e).__name__}: {str(e)[:160]}"
            line = (f"error: {printable(self.index_dir)}: the latent terms of {total - done} sentences and slides "
                    f"could not all be made ({printable(reason)}); they are searched without them, and the next "
                    "ingest tries again")
            rep.errors.append(line)
            self.log(line)
        finally:
            rep.stage_seconds["latent"] = rep.stage_seconds.get("latent", 0.0) + time.perf_counter() - t0

    def _sync_bm25(self, rep: IngestReport) -> None:
        """The in-memory BM25 file brought to the catalog's texts (also after a run killed before here); while
        it cannot be, search ranks by words with FTS5, the same ranking, slower on a large catalog."""
        if self.store.kind != "faiss":
            return                      # Milvus ranks by BM25 itself
        t0 = time.perf_counter()
        try:
            if Bm25Cache.of(self.index_dir).refresh(self.catalog) is not None:
                rep.stage_seconds["bm25"] = time.perf_counter() - t0
        except (OSError, MemoryError, sqlite3.Error) as e:
            reason = os_reason(e) if isinstance(e, OSError) else f"{type(e).__name__}: {printable(str(e))[:160]}"
            self.log(f"warning: {printable(self.index_dir)}: the in-memory word index could not be written "
                     f"({reason}); search ranks by words with SQLite meanwhile, and the next ingest tries again")

    def _sync_gemini(self) -> None:
        """With the Milvus store, its Gemini collection is brought to the catalog's Gemini vectors (made by an
        extra indexer, this run or one killed before its end): created, and repaired by ids when behind."""
        if self.store.kind != "milvus" or self.catalog.gemini_space() is None:
            return
        from ..index.milvus import GEMINI, MilvusStore

        MilvusStore(self.store, self.catalog, GEMINI).load(self.catalog, persist=True)

    def _index_extra(self, path: str) -> None:
        """Each extra indexer on a committed file (it does only what the file still lacks); on success an earlier
        failure of the file no longer stands."""
        row = self.catalog.file_row(path)
        if row is None or row["state"] != "done":
            return
        for indexer in self.indexers:
            indexer.index_file(self.catalog, path)
        if self.indexers and row["error"]:
            self.catalog.clear_error(path)


@dataclass
class _Started:
    """A file whose picture work is done and whose speech is being recognised."""

    path: str
    size: int
    mtime_ns: int
    digest: str
    course: str
    finish: Callable[[], Extracted]
    progress: Callable[[str, float, float], None]
