"""Slide text with RapidOCR (PP-OCR ONNX models bundled in the `rapidocr` wheel)."""
from __future__ import annotations

import logging

import cv2
import numpy as np

from ..segment.slides import border_box


class SeenLines:
    """What the previous keyframes of one video said, where: a line of a new keyframe whose pixels did not change
    since one of them (the title of every build step, the bullets a build keeps, a footer) is not recognised
    again (~50 ms a line); only what changed is. One per video, used from one thread."""

    def __init__(self, keep: int = 2):
        self.keep = keep
        self.frames: list[tuple[np.ndarray, list[tuple[np.ndarray, str, float]]]] = []   # (grey, [(rect, text, score)])
        self.reused = self.read = 0

    def find(self, grey: np.ndarray, rect: np.ndarray) -> tuple[str, float] | None:
        """The text an earlier keyframe read in about this box, if the pixels there are unchanged."""
        for old_grey, lines in reversed(self.frames):
            if old_grey.shape != grey.shape:
                continue
            for old_rect, text, score in lines:
                if _iou(rect, old_rect) < 0.6:
                    continue
                x0, y0 = np.maximum(np.minimum(rect[:2], old_rect[:2]) - 3, 0).astype(int)
                x1, y1 = (np.maximum(rect[2:], old_rect[2:]) + 3).astype(int)
                d = cv2.absdiff(grey[y0:y1, x0:x1], old_grey[y0:y1, x0:x1])
                if d.size and float((d > 32).mean()) < 0.002:
                    return text, score
        return None

    def add(self, grey: np.ndarray, lines: list[tuple[np.ndarray, str, float]]) -> None:
        self.frames = (self.frames + [(grey, lines)])[-self.keep:]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


