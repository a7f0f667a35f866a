"""Course vocabulary for the speech decoder: the distinctive terms of the course's slide PDFs and a glossary.

Technical terms, names and acronyms are what Whisper gets wrong, and they are usually printed in the course's
own handouts. Passed to faster-whisper as the initial prompt (`hotwords` helped less). The glossary is always
used; the PDFs' words only with `--course-vocab` (README: they lower WER but moved one sample-course answer).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, Optional

from ..words import STOPWORDS

MAX_TERMS = 40
_TERM = re.compile(r"[^\W\d_][^\W_]*(?:[-'][^\W_]+)*", re.UNICODE)


def read_glossary(path: str) -> list[str]:
    """One term per line; blank lines and lines starting with # are skipped."""
    with open(path, encoding="utf-8") as f:
        return [t for t in (line.strip() for line in f) if t and not t.startswith("#")]


def course_terms(texts: Iterable[str], glossary: Iterable[str] = (), n: int = MAX_TERMS) -> list[str]:
    """The glossary, then the course texts' most frequent words of 4+ letters that are not stop words."""
    out = list(dict.fromkeys(t for t in glossary if t))
    seen = {t.lower() for t in out}
    counts: Counter = Counter()
    shown: dict[str, str] = {}
    for text in texts:
        for tok in _TERM.findall(text or ""):
            low = tok.lower()
            if len(low) >= 4 and low not in STOPWORDS:
                counts[low] += 1
                shown.setdefault(low, tok if tok.isupper() or tok[0].isupper() else low)
    for low, _ in counts.most_common():
        if len(out) >= n:
            break
        if low not in seen:
            out.append(shown[low])
            seen.add(low)
    return out[:max(n, len(list(glossary)))]


def decoder_prompt(terms: list[str]) -> Optional[str]:
    """The initial prompt that carries the terms, or None without any."""
    return ", ".join(terms) + "." if terms else None
