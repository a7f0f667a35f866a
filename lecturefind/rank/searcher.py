"""Hybrid search: FAISS vectors + FTS5 BM25, fused with RRF, refined to the point where the answer begins."""
from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..index.catalog import Catalog, from_blob
from ..index.vectors import VectorStore
from ..models import Models
from ..values import Moment
from .fusion import Hit, merge_hits, rrf
from .links import annotate
from .text import coverage, fts_query, stems, tokens

_EMBED_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-query")
if TYPE_CHECKING:
    from ..visual.index import VisualIndex

CANDIDATES = 200     # per retriever
REFINE = 24          # fused candidates refined and scored
LEXICAL_PRUNE_ABOVE = 20000   # segments; below this every query word goes to BM25
LEXICAL_MAX_TERMS = 6
LEXICAL_MAX_DF = 0.05
CONFIDENT = 0.5      # score above which a result is marked confident
SLIDE_LEAD_S = 15.0
COVERAGE_WEIGHT = 0.15  # how much lexical coverage counts against cosine when choosing an anchor  # a matching sentence this soon after a slide change starts the moment at the change


@dataclass
class Anchor:
    start: float
    end: float
    text: str
    vec: Optional[np.ndarray]
    kind: str            # 'sentence' | 'slide' | 'page' | 'segment'
    slide_id: Optional[int] = None


def calibrate(cos: float, cov: float) -> float:
    """Map (best cosine, lexical coverage) to a 0..1 confidence comparable across queries."""
    z = 14.0 * (cos - 0.80) + 3.0 * (cov - 0.5)
    return 1.0 / (1.0 + math.exp(-z))


