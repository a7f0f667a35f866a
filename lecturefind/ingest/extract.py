"""Turn one media file into lecture content: slides, transcript sentences, planned segments."""
from __future__ import annotations

import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import cv2
import numpy as np

from ..config import IngestConfig
from ..errors import MediaError, printable
from ..media import ffmpeg
from ..media.pdf import PdfPage, PdfPages
from ..media.probe import probe
from ..ml_models import MLModels
from ..records import Probe, Segment, Sentence, Slide
from ..segment.planner import plan_clips
from ..segment.slides import SlideChangeDetector
from ..signals.asr import Transcript
from ..signals.ocr import SeenLines
from ..signals.vocabulary import course_terms, decoder_prompt
from ..visual.features import INDEX_SIDE, PAGE_SIDE, TEXT_PAGE_SIDE, Features
from ..visual.features import extract as visual_features
from ..words import title_line

Progress = Callable[[str, float, float], None]   # (stage, done, total)
READ_SIDE = 1280    # keyframes are read (OCR, descriptors) at most this large
_PDF_WINDOW = 3     # PDF pages rendered ahead of the worker (each render ~3.5 MB)


@dataclass
class Extracted:
    kind: str
    duration: float = 0.0
    probe: Optional[Probe] = None
    pages: int = 0
    slides: list[Slide] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    transcript: Optional[Transcript] = None      # language, how it was chosen, any note for the user
    prompt: str = ""                             # what the speech decoder was given (the vocabulary)
    later: bool = False     # a large PDF: its descriptors (and, with FAISS, its vectors) are made after the commit


def _noop(stage: str, done: float, total: float) -> None:
    pass


