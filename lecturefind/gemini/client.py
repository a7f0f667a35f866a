"""The google-genai client wrapper: limits, cache, bounded concurrency, retries, File API, Batch API, usage.

Every call sends a list of `types.Content`, one per input, and checks that as many embeddings come back
(for multimodal models the SDK would merge a plain list of strings or parts into ONE vector).
"""
from __future__ import annotations

import hashlib
import io
import logging
import random
import re
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from ..index.gemini_cache import VectorCache
from .config import GeminiConfig
from .errors import GeminiError, api_key, scrub
from .limits import Item, Media, check_item, estimate_tokens

log = logging.getLogger("lecturefind.gemini")

RETRY_CODES = {408, 429, 500, 502, 503, 504}
QUERY_PREFIX = "task: search result | query: "
DOC_PREFIX = "title: none | text: "


def item_key(cfg: GeminiConfig, item: Item, source_key: Optional[str] = None) -> str:
    """Cache key: model, dims, task convention and either a source key (file sha + span) or the content bytes."""
    h = hashlib.sha256()
    h.update(f"{cfg.model}|{cfg.dims}|{item.task}|{cfg.uses_task_prompts}|".encode())
    if source_key:
        h.update(b"src|" + source_key.encode())
    else:
        h.update(b"txt|" + (item.text or "").encode())
        for m in item.media:
            h.update(f"|{m.mime}|".encode() + hashlib.sha256(m.data).digest())
    return h.hexdigest()


_SCRUBBED_LOGGERS = ("google_genai", "google.genai", "httpx", "httpx2", "httpcore", "urllib3", "lecturefind")


def _scrub_record(record: logging.LogRecord) -> None:
    try:
        msg = record.getMessage()
    except Exception:
        return
    clean = scrub(msg)
    if clean != msg:
        record.msg, record.args = clean, ()
    # a traceback can carry the key too (e.g. an exception message); Formatter reuses exc_text when set
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = scrub(record.exc_text)


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        _scrub_record(record)
        return True


def install_log_scrubber() -> None:
    """Scrub the key from the SDK's and the HTTP stack's log records, whatever their level.

    A filter on a logger only sees records logged on that exact logger, not its children (the SDK logs on
    `google_genai._api_client`, `google_genai.models`, ...), so records are also scrubbed as they are created.
    """
    for name in ("google_genai", "google.genai", "httpx", "httpx2", "httpcore", "lecturefind.gemini"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, _ScrubFilter) for f in lg.filters):
            lg.addFilter(_ScrubFilter())
    old = logging.getLogRecordFactory()
    if getattr(old, "_lecturefind_scrub", False):
        return

    def factory(*args, **kwargs):
        record = old(*args, **kwargs)
        name = record.name or ""
        if any(name == p or name.startswith(p + ".") for p in _SCRUBBED_LOGGERS):
            _scrub_record(record)
        return record

    factory._lecturefind_scrub = True   # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def l2(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def parse_duration(s: object) -> float:
    """'2s', '0.2s', '1.5s', {'seconds': 2, 'nanos': 5e8} -> seconds."""
    if isinstance(s, dict):
        return float(s.get("seconds", 0)) + float(s.get("nanos", 0)) / 1e9
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*s?\s*", str(s))
    return float(m.group(1)) if m else 0.0


