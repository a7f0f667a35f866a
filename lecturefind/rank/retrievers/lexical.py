"""Lexical retrieval: BM25 over the segments' words (SQLite FTS5)."""
from __future__ import annotations

from ...index.catalog import Catalog
from ...words import fts_query, tokens
from ..query import Query
from .base import CANDIDATES, Ranked, Reads

PRUNE_ABOVE = 20000   # segments; below this every query word goes to BM25
MAX_TERMS = 6
MAX_DF = 0.05         # a word in more than this share of segments adds cost, not ranking


class LexicalRetriever:
    name = "lexical"
    reads: Reads = "text"

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._count, self._count_gen = 0, -1          # segment count, per catalog generation

    def _segment_count(self) -> int:
        gen = self.catalog.generation
        if self._count_gen != gen:
            self._count = self.catalog.segment_count()
            self._count_gen = gen
        return self._count

    def _doc_freqs(self, toks: list[str]) -> dict[str, int]:
        """Segments holding each token (porter stems are prefixes of most words; a token whose stem is not
        found is reported as unknown, -1, and kept)."""
        cands = {t[:n]: t for t in toks for n in range(min(3, len(t)), len(t) + 1)}
        found = self.catalog.term_doc_counts(cands)
        out = {}
        for t in toks:
            stem = next((t[:n] for n in range(len(t), min(3, len(t)) - 1, -1) if t[:n] in found), None)
            out[t] = found[stem] if stem else -1
        return out

    def terms(self, text: str) -> list[str]:
        """The query words sent to BM25: all of them, or on a large index the rarest few."""
        toks = list(dict.fromkeys(tokens(text)))
        n = self._segment_count() if toks else 0
        if n > PRUNE_ABOVE:
            # BM25 scores every segment holding any query word: keep the rarest words, which carry the
            # ranking anyway, so a question full of common course words stays fast at 100k segments
            df = self._doc_freqs(toks)
            toks = sorted(toks, key=lambda t: max(df[t], 0))[:MAX_TERMS]   # unknown: absent or unusual stem
            toks = toks[:1] + [t for t in toks[1:] if df[t] <= MAX_DF * n]
        return toks

    def rank(self, query: Query, n: int = CANDIDATES) -> list[Ranked]:
        match = fts_query(" ".join(self.terms(query.text)))
        if not match:
            return []
        ids = self.catalog.bm25(match, n)
        return [Ranked(i, 1.0 / (r + 1)) for r, i in enumerate(ids)]