class Searcher:
    def __init__(self, index_dir: str, models: Optional[Models] = None):
        self.index_dir = os.path.abspath(index_dir)
        self.catalog = Catalog(self.index_dir, readonly=True)
        self.vectors = VectorStore(self.index_dir)
        self.models = models or Models()
        self.rankers: list = []   # extra text -> [segment id] rankings fused by RRF (lecturefind.gemini.ranker)
        self._vocab_ready = False                     # temp.segments_vocab created on this connection
        self._count, self._count_gen = 0, -1          # segment count, per catalog generation
        self._visual: Optional["VisualIndex"] = None  # descriptor index for image queries, built on first use

    @property
    def visual(self) -> "VisualIndex":
        if self._visual is None:
            from ..visual.index import VisualIndex

            self._visual = VisualIndex(self.catalog)
        return self._visual

    def close(self) -> None:
        self.catalog.close()

    # -- retrieval ----------------------------------------------------------------------------
    def _vector_ranking(self, qv: np.ndarray) -> list[int]:
        self.vectors.load(self.catalog)
        _, ids = self.vectors.search(qv, CANDIDATES)
        return [int(i) for i in ids]

    def _doc_freqs(self, toks: list[str]) -> dict[str, int]:
        """Segments containing each token, read off the FTS5 vocabulary (porter stems are prefixes of
        most words; a token whose stem is not found is reported as unknown (-1) and kept)."""
        if not self._vocab_ready:
            self.catalog.conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.segments_vocab USING fts5vocab(main, segments_fts, row)")
            self._vocab_ready = True
        cands = {t[:n]: t for t in toks for n in range(min(3, len(t)), len(t) + 1)}
        marks = ",".join("?" * len(cands))
        found = dict(self.catalog.q(f"SELECT term, doc FROM temp.segments_vocab WHERE term IN ({marks})", list(cands)))
        out = {}
        for t in toks:
            stem = next((t[:n] for n in range(len(t), min(3, len(t)) - 1, -1) if t[:n] in found), None)
            out[t] = found[stem] if stem else -1
        return out

    def _segment_count(self) -> int:
        gen = self.catalog.generation
        if self._count_gen != gen:
            self._count = self.catalog.one("SELECT COUNT(*) FROM segments")[0]
            self._count_gen = gen
        return self._count

    def _lexical_ranking(self, text: str) -> list[int]:
        toks = list(dict.fromkeys(tokens(text)))
        if not toks:
            return []
        if self._segment_count() > LEXICAL_PRUNE_ABOVE:
            # BM25 scores every segment that holds any query word: keep the rarest words, which carry
            # the ranking anyway, so a question full of common course words stays fast at 100k segments
            df = self._doc_freqs(toks)
            n = self._segment_count()
            toks = sorted(toks, key=lambda t: max(df[t], 0))[:LEXICAL_MAX_TERMS]   # unknown: absent or unusual stem
            toks = toks[:1] + [t for t in toks[1:] if df[t] <= LEXICAL_MAX_DF * n]     # near-stopwords add cost only
        q = fts_query(" ".join(toks))
        if not q:
            return []
        rows = self.catalog.q("SELECT rowid FROM segments_fts WHERE segments_fts MATCH ? ORDER BY bm25(segments_fts) "
                              "LIMIT ?", (q, CANDIDATES))
        return [r[0] for r in rows]

    # -- public -------------------------------------------------------------------------------
    def search(self, text: Optional[str] = None, image: Optional[str] = None, audio: Optional[str] = None,
               k: int = 10, course: Optional[str] = None) -> list[Moment]:
        """One entry point for every query kind: text, an image file, an audio file, or image + text."""
        parts = [text.strip()] if text and text.strip() else []
        if audio:
            parts.append(self.transcribe(audio))
        query_text = " ".join(p for p in parts if p)
        extra = self._media_rankings(image, audio)
        if image:
            from .image import search_image

            moments = search_image(self, image, query_text, k=k, course=course, extra_rankings=extra)
        else:
            moments = self.search_text(query_text, k=k, course=course, extra_rankings=extra)
        return annotate(self.catalog, moments)

    def _media_rankings(self, image: Optional[str], audio: Optional[str]) -> list[list[int]]:
        """Rankings from backends that embed images/audio natively (Gemini), validated inputs only."""
        out: list[list[int]] = []
        for ranker in self.rankers:
            if image and hasattr(ranker, "image"):
                from ..query_inputs import load_image

                load_image(image)
                out.append(ranker.image(image))
            if audio and hasattr(ranker, "audio"):
                out.append(ranker.audio(audio))
        return out

    def transcribe(self, audio_path: str) -> str:
        """Speech of an audio query (≤ 80 s) as text."""
        from ..errors import QueryError
        from ..query_inputs import load_audio

        sentences = self.models.asr.transcribe(load_audio(audio_path))
        text = " ".join(s.text for s in sentences).strip()
        if not text:
            raise QueryError(f"{audio_path}: no speech recognised in the audio query")
        return text

    def search_text(self, text: str, k: int = 10, course: Optional[str] = None,
                    extra_rankings: Optional[list[list[int]]] = None) -> list[Moment]:
        text = (text or "").strip()
        rankings: list[list[int]] = []
        qv = None
        if text:
            # embed the question while SQLite runs BM25 (both release the GIL): ~13 ms off every query
            pending = _EMBED_POOL.submit(self.models.embedder.query, text)
            lexical = self._lexical_ranking(text)
            qv = pending.result()
            rankings += [self._vector_ranking(qv), lexical]
        rankings += extra_rankings or []
        rankings += [ranker(text) for ranker in self.rankers] if text else []   # e.g. the Gemini backend
        fused = rrf(rankings)
        if not fused:
            return []
        if course:
            fused = self._only_course(fused, course)
            if not fused:
                return []
        top = sorted(fused, key=lambda i: -fused[i])[: max(REFINE, k * 2)]
        return self._moments(top, fused, qv, text, k, course)

    def _only_course(self, fused: dict, course: str) -> dict:
        ids = list(fused)
        marks = ",".join("?" * len(ids))
        keep = {r[0] for r in self.catalog.q(
            f"SELECT s.id FROM segments s JOIN lectures l ON l.id = s.lecture_id JOIN courses c ON c.id = l.course_id "
            f"WHERE c.name = ? AND s.id IN ({marks})", [course] + ids)}
        return {i: v for i, v in fused.items() if i in keep}

    def _moments(self, seg_ids: list[int], fused: dict, qv, text: str, k: int, course: Optional[str]) -> list[Moment]:
        marks = ",".join("?" * len(seg_ids))
        rows = self.catalog.q(
            f"SELECT s.id, s.lecture_id, s.start_s, s.end_s, s.page, s.speech, s.slide_text, s.embedding, "
            f"l.title, l.kind, c.name AS course, f.path FROM segments s JOIN lectures l ON l.id = s.lecture_id "
            f"JOIN courses c ON c.id = l.course_id JOIN files f ON f.id = l.file_id WHERE s.id IN ({marks})",
            seg_ids)
        rows = [r for r in rows if not course or r["course"] == course]
        qstems = stems(text)
        best_rrf = max(fused.values())
        hits: list[Hit] = []
        for r in rows:
            anchor, cos, cov = self._best_anchor(r, qv, qstems)
            conf = calibrate(cos, cov) if qv is not None else 0.5
            rank_part = fused[r["id"]] / best_rrf
            score = conf * (0.8 + 0.2 * rank_part)     # evidence sets the level, fused rank orders near-ties
            hits.append(Hit(r["lecture_id"], anchor.start, anchor.end, score, (r, anchor, conf),
                            page=r["page"] if r["kind"] == "pdf" else None))
        moments = []
        for h in merge_hits(hits)[:k]:
            r, anchor, conf = h.payload
            moments.append(self._moment(r, h, anchor, conf))
        return moments

    def _anchors(self, r) -> list[Anchor]:
        seg_vec = from_blob(r["embedding"])
        if r["kind"] == "pdf":
            return [Anchor(0.0, 0.0, r["slide_text"] or "", seg_vec, "page")]
        lo, hi = r["start_s"], r["end_s"]
        out = [Anchor(lo, hi, (r["slide_text"] or "") + "\n" + (r["speech"] or ""), seg_vec, "segment")]
        for s in self.catalog.q("SELECT start_s, end_s, text, embedding FROM sentences WHERE lecture_id=? "
                                "AND start_s < ? AND end_s > ? ORDER BY start_s", (r["lecture_id"], hi, lo)):
            out.append(Anchor(s["start_s"], s["end_s"], s["text"], from_blob(s["embedding"]), "sentence"))
        for s in self.catalog.q("SELECT id, start_s, end_s, text, embedding FROM slides WHERE lecture_id=? "
                                "AND start_s < ? AND end_s > ? ORDER BY start_s",
                                (r["lecture_id"], hi, lo)):
            out.append(Anchor(s["start_s"], s["end_s"], s["text"], from_blob(s["embedding"]), "slide", s["id"]))
        return out

    def _best_anchor(self, r, qv, qstems) -> tuple[Anchor, float, float]:
        anchors = self._anchors(r)
        seg = anchors[0]
        seg_cos = float(seg.vec @ qv) if (qv is not None and seg.vec is not None) else 0.0
        seg_cov = coverage(qstems, seg.text)
        best, best_val = seg, -1.0
        coses = [float(a.vec @ qv) if (qv is not None and a.vec is not None) else 0.0 for a in anchors[1:]]
        top_cos = max(coses, default=0.0)
        for a, cos in zip(anchors[1:], coses):
            if cos < top_cos - COVERAGE_WEIGHT:
                continue                      # lexical coverage cannot lift it past the best: skip the work
            val = cos + COVERAGE_WEIGHT * coverage(qstems, a.text)
            if val > best_val:
                best, best_val = a, val
        if best is seg:
            return seg, seg_cos, seg_cov
        anchor = best
        if anchor.kind == "sentence":
            # the answer begins at this sentence, or at the slide change just before it (the topic's start)
            start = max(anchor.start - 0.5, 0.0)
            slide = next((a for a in anchors if a.kind == "slide" and a.start <= anchor.start < a.end), None)
            if slide is not None and anchor.start - slide.start <= SLIDE_LEAD_S:
                start = slide.start
            anchor = Anchor(start, max(seg.end, anchor.end), anchor.text, anchor.vec, "sentence")
        best_cos = float(best.vec @ qv) if (qv is not None and best.vec is not None) else 0.0
        return anchor, max(seg_cos, best_cos), max(seg_cov, coverage(qstems, best.text))

    def _moment(self, r, h: Hit, anchor: Anchor, conf: float) -> Moment:
        kind = r["kind"]
        snippet = " ".join((anchor.text or r["speech"] or r["slide_text"] or "").split())[:240]
        if kind == "pdf":
            url = f"/pdf/{r['lecture_id']}?page={r['page']}"
            start = end = None
        else:
            start, end = round(h.start, 2), round(max(h.end, h.start), 2)
            url = f"/watch/{r['lecture_id']}?t={int(start)}"
        return Moment(file=r["path"], lecture=r["title"], lecture_id=r["lecture_id"], course=r["course"],
                      kind=kind, start_s=start, end_s=end, page=r["page"] if kind == "pdf" else None,
                      score=h.score, snippet=snippet, url=url, confident=h.score >= CONFIDENT, segment_id=r["id"])