def server_retry_delay(err) -> float:
    """The RetryInfo.retryDelay of a google.genai APIError (0 when absent); also honours Retry-After."""
    delay = 0.0
    details = getattr(err, "details", None)
    body = details.get("error", details) if isinstance(details, dict) else {}
    for d in (body.get("details") or []) if isinstance(body, dict) else []:
        if isinstance(d, dict) and str(d.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = max(delay, parse_duration(d.get("retryDelay", 0)))
    resp = getattr(err, "response", None)
    try:
        ra = resp.headers.get("retry-after") if resp is not None else None
        if ra:
            delay = max(delay, float(ra))
    except (AttributeError, ValueError, TypeError):
        pass
    return delay


def _transient(e: BaseException) -> bool:
    mod = type(e).__module__.split(".")[0]
    return mod in ("httpx", "httpx2", "httpcore", "aiohttp", "requests") and any(
        s in type(e).__name__ for s in ("Timeout", "Connect", "Network", "Remote", "Protocol", "ReadError"))


@dataclass
class Usage:
    calls: int = 0
    contents: int = 0
    cache_hits: int = 0
    retries: int = 0
    uploads: int = 0
    bytes_sent: int = 0
    prompt_tokens: int = 0
    tokens: dict = field(default_factory=dict)     # modality -> tokens (reported, else estimated)
    started: float = field(default_factory=time.time)

    def cost(self, cfg: GeminiConfig) -> float:
        p = cfg.prices
        usd = sum(n * getattr(p, m.lower(), p.text) for m, n in self.tokens.items()) / 1e6
        return usd * (p.batch_discount if cfg.batch_api else 1.0)

    def line(self, cfg: GeminiConfig) -> str:
        return (f"gemini: {self.calls} requests, {self.contents} inputs embedded, {self.cache_hits} from cache, "
                f"{self.retries} retries, {self.uploads} uploads, {self.bytes_sent / 1e6:.2f} MB sent, "
                f"{self.prompt_tokens} tokens, ~${self.cost(cfg):.4f}")


class GeminiEmbedder:
    """Embeds Items into L2-normalised vectors of `cfg.dims`, paying for each distinct input once."""

    def __init__(self, cfg: GeminiConfig, cache_dir: str, warn: Optional[Callable[[str], None]] = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.cfg = cfg
        self.cache = VectorCache(cache_dir)
        self.warn = warn or (lambda m: log.warning(m))
        self.sleep = sleep
        self.usage = Usage()
        self._lock = threading.Lock()
        self._client = None
        install_log_scrubber()

    # -- setup ----------------------------------------------------------------------------------
    @property
    def client(self):
        with self._lock:   # one Client: a second one, dropped, would close the shared HTTP client in __del__
            return self._client or self._make_client()

    def _make_client(self):
        if self._client is None:
            key = api_key()
            if not key:
                raise GeminiError("the gemini backend needs an API key in GEMINI_API_KEY or GOOGLE_API_KEY")
            from google import genai
            from google.genai import types

            # base_url stays unset so that the SDK's own GOOGLE_GEMINI_BASE_URL is honoured
            opts = types.HttpOptions(api_version=self.cfg.api_version, timeout=int(self.cfg.timeout_s * 1000))
            self._client = genai.Client(api_key=key, http_options=opts)
        return self._client

    def close(self) -> None:
        self.cache.close()

    # -- keys -----------------------------------------------------------------------------------
    def item_text(self, item: Item) -> Optional[str]:
        if item.text is None:
            return None
        if not self.cfg.uses_task_prompts:
            return item.text
        return (QUERY_PREFIX if item.task == "query" else DOC_PREFIX) + item.text

    def key(self, item: Item, source_key: Optional[str] = None) -> str:
        return item_key(self.cfg, item, source_key)

    # -- public ---------------------------------------------------------------------------------
    def embed(self, items: list[Item], keys: Optional[list[str]] = None,
              loaders: Optional[list[Optional[Callable[[], Item]]]] = None) -> list[np.ndarray]:
        """One vector per item. `keys` (precomputed cache keys) and `loaders` (build the item's media only
        on a cache miss, e.g. transcode a clip) are optional and parallel to `items`."""
        for it in items:
            if not it.media and it.text is not None:
                check_item(it, self.warn)
        keys = keys or [self.key(it) for it in items]
        have = self.cache.get_many(keys)
        with self._lock:
            self.usage.cache_hits += sum(1 for k in keys if k in have)
        todo = [i for i, k in enumerate(keys) if k not in have]
        seen: dict[str, int] = {}
        uniq = [i for i in todo if seen.setdefault(keys[i], i) == i]
        if uniq:
            if loaders:
                with ThreadPoolExecutor(max_workers=max(1, self.cfg.concurrency)) as ex:
                    loaded = list(ex.map(lambda i: (loaders[i] or (lambda: items[i]))(), uniq))
                for i, it in zip(uniq, loaded):
                    items[i] = it
            for i in uniq:
                check_item(items[i], self.warn)
            if self.cfg.batch_api:
                new = self._run_batch([items[i] for i in uniq], [keys[i] for i in uniq])
            else:
                new = self._run_sync([items[i] for i in uniq], [keys[i] for i in uniq])
            self.cache.put_many(new)
            have.update(new)
        return [have[k] for k in keys]

    def plan_calls(self, items: list[Item]) -> list[list[int]]:
        """Group item indices into requests: <= max_contents_per_call, <= videos_per_call, <= inline bytes."""
        calls: list[list[int]] = []
        cur: list[int] = []
        cur_bytes = cur_videos = 0
        for i, it in enumerate(items):
            size = sum(len(m.data) for m in it.media if len(m.data) <= self.cfg.inline_limit_bytes)
            size += len((it.text or "").encode())
            vids = sum(1 for m in it.media if m.kind == "video")
            if cur and (len(cur) >= self.cfg.max_contents_per_call or cur_videos + vids > self.cfg.videos_per_call
                        or cur_bytes + size > self.cfg.inline_limit_bytes):
                calls.append(cur)
                cur, cur_bytes, cur_videos = [], 0, 0
            cur.append(i)
            cur_bytes += size
            cur_videos += vids
        if cur:
            calls.append(cur)
        return calls

    # -- synchronous path -----------------------------------------------------------------------
    def _run_sync(self, items: list[Item], keys: list[str]) -> dict[str, np.ndarray]:
        calls = self.plan_calls(items)
        out: dict[str, np.ndarray] = {}

        def run(idx: list[int]) -> None:
            vecs = self._embed_call([items[i] for i in idx])
            with self._lock:
                for i, v in zip(idx, vecs):
                    out[keys[i]] = v

        with ThreadPoolExecutor(max_workers=max(1, self.cfg.concurrency)) as ex:
            for f in [ex.submit(run, c) for c in calls]:
                f.result()
        return out

    def _contents(self, items: list[Item]):
        from google.genai import types

        contents = []
        for it in items:
            parts = []
            text = self.item_text(it)
            if text:
                parts.append(types.Part(text=text))
            for m in it.media:
                if len(m.data) > self.cfg.inline_limit_bytes:
                    f = self._upload(m)
                    parts.append(types.Part(file_data=types.FileData(file_uri=f.uri, mime_type=m.mime)))
                else:
                    parts.append(types.Part(inline_data=types.Blob(data=m.data, mime_type=m.mime)))
                    with self._lock:
                        self.usage.bytes_sent += len(m.data)
            contents.append(types.Content(role="user", parts=parts))
        return contents

    def _config(self, task: str):
        from google.genai import types

        kw: dict = {"output_dimensionality": self.cfg.dims}
        if not self.cfg.uses_task_prompts:
            kw["task_type"] = "RETRIEVAL_QUERY" if task == "query" else "RETRIEVAL_DOCUMENT"
        return types.EmbedContentConfig(**kw)

    def _embed_call(self, items: list[Item]) -> list[np.ndarray]:
        tasks = {it.task for it in items}
        if len(tasks) != 1:
            raise ValueError("one task per request")
        contents = self._contents(items)
        cfg = self._config(tasks.pop())
        resp = self._retrying(lambda: self.client.models.embed_content(
            model=self.cfg.model, contents=contents, config=cfg), "embed request")
        embs = resp.embeddings or []
        if len(embs) != len(items):
            raise GeminiError(f"Gemini returned {len(embs)} embeddings for {len(items)} inputs")
        vecs = [l2(np.asarray(e.values or [], np.float32)) for e in embs]
        for v in vecs:
            if v.shape[0] != self.cfg.dims:
                raise GeminiError(f"Gemini returned a {v.shape[0]}-d vector; asked for {self.cfg.dims}")
        self._account(items, getattr(resp, "usage_metadata", None))
        return vecs

    def _account(self, items: list[Item], um) -> None:
        with self._lock:
            self.usage.calls += 1
            self.usage.contents += len(items)
            details = getattr(um, "prompt_tokens_details", None) if um is not None else None
            if um is not None and getattr(um, "prompt_token_count", None):
                self.usage.prompt_tokens += int(um.prompt_token_count)
            if details:
                for d in details:
                    m = str(getattr(d.modality, "value", d.modality) or "TEXT").lower()
                    self.usage.tokens[m] = self.usage.tokens.get(m, 0) + int(d.token_count or 0)
            else:   # no per-modality figures: estimate them
                for it in items:
                    for m, n in estimate_tokens(it).items():
                        self.usage.tokens[m] = self.usage.tokens.get(m, 0) + n
                if um is None or not getattr(um, "prompt_token_count", None):
                    self.usage.prompt_tokens += sum(sum(estimate_tokens(it).values()) for it in items)

    def _retrying(self, fn: Callable, what: str):
        """fn() with retries of 408/429/5xx/timeouts: jittered exponential backoff, >= RetryInfo.retryDelay."""
        from google.genai import errors as gerr

        cfg = self.cfg
        for attempt in range(1, cfg.max_attempts + 1):
            try:
                return fn()
            except gerr.APIError as e:
                code = int(getattr(e, "code", 0) or 0)
                if code not in RETRY_CODES or attempt == cfg.max_attempts:
                    msg = getattr(e, "message", None) or ""
                    raise GeminiError(f"Gemini {what} failed: {code} {e.status or ''}: {msg}".strip(), code) from None
                floor = server_retry_delay(e)
            except GeminiError:
                raise
            except Exception as e:
                if not _transient(e) or attempt == cfg.max_attempts:
                    raise GeminiError(f"Gemini {what} failed: {type(e).__name__}: {scrub(e)}") from None
                floor = 0.0
            step = min(cfg.max_backoff_s, cfg.backoff_s * (2 ** (attempt - 1)))
            delay = max(floor, step) + random.uniform(0, 0.25 * step)
            with self._lock:
                self.usage.retries += 1
            log.info("gemini: %s retry %d in %.2fs", what, attempt, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    # -- File API -------------------------------------------------------------------------------
    def _upload(self, m: Media):
        from google.genai import types

        f = self._retrying(lambda: self.client.files.upload(
            file=io.BytesIO(m.data),
            config=types.UploadFileConfig(mime_type=m.mime, display_name=m.label[:100] or None)),
            "file upload")
        with self._lock:
            self.usage.uploads += 1
            self.usage.bytes_sent += len(m.data)
        deadline = time.monotonic() + max(60.0, self.cfg.timeout_s * 5)
        wait = 0.2
        while str(getattr(f.state, "value", f.state) or "ACTIVE") == "PROCESSING":
            if time.monotonic() > deadline:
                raise GeminiError(f"uploaded file for {m.label} did not become ACTIVE in time")
            self.sleep(wait)
            wait = min(wait * 2, 5.0)
            name = f.name
            f = self._retrying(lambda name=name: self.client.files.get(name=name), "file status")
        if str(getattr(f.state, "value", f.state)) == "FAILED":
            raise GeminiError(f"the File API could not process {m.label}")
        return f

    # -- Batch API ------------------------------------------------------------------------------
    def _run_batch(self, items: list[Item], keys: list[str]) -> dict[str, np.ndarray]:
        """Submit (or resume polling) one Batch API job for these inputs; half price, slower."""
        from google.genai import types

        set_key = hashlib.sha256("|".join(sorted(keys)).encode()).hexdigest()
        state = self.cache.batch_job(set_key)
        if state is None:
            by_task: dict[str, list[int]] = {}
            for i, it in enumerate(items):
                by_task.setdefault(it.task, []).append(i)
            if len(by_task) > 1:
                out: dict[str, np.ndarray] = {}
                for idx in by_task.values():
                    out.update(self._run_batch([items[i] for i in idx], [keys[i] for i in idx]))
                return out
            task = next(iter(by_task))
            src = types.EmbeddingsBatchJobSource(inlined_requests=types.EmbedContentBatch(
                contents=self._contents(items), config=self._config(task)))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                job = self._retrying(lambda: self.client.batches.create_embeddings(
                    model=self.cfg.model, src=src, config={"display_name": f"lecturefind-{set_key[:12]}"}),
                    "batch submit")
            with self._lock:
                self.usage.calls += 1
            self.cache.save_batch_job(set_key, job.name, keys, str(job.state))
            name = job.name
        else:
            name = state["name"]
            log.info("gemini: resuming batch job %s", name)
        job = self._poll_batch(name, set_key)
        resp = (job.dest.inlined_embed_content_responses if job.dest else None) or []
        if len(resp) != len(items):
            self.cache.drop_batch_job(set_key)
            raise GeminiError(f"batch job {name} returned {len(resp)} results for {len(items)} inputs")
        out = {}
        for k, it, r in zip(keys, items, resp):
            if r.error is not None or r.response is None or r.response.embedding is None:
                self.cache.drop_batch_job(set_key)
                raise GeminiError(f"batch job {name}: input {it.label or k[:12]} failed: "
                                  f"{getattr(r.error, 'message', 'no embedding')}")
            v = l2(np.asarray(r.response.embedding.values or [], np.float32))
            if v.shape[0] != self.cfg.dims:
                raise GeminiError(f"batch job {name} returned a {v.shape[0]}-d vector; asked for {self.cfg.dims}")
            out[k] = v
        with self._lock:
            self.usage.contents += len(items)
            for it in items:
                for m, n in estimate_tokens(it).items():
                    self.usage.tokens[m] = self.usage.tokens.get(m, 0) + n
                    self.usage.prompt_tokens += n
        self.cache.drop_batch_job(set_key)
        return out

    def _poll_batch(self, name: str, set_key: str):
        done = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}
        t0 = time.monotonic()
        wait = self.cfg.batch_poll_s
        while True:
            job = self._retrying(lambda: self.client.batches.get(name=name), "batch status")
            st = str(getattr(job.state, "value", job.state))
            if st in done:
                break
            if time.monotonic() - t0 > self.cfg.batch_poll_max_s:
                raise GeminiError(f"batch job {name} still {st}; rerun the same command to resume polling")
            self.sleep(wait)
            wait = min(wait * 1.5, 300.0)
        if st != "JOB_STATE_SUCCEEDED":
            self.cache.drop_batch_job(set_key)
            raise GeminiError(f"batch job {name} ended {st}")
        return job

    # -- usage ----------------------------------------------------------------------------------
    def record(self, command: str) -> None:
        u = self.usage
        self.cache.record_run(dict(started=u.started, finished=time.time(), command=command, model=self.cfg.model,
                                   dims=self.cfg.dims, batch=int(self.cfg.batch_api), calls=u.calls,
                                   contents=u.contents, cache_hits=u.cache_hits, retries=u.retries,
                                   uploads=u.uploads, bytes_sent=u.bytes_sent, prompt_tokens=u.prompt_tokens,
                                   tokens=u.tokens, cost_usd=u.cost(self.cfg)))
