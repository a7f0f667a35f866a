"""Ingest side: embed each committed file's clips/pages with Gemini; and the `--dry-run` estimate."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..index.catalog import Catalog
from .client import GeminiEmbedder, item_key
from .config import GeminiConfig
from .errors import LimitError
from .limits import MAX_CLIP_AUDIO_S, MAX_CLIP_SILENT_S, Item, Media, estimate_tokens


def _source_key(cfg: GeminiConfig, sha: str, kind: str, start, end, page, has_audio: bool) -> str:
    if kind == "pdf":
        return f"page|{sha}|{page}"
    return (f"clip|{sha}|{float(start):.3f}|{float(end):.3f}|{kind}|{int(bool(has_audio))}|"
            f"{cfg.clip_height}|{cfg.clip_fps}|{cfg.clip_audio_kbps}")


def _precheck(kind: str, start: float, end: float, has_audio: bool, label: str) -> None:
    """Refuse over-long clips before transcoding or sending anything."""
    if kind == "pdf":
        return
    dur = float(end) - float(start)
    cap = MAX_CLIP_AUDIO_S if (has_audio or kind == "audio") else MAX_CLIP_SILENT_S
    if dur > cap + 0.05:
        raise LimitError(f"clip {label} is {dur:.1f}s, over the {cap:.0f}s limit "
                         f"{'with' if has_audio else 'without'} audio; re-ingest with a smaller --window")


class GeminiIndexer:
    """Called by the ingest pipeline after a file's offline signals are committed."""

    def __init__(self, index_dir: str, cfg: GeminiConfig, log: Callable[[str], None] = print):
        self.index_dir = os.path.abspath(index_dir)
        self.cfg = cfg
        self.log = log
        self.embedder = GeminiEmbedder(cfg, self.index_dir, warn=log)

    def close(self) -> None:
        self.embedder.record("ingest")
        self.embedder.close()

    def _pending(self, catalog: Catalog, path: str):
        """The file's segments without a vector of the configured model and size."""
        rows = catalog.file_segments(path)
        done = catalog.gemini_done([r["id"] for r in rows], self.cfg.model, self.cfg.dims)
        return [r for r in rows if r["id"] not in done]

    def index_file(self, catalog: Catalog, path: str) -> int:
        """Embed the segments of `path` that have no current Gemini vector; returns how many were added."""
        pending = self._pending(catalog, path)
        if not pending:
            return 0
        items, keys, loaders = [], [], []
        for r in pending:
            kind, has_audio = r["kind"], bool(r["has_audio"])
            label = (f"{os.path.basename(path)} p{r['page']}" if kind == "pdf"
                     else f"{os.path.basename(path)} {r['start_s']:.1f}-{r['end_s']:.1f}s")
            _precheck(kind, r["start_s"], r["end_s"], has_audio, label)
            item = Item("document", label=label)
            items.append(item)
            keys.append(self.embedder.key(item, _source_key(self.cfg, r["sha256"], kind, r["start_s"], r["end_s"],
                                                           r["page"], has_audio)))
            loaders.append(self._loader(path, kind, r["start_s"], r["end_s"], r["page"], has_audio, label))
        vecs = self.embedder.embed(items, keys=keys, loaders=loaders)
        catalog.put_gemini_vectors([(r["id"], self.cfg.model, self.cfg.dims, k, np.asarray(v, np.float32))
                                    for r, k, v in zip(pending, keys, vecs)])
        return len(pending)

    def _loader(self, path, kind, start, end, page, has_audio, label):
        cfg = self.cfg

        def load() -> Item:
            from .media import pdf_page, video_clip

            if kind == "pdf":
                m = pdf_page(path, int(page))
            else:
                m = video_clip(path, float(start), float(end), has_video=(kind == "video"), has_audio=has_audio,
                               height=cfg.clip_height, fps=cfg.clip_fps, audio_kbps=cfg.clip_audio_kbps)
            m.label = label
            return Item("document", media=[m], label=label)

        return load


