"""The offline models, each loaded once per process on first use."""
from __future__ import annotations

import functools
import threading


class MLModels:
    """Lazy holder for the ASR, OCR and text-embedding models."""

    def __init__(self):
        self._lock = threading.Lock()

    @functools.cached_property
    def asr(self):
        from .signals.asr import SpeechRecognizer

        with self._lock:
            return SpeechRecognizer()

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
