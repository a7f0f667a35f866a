"""Search: decode the query once, ask every retriever, fuse (RRF), refine to where the answer begins.

The Searcher receives its retrievers at construction: the embedded defaults (FAISS vectors, FTS5 BM25,
SIFT visual) plus any others handed in (the Gemini backend's). Text-reading and media-reading
rankings are fused by RRF; the visual ranking, whose evidence is a slide on screen, is fused with the
text path's moments by `image.fuse`.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional, Sequence, cast

import numpy as np

from ..index.bm25 import Bm25Cache
from ..index.catalog import Catalog, from_blob, from_latent
from ..index.store import SegmentStore, TextSearch, open_stores, store_spec
from ..ml_models import MLModels
from ..records import Moment
from ..signals.embed import latent_cosine, one_thread_per_query
from ..words import coverage, reads_as_english, stems, title_line
from . import image
from .fusion import Hit, merge_hits, rrf
from .links import annotate
from .query import Query, decode_query
from .results import CONFIDENT, make_moment
from .retrievers import LexicalRetriever, Retriever, VectorRetriever, VisualRetriever

_EMBED_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="embed-query",   # the models are shared
                                 initializer=one_thread_per_query)
_RETRIEVE_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="retrieve")   # BM25 beside FAISS

REFINE = 24          # fused candidates refined and scored
REFINE_UNSURE = int(os.environ.get("LECTUREFIND_REFINE_UNSURE") or 60)   # ... when none of those is a confident answer
UNSURE_SCREEN = int(os.environ.get("LECTUREFIND_UNSURE_SCREEN") or 6)    # of which refined: the nearest by vector
SLIDE_LEAD_S = 15.0  # a matching sentence this soon after a slide change starts the moment at the change
RESTATES_SLIDE = 0.88  # sentence~slide cosine above which the narrator is reading the slide out
COVERAGE_WEIGHT = 0.15  # how much lexical coverage counts against cosine when choosing an anchor
ENGLISH_PATH = os.environ.get("LECTUREFIND_ENGLISH_PATH", "1") != "0"   # MiniLM beside e5 for English
ENGLISH_WEIGHT = float(os.environ.get("LECTUREFIND_ENGLISH_WEIGHT", "0.1"))
ENGLISH_NEUTRAL = float(os.environ.get("LECTUREFIND_ENGLISH_NEUTRAL", "0.4"))
WEIGHTED_COVERAGE = os.environ.get("LECTUREFIND_WEIGHTED_COVERAGE", "1") != "0"   # rare words count more
_EVIDENCE = {"sentence": "speech", "slide": "slide", "page": "page", "segment": "clip"}   # anchor kind -> evidence
UNKNOWN_COS = 0.80     # the neutral cosine of `calibrate`: a segment without vectors yet is scored by its words alone
TITLE_BONUS = 0.25     # a slide or page whose title carries the query words outranks one that only lists them
BUILD_REPEATED = 0.9   # share of an earlier slide state's words that a later one repeats: a build step
BUILD_PAGES = 12       # earlier PDF pages looked at for the start of a page's build (beamer: a page per step)
BUILD_NEAR = 0.02      # cosine an earlier build step may lose to a later one and still start the moment
# latent terms (e5's sparse head) count as coverage in any language: cosine 0.15 -> none, 0.55 -> full (dev2: slopes
# 2-3 alike, 4 and more lost paraphrases); asked for only when no BM25 candidate shares half the question's words
LATENT_FROM, LATENT_SLOPE = 0.15, 2.5
LATENT_GATE = float(os.environ.get("LECTUREFIND_LATENT_GATE", "0.5"))


@dataclass
class Anchor:
    start: float
    end: float
    text: str
    vec: Optional[np.ndarray]
    kind: str            # 'sentence' | 'slide' | 'page' | 'segment'
    slide_id: Optional[int] = None
    vec_en: Optional[np.ndarray] = None     # English MiniLM embedding, for English text
    title: str = ""                         # a slide's title (OCR layout); else its first line counts
    latent: Optional[np.ndarray] = None     # its latent terms (`signals.embed.TextEmbedder.latent`)


def calibrate(cos: float, cov: float) -> float:
    """Map (best cosine, lexical coverage) to a 0..1 confidence comparable across queries."""
    z = 14.0 * (cos - 0.80) + 3.0 * (cov - 0.5)
    return 1.0 / (1.0 + math.exp(-z))


def _cos(vec: Optional[np.ndarray], qv: Optional[np.ndarray]) -> float:
    return float(vec @ qv) if (qv is not None and vec is not None) else 0.0


def _sem(a: Anchor, qv: tuple) -> float:
    """Semantic evidence of an anchor, on e5's scale: its e5 cosine, moved by how far the English model's cosine
    is from its neutral level (e5-small scores every sentence of a course alike; MiniLM separates paraphrases)."""
    cos = _cos(a.vec, qv[0])
    if qv[1] is not None and a.vec_en is not None:
        cos += ENGLISH_WEIGHT * (float(a.vec_en @ qv[1]) - ENGLISH_NEUTRAL)
    return cos


def _repeats(later: frozenset[str], earlier: frozenset[str]) -> bool:
    """Whether a slide state (its stems, `later`) repeats an earlier one's words, as a build's next step does."""
    return bool(earlier) and len(earlier & later) >= BUILD_REPEATED * len(earlier)


class Searcher:
    """Answers queries over one index with the retrievers it was built with."""

    def __init__(self, index_dir: str, models: Optional[MLModels] = None,
                 extra_retrievers: Sequence[Retriever] = (),
                 vectors: Optional[tuple[SegmentStore, SegmentStore]] = None, store: Optional[str] = None):
        """`vectors`: the (e5, English) stores to share with other searchers of the same index (a server's
        pool); each searcher has its own catalog connection. `store`: which store (`index.store.StoreSpec`;
        default: the one the index records)."""
        self.index_dir = os.path.abspath(index_dir)
        self.catalog = Catalog(self.index_dir, readonly=True)
        self.models = models or MLModels()
        self.vectors, self.vectors_en = vectors or open_stores(store_spec(self.catalog, self.index_dir, store),
                                                               self.catalog, self.index_dir)
        self.visual = VisualRetriever(self.catalog)
        text_store = self.vectors if isinstance(self.vectors, TextSearch) else None    # Milvus: BM25 there too
        self.lexical = LexicalRetriever(self.catalog, text_store,
                                        Bm25Cache.of(self.index_dir) if text_store is None else None)
        self.retrievers: tuple[Retriever, ...] = (
            self.lexical, VectorRetriever(self.catalog, self.vectors, self.vectors_en if ENGLISH_PATH else None),
            *extra_retrievers)

    def close(self) -> None:
        self.catalog.close()

    def warm(self) -> None:
        """Load the text model and the vector index now rather than on the first query."""
        self.models.embedder.query("warm up")
        self.models.english.query("warm up")
        self.vectors.load(self.catalog)
        self.vectors_en.load(self.catalog)

    # -- public -------------------------------------------------------------------------------
    def search(self, text: Optional[str] = None, image: Optional[str] = None, audio: Optional[str] = None,
               k: int = 10, course: Optional[str] = None) -> list[Moment]:
        """One entry point for every query kind: text, an image file, an audio file, or image + text."""
        query = decode_query(text, image, audio, course, k, self._transcribe)
        moments = self._image_search(query) if query.image is not None else self._text_search(query)
        return annotate(self.catalog, moments)

    def search_text(self, text: str, k: int = 10, course: Optional[str] = None, latent: bool = True) -> list[Moment]:
        """A typed question only (no links annotated): the text path on its own; `latent`: whether latent terms may
        stand in for words (the course audit's thresholds were measured without them)."""
        text = (text or "").strip()
        return self._text_search(Query(text=text, typed=text, course=course, k=k, latent=latent))

    def _transcribe(self, samples: np.ndarray) -> str:
        return " ".join(s.text for s in self.models.asr.transcribe(samples)).strip()

    def _text_query(self, query: Query, text: str) -> Query:
        """`query` with `text` as what the text path matches; its embedding starts now, beside BM25."""
        text = (text or "").strip()
        job = _EMBED_POOL.submit(self.models.embedder.query, text) if text else None
        en = (_EMBED_POOL.submit(self.models.english.query, text)
              if ENGLISH_PATH and text and reads_as_english(text) else None)
        return query.with_text(text, job, en)

    # -- the text path ------------------------------------------------------------------------
    def _text_search(self, query: Query, k: Optional[int] = None) -> list[Moment]:
        k = k or query.k
        query = self._text_query(query, query.text)
        jobs = {r: _RETRIEVE_POOL.submit(r.rank, query) for r in self.retrievers
                if (r.reads == "text" and query.text) or (r.reads == "image" and query.image is not None)
                or (r.reads == "audio" and query.audio is not None)}
        qstems = self.lexical.word_weights(query.text) if WEIGHTED_COVERAGE else stems(query.text)
        cov_of = functools.lru_cache(maxsize=None)(lambda t: coverage(qstems, t))    # texts recur across anchors
        latent = self._latent_job(query, jobs.get(self.lexical), cov_of)
        rankings = [[h.segment_id for h in job.result()] for job in jobs.values()]
        fused = rrf([r for r in rankings if r])
        if query.course and fused:
            keep = self.catalog.segments_in_course(list(fused), query.course)
            fused = {i: v for i, v in fused.items() if i in keep}
        if not fused:
            return []
        top = sorted(fused, key=lambda i: -fused[i])[: max(REFINE, REFINE_UNSURE, k * 2)]
        qv = (query.vector(), query.english_vector(), self._latent_terms(latent))
        return self._moments(top, fused, qv, cov_of, k, query.course)

    def _latent_job(self, query: Query, lexical: Optional[Future], cov_of) -> Optional[Future]:
        """The question's latent terms, started as soon as BM25 shows they are needed, on the query pool beside
        e5's vector (after MiniLM's, for an English question): when none of BM25's first `REFINE` candidates (in the
        course asked about) shares half the question's words (a paraphrase, a question in another language)."""
        if not query.latent or not query.text:
            return None
        ids = [h.segment_id for h in lexical.result()[:REFINE]] if lexical is not None else []
        rows = [r for r in self.catalog.segments(ids) if not query.course or r["course"] == query.course]
        if max((cov_of(self._own_anchor(r).text) for r in rows), default=0.0) >= LATENT_GATE:
            return None
        return _EMBED_POOL.submit(self.models.embedder.latent_query, query.text)

    @staticmethod
    def _latent_terms(job: Optional[Future]) -> Optional[np.ndarray]:
        """The question's latent terms, or None: not asked for, or failed (they only add evidence)."""
        try:
            return job.result() if job is not None else None
        except Exception:  # noqa: BLE001
            return None

    # -- the image path -----------------------------------------------------------------------
    def _image_search(self, query: Query) -> list[Moment]:
        """Verified visual matches fused with the text path, fed by the typed words or the photo's text."""
        assert query.image is not None
        hits = self.visual.rank(query)
        # words typed (or spoken) say which part of the picture is meant: they alone drive the text path;
        # otherwise the text read off the photo does, unless the geometry is decisive
        said = bool(query.text)
        if said:
            text = query.text
        elif image.is_decisive(self.catalog, hits):
            text = ""
        else:
            text = self.models.ocr.read(image.for_ocr(query.image.pixels))
        media = any(r.reads != "text" for r in self.retrievers)
        textual = self._text_search(query.with_text(text), k=30) if (text or media) else []
        visual, groups = image.visual_moments(self.catalog, hits, query.course)
        return image.fuse(visual, textual, typed=said, k=query.k, groups=groups)

    # -- refinement: where in a segment the answer begins, and how sure we are -----------------
    def _moments(self, seg_ids: list[int], fused: dict, qv, cov_of, k: int, course: Optional[str]) -> list[Moment]:
        """The first `k` moments among the candidates `seg_ids` (best fused first); when none of the first
        `REFINE` is a confident answer, among the first `REFINE_UNSURE`. `qv`: the question's (e5, English, latent
        terms); `cov_of`: text → its coverage of the question."""
        first = max(REFINE, k * 2)
        hits = self._hits(self.catalog.segments(seg_ids[:first]), fused, qv, cov_of, course)
        if len(seg_ids) > first and REFINE_UNSURE > first and max((h.score for h in hits), default=0) < CONFIDENT:
            # no confident answer (a paraphrase: few shared words, so the fused order is mostly noise): the
            # evidence decides among more candidates
            hits += self._hits(self.catalog.segments(seg_ids[first:REFINE_UNSURE]), fused, qv, cov_of, course,
                               screen=UNSURE_SCREEN)
        moments = []
        for h in merge_hits(hits)[:k]:
            r, anchor = cast("tuple[Any, Anchor]", h.payload)
            moments.append(make_moment(r, score=h.score, text=anchor.text or r["speech"] or r["slide_text"],
                                       start=h.start, end=h.end, page=r["page"], segment_id=r["id"],
                                       evidence=_EVIDENCE[anchor.kind]))
        return moments

    def _hits(self, rows: list, fused: dict, qv, cov_of, course: Optional[str],
              screen: Optional[int] = None) -> list[Hit]:
        """Each candidate segment (`Catalog.segments` rows) scored where its answer begins (its best anchor); with
        `screen`, only that many, those whose own vectors are nearest the question."""
        rows = [r for r in rows if not course or r["course"] == course]
        if screen is not None and len(rows) > screen:
            near = [_sem(self._own_anchor(r), qv) for r in rows]
            rows = [rows[i] for i in sorted(range(len(rows)), key=lambda i: -near[i])[:screen]]
        best_rrf = max(fused.values())
        hits: list[Hit] = []
        for r in rows:
            anchor, cos, cov = self._best_anchor(r, qv, cov_of)
            build = None
            if anchor.kind == "page":
                r, anchor, build = self._first_page(r, anchor, qv, cov_of)
            if r["embedding"] is None:
                cos = UNKNOWN_COS      # a page still owed its vectors (a large PDF's): judged by its words
            conf = calibrate(cos, cov) if qv[0] is not None else 0.5
            rank_part = fused[r["id"]] / best_rrf
            score = conf * (0.8 + 0.2 * rank_part)     # evidence sets the level, fused rank orders near-ties
            hits.append(Hit(r["lecture_id"], anchor.start, anchor.end, score, (r, anchor),
                            page=r["page"] if r["kind"] == "pdf" else None, build=build))
        return hits

    @staticmethod
    def _own_anchor(r) -> Anchor:
        """A segment as a whole (a PDF's: its page), with its own vectors."""
        seg_vec, seg_en = from_blob(r["embedding"]), from_blob(r["embedding_en"])
        if r["kind"] == "pdf":
            return Anchor(0.0, 0.0, r["slide_text"] or "", seg_vec, "page", vec_en=seg_en,
                          latent=from_latent(r["latent"]))
        return Anchor(r["start_s"], r["end_s"], (r["slide_text"] or "") + "\n" + (r["speech"] or ""), seg_vec,
                      "segment", vec_en=seg_en)

    def _anchors(self, r) -> list[Anchor]:
        out = [self._own_anchor(r)]
        if r["kind"] == "pdf":
            return out
        lo, hi = r["start_s"], r["end_s"]
        for s in self.catalog.sentences_between(r["lecture_id"], lo, hi):
            out.append(Anchor(s["start_s"], s["end_s"], s["text"], from_blob(s["embedding"]), "sentence",
                              vec_en=from_blob(s["embedding_en"]), latent=from_latent(s["latent"])))
        for s in self.catalog.slides_between(r["lecture_id"], lo, hi):
            out.append(Anchor(s["start_s"], s["end_s"], s["text"], from_blob(s["embedding"]), "slide", s["id"],
                              vec_en=from_blob(s["embedding_en"]), title=s["title"] or "",
                              latent=from_latent(s["latent"])))
        return out

    def _first_page(self, r, page: Anchor, qv, cov_of) -> tuple[Any, Anchor, Optional[int]]:
        """A PDF page as one step of a build slide (beamer makes a page per step): (the row and anchor of the page
        where its matched item first shows, the first page of its build). The steps of one build are one hit; the
        chosen page's evidence still scores it."""
        if not r["page"] or r["page"] <= 1:
            return r, page, r["page"]
        before = self.catalog.pages_before(r["lecture_id"], r["page"], BUILD_PAGES)
        earlier = [self._own_anchor(p) for p in before]
        build, later = r["page"], stems(page.text)
        for row, a in zip(reversed(before), reversed(earlier)):
            words = stems(a.text)
            if row["page"] != build - 1 or not _repeats(later, words):
                break
            build, later = row["page"], words
        first = self._first_state(earlier, page, qv, cov_of)
        if first is page:
            return r, page, build
        return before[earlier.index(first)], first, build

    @staticmethod
    def _coverage(cov_of, a: Anchor, qv) -> float:
        """Lexical coverage of an anchor (`cov_of`: text → coverage of the query); on a slide or page, the query
        words in its title count extra (the slide that is about it beats an agenda or summary that lists it).
        Where the question's latent terms were asked for (`qv[2]`), the anchor's latent cosine to them covers it
        too, when it covers more than its words do (a question in another language shares none of them)."""
        cov = cov_of(a.text)
        if a.kind in ("slide", "page") and cov:
            cov += TITLE_BONUS * cov_of(a.title or title_line(a.text))
        if qv[2] is not None and a.latent is not None:
            cov = max(cov, min(1.0, LATENT_SLOPE * (latent_cosine(qv[2], a.latent) - LATENT_FROM)))
        return cov

    @staticmethod
    def _first_state(earlier: list[Anchor], best: Anchor, qv, cov_of) -> Anchor:
        """Where the matched item of a build slide first shows (`earlier`: the slide states or PDF pages before
        `best`, in order). A build adds lines, so its later steps repeat the earlier ones: an earlier step just
        before `best` whose words `best` repeats, whose lines below the title cover the question as well, and that
        is about as near, shows the item already. Nothing moves when the question's words are not in `best`'s lines
        (a paraphrase, or the title alone: every step covers it alike)."""
        def lines(a: Anchor) -> float:
            title = a.title or title_line(a.text)
            return cov_of(a.text.replace(title, "", 1) if title else a.text)

        need = lines(best)
        if not need:
            return best
        mine, sem = stems(best.text), _sem(best, qv)
        first = best
        for a in reversed(earlier):
            words = stems(a.text)
            if not _repeats(mine, words) or lines(a) < need or _sem(a, qv) < sem - BUILD_NEAR:
                break
            first = a
        return first

    def _best_anchor(self, r, qv, cov_of) -> tuple[Anchor, float, float]:
        anchors = self._anchors(r)
        seg = anchors[0]
        seg_cos = _sem(seg, qv)
        seg_cov = self._coverage(cov_of, seg, qv)
        best, best_val = seg, -1.0
        coses = [_sem(a, qv) for a in anchors[1:]]
        top_cos = max(coses, default=0.0)
        for a, cos in zip(anchors[1:], coses):
            if cos < top_cos - COVERAGE_WEIGHT * (1 + TITLE_BONUS):
                continue                      # lexical coverage cannot lift it past the best: skip the work
            val = cos + COVERAGE_WEIGHT * self._coverage(cov_of, a, qv)
            if val > best_val:
                best, best_val = a, val
        if best is seg:
            return seg, seg_cos, seg_cov
        anchor = best
        if best.kind == "slide":
            first = self._first_state([a for a in anchors if a.kind == "slide" and a.start < best.start], best, qv,
                                      cov_of)
            if first is not best:     # it starts where the item appeared; the chosen step's evidence scores it
                anchor = dataclasses.replace(first, end=max(first.end, best.end))
        if anchor.kind == "sentence":
            # the answer begins at this sentence; at the slide change just before it only when the slide shows
            # it too (its words match as well, or the sentence restates the slide): start and score share evidence
            start = max(anchor.start - 0.5, 0.0)
            slide = next((a for a in anchors if a.kind == "slide" and a.start <= anchor.start < a.end), None)
            if (slide is not None and anchor.start - slide.start <= SLIDE_LEAD_S
                    and (cov_of(slide.text) >= cov_of(anchor.text)
                         or _cos(slide.vec, anchor.vec) >= RESTATES_SLIDE)):
                start = slide.start
            anchor = Anchor(start, max(seg.end, anchor.end), anchor.text, anchor.vec, "sentence", vec_en=anchor.vec_en)
        return anchor, max(seg_cos, _sem(best, qv)), max(seg_cov, self._coverage(cov_of, best, qv))