# -- dry run ------------------------------------------------------------------------------------
@dataclass
class Estimate:
    files: int = 0
    inputs: int = 0
    cached: int = 0
    requests: int = 0
    video_s: float = 0.0
    audio_s: float = 0.0
    pages: int = 0
    tokens: dict = field(default_factory=dict)
    cost_usd: float = 0.0
    cost_batch_usd: float = 0.0
    errors: list = field(default_factory=list)

    def lines(self, cfg: GeminiConfig) -> list[str]:
        tok = ", ".join(f"{k} {v:,}" for k, v in sorted(self.tokens.items())) or "none"
        return [
            f"dry run ({cfg.model}, {cfg.dims} dims): {self.files} files, {self.inputs} inputs to embed "
            f"({self.cached} more already cached)",
            f"requests: {self.requests} · video: {self.video_s:.0f}s · audio: {self.audio_s:.0f}s · "
            f"pdf pages: {self.pages}",
            f"tokens (estimated): {tok}",
            f"estimated cost: ${self.cost_usd:.4f} (Batch API: ${self.cost_batch_usd:.4f}) at "
            f"$/1M tokens text {cfg.prices.text}, image {cfg.prices.image}, audio {cfg.prices.audio}, "
            f"video {cfg.prices.video}, pdf {cfg.prices.document}",
            "nothing was sent",
        ]


def estimate(paths, index_dir: str, cfg: GeminiConfig, ingest_cfg=None) -> Estimate:
    """What `ingest --backend gemini` would send, from the catalog (known files) or a probe (new files)."""
    from ..config import IngestConfig
    from ..formats import media_kind
    from ..index.gemini_cache import VectorCache
    from ..ingest.pipeline import discover, sha256_file
    from ..media.probe import probe
    from ..segment.planner import plan_clips

    ic = ingest_cfg or IngestConfig()
    est = Estimate()
    catalog = Catalog(index_dir, readonly=True) if os.path.exists(os.path.join(index_dir, "catalog.sqlite")) else None
    cache_path = os.path.join(index_dir, "gemini_cache.sqlite")
    cache = VectorCache(index_dir) if os.path.exists(cache_path) else None
    try:
        for path, err in discover(paths):
            if err:
                est.errors.append(f"error: {path}: {err}")
                continue
            est.files += 1
            kind = media_kind(path)
            try:
                sha = sha256_file(path)
                segs = None
                if catalog is not None:
                    row = catalog.file_row(path)
                    if row and row["state"] == "done" and row["sha256"] == sha:
                        rows = catalog.file_segments(path)
                        done = catalog.gemini_done([r["id"] for r in rows], cfg.model, cfg.dims)
                        segs = [(r["kind"], r["start_s"], r["end_s"], r["page"], bool(r["has_audio"]))
                                for r in rows if r["id"] not in done]
                if segs is None:
                    if kind == "pdf":
                        from pypdf import PdfReader

                        n = len(PdfReader(path, strict=False).pages)
                        segs = [("pdf", 0.0, 0.0, p, False) for p in range(1, n + 1)]
                    else:
                        p = probe(path)
                        k = "video" if p.has_video and kind == "video" else "audio"
                        max_len = ic.max_audio_clip_s if p.has_audio else ic.max_silent_clip_s
                        spans = plan_clips(p.duration, [], window=ic.window_s, overlap=ic.overlap_s,
                                           snap=ic.snap_s, max_len=max_len)
                        segs = [(k, s.start, s.end, None, p.has_audio) for s in spans]
            except Exception as e:
                est.errors.append(f"error: {path}: {getattr(e, 'reason', None) or e}")
                continue
            keys = [item_key(cfg, Item("document"), _source_key(cfg, sha, k, a, b, pg, au)) for k, a, b, pg, au in segs]
            cached = set(cache.get_many(keys)) if cache is not None else set()
            todo = [s for s, key in zip(segs, keys) if key not in cached]
            est.cached += len(segs) - len(todo)
            est.inputs += len(todo)
            vids = [s for s in todo if s[0] == "video"]
            others = len(todo) - len(vids)
            est.requests += (len(vids) + cfg.videos_per_call - 1) // cfg.videos_per_call
            est.requests += (others + cfg.max_contents_per_call - 1) // cfg.max_contents_per_call
            for k, a, b, _page, au in todo:
                dur = float(b) - float(a)
                if k == "pdf":
                    m = Media("pdf", "application/pdf", b"", pages=1)
                    est.pages += 1
                else:
                    m = Media(k, "video/mp4" if k == "video" else "audio/mpeg", b"", duration=dur, has_audio=au)
                    if k == "video":
                        est.video_s += dur
                    if au:
                        est.audio_s += dur
                for mod, n in estimate_tokens(Item("document", media=[m])).items():
                    est.tokens[mod] = est.tokens.get(mod, 0) + n
    finally:
        if catalog is not None:
            catalog.close()
        if cache is not None:
            cache.close()
    prices = cfg.prices
    est.cost_usd = sum(n * getattr(prices, m) for m, n in est.tokens.items()) / 1e6
    est.cost_batch_usd = est.cost_usd * prices.batch_discount
    return est
