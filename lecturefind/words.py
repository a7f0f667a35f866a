"""Words: tokens, stems and the one rule for "this word matches that query word".

Scoring (lexical coverage of an anchor) and highlighting (the <mark>ed words of a snippet) both use
`word_matches`, so the highlighted words are exactly the words that counted.
"""
from __future__ import annotations

import functools
import re
from typing import Iterable

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being below between both
but by can could did do does doing down during each few for from further had has have having he her here hers
him his how i if in into is it its itself just let me more most my no nor not now of off on once only or other
our out over own same she should so some such than that the their them then there these they this those through
to too under until up very was we were what when where which while who whom why will with would you your
lecture lectures slide slides explain explained show shown showed talk talked say said mention mentioned
lesson class course video part discuss discussed tell told describe described does did we us
""".split())

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)


def tokens(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


def stem(tok: str) -> str:
    """A crude, language-light stem: enough to match plural/verb forms."""
    for suf in ("ations", "ation", "ings", "ing", "ies", "ied", "es", "ed", "s"):
        if len(tok) > len(suf) + 3 and tok.endswith(suf):
            return tok[: -len(suf)]
    if len(tok) > 4 and tok.endswith("e"):      # derive ~ deriving ~ derived, value ~ values
        return tok[:-1]
    return tok


@functools.lru_cache(maxsize=8192)
def stems(text: str) -> frozenset[str]:
    return frozenset(stem(t) for t in tokens(text))


def word_matches(query_stem: str, stem_: str) -> bool:
    """A text word (stemmed) matches a query word (stemmed).

    Equal stems match; a longer word with the query stem as prefix (eigenvalue → eigenvalues) matches when
    the query stem has ≥ 5 letters; a shorter word that is a prefix of the query word matches only with
    ≥ 7 letters of its own (start ⊄ starter, but eigenvect ⊂ eigenvector).
    """
    if query_stem == stem_:
        return True
    return len(query_stem) >= 5 and (stem_.startswith(query_stem) or (len(stem_) >= 7 and query_stem.startswith(stem_)))


def coverage(query_stems: Iterable[str], text: str) -> float:
    """Share of the query's content stems that some word of `text` matches."""
    query_stems = list(query_stems)
    if not query_stems:
        return 0.0
    have = stems(text)
    hits = sum(1 for q in query_stems if q in have or any(word_matches(q, h) for h in have))
    return hits / len(query_stems)


def matches_any(word: str, query_stems: Iterable[str]) -> bool:
    """A single (unstemmed) word of a text matches one of the query stems."""
    w = stem(word.lower())
    return any(word_matches(q, w) for q in query_stems)


def fts_query(text: str) -> str:
    """An FTS5 OR-query of the content tokens, each quoted."""
    toks = list(dict.fromkeys(tokens(text)))[:32]
    return " OR ".join(f'"{t}"' for t in toks)
