"""The offline models, each loaded once per process on first use."""
from __future__ import annotations

import functools
import os
import threading


class MLModels:
    """Lazy holder for the ASR, OCR and text-embedding models."""

    def __init__(self, jobs: int = 1):
        """`jobs`: how many lectures an ingest transcribes at once (each decoder gets its share of the cores)."""
        self._lock = threading.Lock()
        self.jobs = max(1, jobs)

    @functools.cached_property
    def asr(self):
        from .signals.asr import SpeechRecognizer

        with self._lock:
            return SpeechRecognizer(threads=max(1, (os.cpu_count() or 2) // self.jobs), workers=self.jobs)

    @functools.cached_property
    def ocr(self):
        from .signals.ocr import SlideReader

        with self._lock:
            return SlideReader()

    @functools.cached_property
    def embedder(self):
        from .signals.embed import TextEmbedder

        with self._lock:
            return TextEmbedder()

    @functools.cached_property
    def english(self):
        from .signals.embed import EnglishEmbedder

        with self._lock:
            return EnglishEmbedder()

    def stamps(self) -> dict:
        from .signals.asr import SpeechRecognizer
        from .signals.embed import EnglishEmbedder, TextEmbedder
        from .signals.ocr import SlideReader

        return {"asr": SpeechRecognizer.version, "ocr": SlideReader.version, "text_embedding": TextEmbedder.version,
                "english_embedding": EnglishEmbedder.version}
