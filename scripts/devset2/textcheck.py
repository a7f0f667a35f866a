"""Mechanical 'no shared content word' check for paraphrase queries.

words: lower-cased runs of letters/digits (so 'dh_make' -> 'dh', 'make'; "don't" -> 'don', 't');
content words: words not in STOPWORDS and longer than one character;
stems: a word and its simple stems (strip 'ing', 'ed', 'es', 's'; keep >= 3 letters).
A question shares a content word with a text when any stem of any of its content
words equals any stem of any content word of the text.
"""
from __future__ import annotations

import re

STOPWORDS = set("""
a about above after again against all am an and any are aren as at be because been before being below between
both but by can cannot could couldn did didn do does doesn doing don down during each few for from further
get gets got had hadn has hasn have haven having he her here hers herself him himself his how i if in into is isn
it its itself just let ll me might more most must my myself no nor not now of off on once only or other ought our
ours ourselves out over own re same shall she should shouldn so some such than that the their theirs them themselves
then there these they this those through to too under until up us ve very was wasn way we were weren what when
where which while who whom why will with won would wouldn you your yours yourself yourselves
also one ones thing things something anything someone anyone kind sort lot lots like want wants need needs
tell told say said does show shown showing use used using make makes made go goes going
""".split())


def norm(s: str) -> str:
    s = s.lower().replace("\u2019", "'").replace("\u00ad", "")
    s = re.sub(r"[-_/\u2010-\u2015]", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def words(s: str) -> list[str]:
    return re.findall(r"[^\W_]+", s.lower().replace("\u00ad", ""))


def stems(w: str) -> set[str]:
    out = {w}
    for suf in ("ing", "ed", "es", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            out.add(w[: -len(suf)])
    # "e"-dropping stems: 'uploading' ~ 'upload', 'archives' ~ 'archive' ~ 'archiv'
    out |= {x[:-1] for x in list(out) if x.endswith("e") and len(x) > 3}
    return out


def content_stems(s: str) -> dict[str, str]:
    res = {}
    for w in words(s):
        if w in STOPWORDS or len(w) < 2:
            continue
        for st in stems(w):
            res.setdefault(st, w)
    return res


def shared_content_words(question: str, texts: list[str]) -> list[str]:
    q = content_stems(question)
    t = {}
    for x in texts:
        t.update(content_stems(x))
    return sorted({f"{q[s]}~{t[s]}" for s in q if s in t})
