"""Lexical retrieval: BM25 over the segments' words (in memory from `bm25.idx`, else SQLite FTS5; or the store's
own BM25 where it has one)."""
from __future__ import annotations

import math
import os
from typing import Optional

from ...index.bm25 import Bm25Cache, Bm25Index
from ...index.catalog import Catalog
from ...index.store import TextSearch
from ...words import flat_terms, fts_query, fts_terms, query_words
from ..query import Query
from .base import CANDIDATES, Ranked, Reads

PRUNE_ABOVE = 20000   # segments; below this every query word goes to FTS5 (in memory: always every word)
MAX_TERMS = 6
MAX_DF = 0.05         # a word in more than this share of segments adds cost, not ranking
DF_MEMORY = 200_000   # terms whose document counts are kept per catalog generation
# segments BM25 scores at most, over the words kept (FTS5: ~1 µs each); the rarest word is always kept
MAX_POSTINGS = int(os.environ.get("LECTUREFIND_BM25_MAX_POSTINGS") or 60_000)


class LexicalRetriever:
    """BM25 over `words.fts_text` stems: each query word stemmed in English, in the index's lecture languages
    and in the query's own language."""

    name = "lexical"
    reads: Reads = "text"

    def __init__(self, catalog: Catalog, text_store: Optional[TextSearch] = None,
                 memory: Optional[Bm25Cache] = None):
        """`text_store`: a store ranking by BM25 itself (Milvus); the catalog's FTS5 still weighs the words.
        `memory`: the index's in-memory BM25 (FTS5's ranking, every query word, a few ms at 100 k segments),
        used whenever it holds the catalog's texts."""
        self.catalog = catalog
        self.text_store = text_store
        self.memory = memory
        self._mem: Optional[Bm25Index] = None
        self._gen = -1
        self._count, self._languages = 0, list[str]()       # per catalog generation
        self._df: dict[str, int] = {}         # term → segments holding it, for this generation (see _doc_counts)

    def _refresh(self) -> None:
        gen = self.catalog.generation
        if self._gen != gen:
            self._mem = self.memory.get(self.catalog) if self.memory is not None else None
            self._count = self._mem.n if self._mem is not None else self.catalog.segment_count()
            self._languages = self.catalog.languages()
            self._df = {}
            self._gen = gen
        elif self._mem is None and self.memory is not None:
            self._mem = self.memory.get(self.catalog)     # written after this generation's commit (ingest's end)

    def _doc_counts(self, terms) -> dict[str, int]:
        """`Catalog.term_doc_counts`, each term looked up once per catalog generation (a look-up in FTS5's
        vocabulary costs ~10 ms a term at 1 M segments; ranking and weighting ask alike, and a class asks
        the same words). At most DF_MEMORY terms are kept."""
        mem = self._mem
        if mem is not None:
            return {t: c for t in set(terms) if (c := mem.doc_count(t))}
        known = self._df                   # one read: another request's thread may replace it meanwhile
        terms = set(terms)
        missing = [t for t in terms if t not in known]
        if missing:
            found = self.catalog.term_doc_counts(missing)
            if len(known) > DF_MEMORY:
                known = self._df = {}
            for t in missing:
                known[t] = found.get(t, 0)
        return {t: known[t] for t in terms if known.get(t)}

    def terms(self, text: str) -> list[list[str]]:
        """The query words' stems sent to BM25: all of them, or on a large index those of the rarest few words."""
        self._refresh()
        groups = fts_terms(text, self._languages)
        n = self._count if groups else 0
        if n > PRUNE_ABOVE and self._mem is None:
            # BM25 scores every segment holding any query word: keep the rarest words, which carry the
            # ranking anyway, so a question full of common course words stays fast at 100k segments
            found = self._doc_counts(s for g in groups for s in g)
            df = [max((found.get(s, 0) for s in g), default=0) for g in groups]
            present = [i for i in range(len(groups)) if df[i]]     # a word in no segment cannot rank one
            order = sorted(present, key=lambda i: df[i])[:MAX_TERMS]
            keep, postings = order[:1], sum(df[i] for i in order[:1])
            for i in order[1:]:     # then rarer first, while BM25's work (the postings it scores) stays bounded
                if df[i] <= MAX_DF * n and postings + df[i] <= MAX_POSTINGS:
                    keep.append(i)
                    postings += df[i]
            groups = [groups[i] for i in keep]
        return groups

    def word_weights(self, text: str) -> dict[str, float]:
        """Each query word's `words.stem` weighted by its rarity in the index (BM25's idf); a word in no segment
        weighs most, so a question whose telling words the course lacks covers little of any segment."""
        self._refresh()
        pairs = query_words(text, self._languages)
        found = self._doc_counts(s for _, g in pairs for s in g) if pairs else {}
        n = max(self._count, 1)
        out: dict[str, float] = {}
        for st, g in pairs:
            df = max((found.get(s, 0) for s in g), default=0)
            out[st] = max(out.get(st, 0.0), math.log(1 + (n - df + 0.5) / (df + 0.5)))
        return out

    def rank(self, query: Query, n: int = CANDIDATES) -> list[Ranked]:
        terms = self.terms(query.text)
        mem = self._mem
        ids = mem.search(flat_terms(terms), n) if mem is not None else None    # None: FTS5 reads it as a phrase
        if ids is None and self.text_store is not None:
            ids = self.text_store.search_text(flat_terms(terms), n)
        elif ids is None:
            match = fts_query(terms)
            ids = self.catalog.bm25(match, n) if match else []
        return [Ranked(i, 1.0 / (r + 1)) for r, i in enumerate(ids)]