class SlideReader:
    """Reads the text of a slide image (BGR), top to bottom."""

    version = "rapidocr/PP-OCRv6-small"

    def __init__(self, min_score: float = 0.5):
        from rapidocr import RapidOCR

        # slides are upright (no angle classifier) and their text is large: detect at ≤ 960 px (30% less det time,
        # 99% the same text on the sample course)
        # ONNX Runtime's memory arena on (RapidOCR turns it off): 22% less OCR time, 10x fewer page faults
        self.engine = RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False,
                                       "Det.limit_type": "max", "Det.limit_side_len": 960,
                                       "EngineConfig.onnxruntime.enable_cpu_mem_arena": True})
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        self.min_score = min_score

    def read(self, img: np.ndarray, crop: bool = True) -> str:
        return self.read_slide(img, crop)[0]

    def read_slide(self, img: np.ndarray, crop: bool = True, seen: SeenLines | None = None) -> tuple[str, str]:
        """(text top to bottom, title): the title is the tallest line in the top 40 % of the slide when it
        stands out (≥ 1.2× the median line height), so a small logo or header line above it is passed over;
        otherwise the first line. With `seen` (the same video's earlier keyframes), unchanged lines are taken
        from there instead of recognised again."""
        if img is None or img.size == 0:
            return "", ""
        full = img
        x_off = y_off = 0
        if crop:
            y_off, y1, x_off, x1 = border_box(img)
            img = img[y_off:y1, x_off:x1]
        h, w = img.shape[:2]
        scale = min(1.0, 1600 / max(h, w))
        if scale < 1:
            img = cv2.resize(img, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        read = self._boxes_and_texts(img, full, (x_off, y_off), scale, seen)
        lines = []
        for box, txt, score in read:
            if score >= self.min_score and txt.strip():
                top, bottom = float(np.min(box[:, 1])), float(np.max(box[:, 1]))
                lines.append((top, float(np.min(box[:, 0])), txt.strip(), bottom - top))
        lines.sort(key=lambda x: (round(x[0] / 12), x[1]))
        text = "\n".join(t for _, _, t, _ in lines)
        return text, _title(lines, img.shape[0], img.shape[1])

    def _boxes_and_texts(self, img: np.ndarray, full: np.ndarray, offset: tuple[int, int], scale: float,
                         seen: SeenLines | None) -> list[tuple[np.ndarray, str, float]]:
        """RapidOCR's detection, then recognition of the lines `seen` cannot answer."""
        if seen is None:
            res = self.engine(img)
            if res is None or res.txts is None:
                return []
            return list(zip(res.boxes, res.txts, res.scores))
        from rapidocr.utils.process_img import map_boxes_to_original

        pre, op = self.engine.preprocess_img(img)
        try:
            crops, det = self.engine.detect_and_crop(pre, op)
        except Exception:        # RapidOCRError: no text found
            seen.add(_grey(full), [])
            return []
        if det.boxes is None or not len(det.boxes):
            seen.add(_grey(full), [])
            return []
        boxes = map_boxes_to_original(det.boxes, op, img.shape[0], img.shape[1])
        grey = _grey(full)
        rects = [np.concatenate([b.min(axis=0), b.max(axis=0)]) / scale + np.array(offset * 2) for b in boxes]
        said: list[tuple[str, float] | None] = [seen.find(grey, r) for r in rects]
        todo = [i for i, s in enumerate(said) if s is None]
        if todo:
            try:
                rec = self.engine.recognize_txt([crops[i] for i in todo])
            except Exception:    # RapidOCRError (nothing recognised): as RapidOCR's own pipeline, no text there
                rec = None
            for i, txt, score in zip(todo, getattr(rec, "txts", None) or (), getattr(rec, "scores", None) or ()):
                said[i] = (txt, float(score))
        seen.reused += len(boxes) - len(todo)
        seen.read += len(todo)
        known = [(rects[i], s[0], s[1]) for i, s in enumerate(said) if s is not None]
        seen.add(grey, known)
        return [(boxes[i], s[0], s[1]) for i, s in enumerate(said) if s is not None]


def _grey(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img


_BULLETS = "-–—•●○◦▪▸►▶‣*·>»"


def _rows(lines: list[tuple[float, float, str, float]]) -> list[tuple[float, float, str, float]]:
    """OCR boxes joined into text rows (a line OCR'd as several boxes), top to bottom: (y0, x0, text, height)."""
    rows: list[list[tuple[float, float, str, float]]] = []
    for ln in sorted(lines, key=lambda ln: ln[0]):
        if rows and abs(ln[0] - rows[-1][0][0]) < 0.5 * max(ln[3], rows[-1][0][3]):
            rows[-1].append(ln)
        else:
            rows.append([ln])
    out = []
    for row in rows:
        row.sort(key=lambda ln: ln[1])
        out.append((min(ln[0] for ln in row), row[0][1], " ".join(ln[2] for ln in row), max(ln[3] for ln in row)))
    return out


def _title(lines: list[tuple[float, float, str, float]], height: int, width: int = 0) -> str:
    """The slide's title among its OCR lines (y0, x0, text, line height), joined into rows; a bullet row is
    never the title. By default the first row. A row further down wins only when it is clearly larger type
    (≥ 1.2× the median row and ≥ 1.25× the first row, so a small header or logo above the title is passed
    over, but a body line whose box capitals or brackets inflate is not taken): the topmost of the tallest such
    rows in the top 40 %. A title in large type takes a second row of the same size, alignment and no greater
    length just below it (a wrapped title)."""
    rows = [r for r in _rows(lines) if sum(ch.isalpha() for ch in r[2]) >= 3]
    if not rows:
        return ""
    median = float(np.median([r[3] for r in rows]))
    top = [r for r in rows if r[0] < 0.4 * height and r[2][:1] not in _BULLETS]
    big = [r for r in top if r[3] >= 1.2 * median]
    pick = rows[0]
    if big:
        tallest = max(r[3] for r in big)
        cand = min((r for r in big if r[3] >= 0.85 * tallest), key=lambda r: r[0])
        if cand is rows[0] or cand[3] >= 1.25 * rows[0][3]:
            pick = cand
    if pick[3] < 1.2 * median:
        return pick[2]
    below = [r for r in top if pick[0] + 0.5 * pick[3] < r[0] < pick[0] + 1.8 * pick[3]
             and abs(r[3] - pick[3]) <= 0.15 * pick[3] and abs(r[1] - pick[1]) <= 0.08 * (width or 1e9)
             and r[2][:1].isalnum() and len(r[2]) <= 1.5 * len(pick[2]) + 10]   # a continuation, not a body line
    return pick[2] + (" " + min(below, key=lambda r: r[0])[2] if below else "")
