"""Settings of the Gemini backend, from flags and the environment."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

BACKENDS = ("offline", "gemini")


def backend_from_env(default: str = "offline") -> str:
    b = os.environ.get("LECTUREFIND_BACKEND", "").strip().lower() or default
    return b if b in BACKENDS else default


def _f(name: str, default: float) -> float:
    v = os.environ.get(name, "").strip()
    return float(v) if v else default


@dataclass
class Prices:
    """USD per 1M input tokens, by modality (override with LECTUREFIND_GEMINI_PRICE_<MODALITY>).

    The defaults are assumptions for the estimate only; check the current pricing page.
    The Batch API is billed at `batch_discount` of these.
    """

    text: float = 0.20
    image: float = 0.45
    audio: float = 6.50
    video: float = 12.00
    document: float = 0.45
    batch_discount: float = 0.5

    @classmethod
    def from_env(cls) -> "Prices":
        p = cls()
        for m in ("text", "image", "audio", "video", "document"):
            setattr(p, m, _f(f"LECTUREFIND_GEMINI_PRICE_{m.upper()}", getattr(p, m)))
        return p


@dataclass
class GeminiConfig:
    model: str = "gemini-embedding-2"
    api_version: str = "v1beta"
    dims: int = 3072                  # Matryoshka: 128..3072, L2-normalised client-side
    prefix_dims: int = 256            # shortlist stage of the two-stage search
    timeout_s: float = 120.0          # per HTTP request
    max_attempts: int = 6             # retries of 408/429/5xx/timeouts, backoff >= server retryDelay
    backoff_s: float = 1.0            # first backoff step (doubles, +jitter)
    max_backoff_s: float = 60.0
    concurrency: int = 4              # requests in flight
    max_contents_per_call: int = 32   # contents per batchEmbedContents call
    videos_per_call: int = 1          # one video per request
    inline_limit_bytes: int = 14_000_000   # raw payload of one call; base64 of this is ~19 MB (< 20 MB)
    clip_height: int = 360            # transcoded rendition (<= 480p)
    clip_fps: float = 2.0
    clip_audio_kbps: int = 32
    batch_api: bool = False
    batch_poll_s: float = 10.0
    batch_poll_max_s: float = 24 * 3600.0
    prices: Prices = field(default_factory=Prices)

    @classmethod
    def from_env(cls, dims: int | None = None, batch_api: bool | None = None) -> "GeminiConfig":
        c = cls()
        c.model = os.environ.get("LECTUREFIND_GEMINI_MODEL", "").strip() or c.model
        c.api_version = os.environ.get("LECTUREFIND_GEMINI_API_VERSION", "").strip() or c.api_version
        c.dims = int(dims or _f("LECTUREFIND_GEMINI_DIMS", c.dims))
        c.timeout_s = _f("LECTUREFIND_GEMINI_TIMEOUT_S", c.timeout_s)
        c.concurrency = int(_f("LECTUREFIND_GEMINI_CONCURRENCY", c.concurrency))
        c.max_attempts = int(_f("LECTUREFIND_GEMINI_MAX_ATTEMPTS", c.max_attempts))
        c.backoff_s = _f("LECTUREFIND_GEMINI_BACKOFF_S", c.backoff_s)
        c.inline_limit_bytes = int(_f("LECTUREFIND_GEMINI_INLINE_LIMIT", c.inline_limit_bytes))
        c.batch_poll_s = _f("LECTUREFIND_GEMINI_BATCH_POLL_S", c.batch_poll_s)
        if batch_api is not None:
            c.batch_api = batch_api
        c.prices = Prices.from_env()
        c.validate()
        return c

    def validate(self) -> None:
        from .errors import LimitError

        if not 128 <= self.dims <= 3072:
            raise LimitError(f"--dims must be between 128 and 3072 (got {self.dims})")
        self.prefix_dims = min(self.prefix_dims, self.dims)

    @property
    def uses_task_prompts(self) -> bool:
        """gemini-embedding-2 takes the task as a text prefix; older models take `taskType`."""
        m = self.model.rsplit("/", 1)[-1]
        return not m.startswith(("gemini-embedding-001", "text-embedding", "embedding-", "gemini-embedding-exp"))