class Extractor:
    """Runs segmentation and the per-segment signals for one file."""

    def __init__(self, models: MLModels, cfg: IngestConfig, keyframe_dir: str):
        self.models = models
        self.cfg = cfg
        self.keyframe_dir = keyframe_dir
        os.makedirs(keyframe_dir, exist_ok=True)
        # speech runs in worker threads (it releases the GIL) beside the next files' picture work
        self._speech_pool = ThreadPoolExecutor(max_workers=max(1, cfg.jobs), thread_name_prefix="asr")

    def extract(self, path: str, kind: str, key: str, progress: Progress = _noop,
                vocabulary: Sequence[str] = (), glossary: Sequence[str] = ()) -> Extracted:
        """The whole file at once (see `start`)."""
        return self.start(path, kind, key, progress, vocabulary, glossary)()

    def start(self, path: str, kind: str, key: str, progress: Progress = _noop,
              vocabulary: Sequence[str] = (), glossary: Sequence[str] = ()) -> Callable[[], Extracted]:
        """Do the picture work now and start the speech in the background; the returned call waits for the
        speech and plans the segments. The decoder's prompt is the glossary, then the most frequent terms of
        this lecture's own slides and of `vocabulary` (texts, e.g. the course's PDFs). A caller can start the
        next file's picture work while this file's speech runs."""
        if kind == "pdf":
            out = self._pdf(path, key, progress)
            return lambda: out
        p = probe(path)
        if kind == "video" and not p.has_video:
            kind = "audio" if p.has_audio else kind
        out = Extracted(kind=kind, duration=p.duration, probe=p)
        start = 0.0
        if p.has_video and kind == "video":
            out.slides, start = self._pictures(path, key, p.width, p.height, p.duration, out.timings, progress)
        asr_job = None
        if p.has_audio:
            own = [s.text for s in out.slides if s.same_as is None and s.text] if self.cfg.slide_vocab else []
            prompt = decoder_prompt(course_terms([*own, *vocabulary], glossary))
            out.prompt = prompt or ""
            asr_job = self._speech_pool.submit(self._speech, path, p.duration, prompt)

        def finish() -> Extracted:
            if asr_job is not None:
                out.transcript, out.timings["asr"] = asr_job.result()
                out.sentences = out.transcript.sentences
                progress("asr", p.duration, p.duration)
            self._plan(out, start)
            return out

        return finish

    def _plan(self, out: Extracted, start: float) -> None:
        """The file's clips, each with its sentences and distinct slide texts."""
        if out.sentences:
            start = min(start, out.sentences[0].start)
        has_audio = bool(out.probe and out.probe.has_audio)
        changes = [s.start for s in out.slides[1:]] if out.slides else [s.start for s in out.sentences]
        max_len = self.cfg.max_audio_clip_s if has_audio else self.cfg.max_silent_clip_s
        spans = plan_clips(out.duration, changes, window=self.cfg.window_s, overlap=self.cfg.overlap_s,
                           snap=self.cfg.snap_s, max_len=max_len, start=start)
        for sp in spans:
            sent_idx = [i for i, s in enumerate(out.sentences) if sp.start - 0.5 <= (s.start + s.end) / 2 < sp.end]
            seen, slide_idx = set(), []
            for i, sl in enumerate(out.slides):
                if sl.start < sp.end and sp.start < sl.end and sl.text and sl.text not in seen:
                    seen.add(sl.text)
                    slide_idx.append(i)
            seg = Segment(start=sp.start, end=sp.end, speech=" ".join(out.sentences[i].text for i in sent_idx),
                          slide_text="\n".join(out.slides[i].text for i in slide_idx),
                          sentence_idx=sent_idx, slide_idx=slide_idx)
            pictured = any(sl.image_path and sl.start < sp.end and sp.start < sl.end for sl in out.slides)
            if seg.text.strip() or pictured:   # silent and blank (black or no video): nothing to find there
                out.segments.append(seg)

    def _speech(self, path: str, duration: float, prompt: Optional[str] = None) -> tuple[Transcript, float]:
        t0 = time.perf_counter()
        audio = ffmpeg.decode_audio(path)
        transcript = self.models.asr.transcribe_lecture(audio, language=self.cfg.language, prompt=prompt)
        return transcript, time.perf_counter() - t0

    def _pictures(self, path: str, key: str, width: int, height: int, duration: float, timings: dict,
                  progress: Progress) -> tuple[list[Slide], float]:
        """One decode of the video: small grey frames find the slide changes, and each slide's keyframe (kept
        from the same frames, never decoded again) is read (OCR and visual descriptors) in a worker thread
        as soon as the next change ends the slide, while decoding goes on. Identical returning slides reuse
        the earlier reading. (slides, when the content starts)"""
        t0 = time.perf_counter()
        w, h = ffmpeg.frame_size(width, height, READ_SIDE)
        det = SlideChangeDetector()
        seen = SeenLines()       # what this video's earlier keyframes said: unchanged lines are not read again
        recent: deque[tuple[float, np.ndarray]] = deque(maxlen=8)     # the last 4 s of frames at 2 fps
        reading: deque[Future[float]] = deque()
        handed = 0
        waited = read_s = 0.0
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr") as pool:
            def hand_over(slides: list[Slide]) -> None:
                nonlocal handed, waited, read_s
                for sl in slides[handed:]:
                    if sl.same_as is None:
                        img = next((f.copy() for t, f in recent if abs(t - sl.keyframe_t) < 1e-3), None)
                        if img is None:     # only a slide shorter than the frames kept: decode that frame
                            img = ffmpeg.grab_frame(path, sl.keyframe_t, READ_SIDE)
                        reading.append(pool.submit(self._read_slide, key, sl, img, seen))
                    while len(reading) > 4:              # a few keyframes waiting, never the whole video
                        t1 = time.perf_counter()
                        read_s += reading.popleft().result()
                        waited += time.perf_counter() - t1
                handed = len(slides)

            frames = ffmpeg.sample_frames(path, self.cfg.sample_fps, w, h, colour=True, keep=recent.maxlen or 0,
                                          duration=duration)
            for t, frame in frames:
                recent.append((t, frame))
                small = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), (160, 90), interpolation=cv2.INTER_AREA)
                if det.process_frame(t, small) is not None:
                    hand_over(det.slides_so_far)
                if int(t * self.cfg.sample_fps) % 20 == 0:
                    progress("frames", min(t, duration), duration)
            slides = det.slides(duration)
            hand_over(slides)
            timings["frames"] = time.perf_counter() - t0 - waited
            progress("frames", duration, duration)
            while reading:
                read_s += reading.popleft().result()
        timings["ocr+visual"] = read_s
        for sl in slides:
            if sl.same_as is not None:
                src = slides[sl.same_as]
                sl.text, sl.title, sl.image_path = src.text, src.title, src.image_path
        return slides, det.content_start

    def _read_slide(self, key: str, sl: Slide, img: np.ndarray, seen: SeenLines) -> float:
        """OCR and visual descriptors of one keyframe (a black frame is left unread); seconds taken."""
        t0 = time.perf_counter()
        if not (float(img.mean()) < 18 and float(img.std()) < 8):
            sl.image_path = self._save_keyframe(key, sl.index, img)
            sl.text, sl.title = self.models.ocr.read_slide(img, seen=seen)
            sl.visual = visual_features(img)
        return time.perf_counter() - t0

    def _save_keyframe(self, key: str, idx: int, img: np.ndarray) -> str:
        name = f"{key[:16]}_{idx:04d}.jpg"
        h, w = img.shape[:2]
        s = INDEX_SIDE / max(h, w)   # same size the visual features were computed at
        if s < 1:
            img = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
        # a temporary name of this thread's own: two copies of one file (same content key, same keyframe names)
        # may be worked on at once with --jobs; each writes whole and os.replace is atomic
        tmp = os.path.join(self.keyframe_dir, f"{name}.{os.getpid()}-{threading.get_ident()}.tmp.jpg")
        cv2.imwrite(tmp, img, [cv2.IMWRITE_JPEG_QUALITY, 88])
        os.replace(tmp, os.path.join(self.keyframe_dir, name))
        return name

    def page_features(self, image_name: str, side: int) -> Optional[Features]:
        """Descriptors of a committed page, from its saved render, detected at `side` px (None: no render)."""
        img = cv2.imread(os.path.join(self.keyframe_dir, image_name)) if image_name else None
        return None if img is None else visual_features(img, crop=False, work_side=side)

    # -- PDF ----------------------------------------------------------------------------------
    def _pdf(self, path: str, key: str, progress: Progress) -> Extracted:
        """Each page: its text layer, a render (the page's picture), and only where they are needed OCR (no text
        layer) and visual descriptors (see `_pdf_page`). pdfium reads and renders in this thread (it is not
        thread-safe) while a worker saves the renders and computes descriptors and OCR (OpenCV and ONNX Runtime
        release the GIL). A page over a limit (see media.pdf) is left out or not rendered, and the file gets one
        warning line that names the pages and why."""
        t0 = time.perf_counter()
        pages = PdfPages(path)
        out = Extracted(kind="pdf", pages=len(pages))
        later = out.later = len(pages) > self.cfg.pdf_later_above     # its descriptors come after the commit
        problems: list[str] = []
        window: deque[Future[Slide]] = deque()

        def collect() -> None:
            slide = window.popleft().result()
            out.slides.append(slide)
            out.segments.append(Segment(start=0.0, end=0.0, slide_text=slide.text, page=slide.index + 1,
                                        slide_idx=[slide.index]))
            progress("pages", len(out.slides), len(pages))

        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-page") as pool:
                for pg in pages:
                    if pg.problem:
                        problems.append(pg.problem)
                    window.append(pool.submit(self._pdf_page, key, pg, later))
                    while len(window) > _PDF_WINDOW:      # a few renders in flight, never the whole file
                        collect()
                while window:
                    collect()
        except MediaError:
            raise
        except Exception as e:
            raise MediaError(path, f"cannot render PDF page ({type(e).__name__})") from None
        finally:
            pages.close()
        if problems:
            if not any(s.text or s.image_path for s in out.slides):
                raise MediaError(path, f"no page could be read ({problems[0]})")
            more = f"; and {len(problems) - 3} more pages like these" if len(problems) > 3 else ""
            rest = len(out.slides) - len(problems)
            # one line for the user: the pipeline prints a transcript's note as `warning: <file>: <note>`
            out.transcript = Transcript(note=printable("; ".join(problems[:3]) + more +
                                                       f"; the other {rest} pages are indexed"))
        out.timings["pdf"] = time.perf_counter() - t0
        return out

    def _pdf_page(self, key: str, pg: PdfPage, later: bool = False) -> Slide:
        """A page as a slide: its render saved, its visual descriptors (for photo queries and page↔slide links)
        detected at PAGE_SIDE on a page without a text layer, with graphics (images, figures) or slide-shaped
        (landscape), else (a portrait page of text alone, a textbook's) at TEXT_PAGE_SIDE: ~0.1 s CPU instead of
        ~0.5 (0.8 at 1280), and photos of such pages are found at least as well. With `later` (a large PDF) they
        are made after the commit, from the saved render (`page_features`): ~75 ms of a text page's ~90, ~0.3 s
        of a figure's. OCR only without a text layer."""
        slide = Slide(index=pg.page - 1, start=0.0, end=0.0, keyframe_t=0.0)
        text = pg.text
        if pg.image is not None:
            slide.image_path = self._save_keyframe(key, pg.page - 1, pg.image)
            no_text = len("".join(text.split())) < 20
            side = PAGE_SIDE if no_text or pg.graphics or pg.width > pg.height else TEXT_PAGE_SIDE
            if later:
                slide.visual_later = side
            else:
                slide.visual = visual_features(pg.image, crop=False, work_side=side)
            if no_text:   # no usable text layer: read the render
                ocr = self.models.ocr.read(pg.image, crop=False)
                text = ocr if len(ocr) > len(text) else text
        slide.text = text
        slide.title = title_line(text)
        return slide
