"""Chapters of a video lecture: one per distinct slide, titled by the slide's title (the tallest line near
the top of the OCR'd slide, else its first line).

Consecutive slides with the same title (incremental builds, a slide shown again after a detour) are one chapter;
a slide with no readable title, or one on screen for less than `MIN_S`, continues the chapter before it.
A lecture without titled slides (a recording, a talking head) gets chapters at topic shifts in its transcript,
titled by their most distinctive words.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np

from ..words import fold, stem, title_line, tokens

MIN_S = 3.0       # a slide on screen for less than this (a transition, a flash) starts no chapter
UNTITLED = "Untitled"
_SURFACE = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass
class Chapter:
    start: float
    end: float
    title: str
    slide_id: Optional[int] = None


def _key(title: str) -> str:
    return " ".join(fold(title).split())


def _stored_title(sl) -> str:
    try:
        return sl["title"] or ""
    except (KeyError, IndexError):      # a row without the column (an index made before titles)
        return ""


def chapters(slides: Iterable, duration: float) -> list[Chapter]:
    """`slides`: rows with id, start_s, end_s, text and (when known) title, in time order."""
    out: list[Chapter] = []
    for sl in slides:
        start, end = float(sl["start_s"] or 0.0), float(sl["end_s"] or 0.0)
        title = " ".join((_stored_title(sl) or title_line(sl["text"] or "")).split())
        if out and (not title or end - start < MIN_S or _key(title) == _key(out[-1].title)):
            out[-1].end = max(out[-1].end, end)
            continue
        out.append(Chapter(start, end, title or UNTITLED, sl["id"]))
    if out:
        out[0].start = 0.0
        for a, b in zip(out, out[1:]):
            a.end = b.start
        out[-1].end = max(out[-1].end, duration)
    return out


# -- lectures without slide titles: chapters at topic shifts in the transcript ------------------------------
TOPIC_WINDOW = 6          # sentences compared on each side of a candidate boundary
MIN_TOPIC_S = 60.0        # no topic chapter shorter than this
PAUSE_S = 3.0             # a silence this long before a sentence ...
PAUSE_WEIGHT = 0.1        # ... ranks its gap this much deeper: of gaps that dip alike, the speaker paused at the shift
TITLE_WORDS = 3
# spoken filler and quantity words that say nothing about a topic
_NOT_TITLE = frozenset("""one two three four five six seven eight nine ten first second third every each many much
some any also just like well now okay right get gets got going know think see look let make makes made take takes
thing things way ways lot really actually basically kind sort new good use used using""".split())


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n else v


def _similarities(vecs: np.ndarray, w: int) -> np.ndarray:
    """Cosine of the w sentences before each gap (before sentence i, i ≥ 1) with the w after it."""
    sims = np.ones(len(vecs))
    for i in range(1, len(vecs)):
        sims[i] = float(_unit(vecs[max(0, i - w):i].sum(axis=0)) @ _unit(vecs[i:i + w].sum(axis=0)))
    return sims


def _depths(sims: np.ndarray) -> np.ndarray:
    """TextTiling depth of each gap: how far its similarity dips below the peaks on either side."""
    depth = np.zeros(len(sims))
    for i in range(1, len(sims)):
        depth[i] = (sims[1:i + 1].max() - sims[i]) + (sims[i:].max() - sims[i])
    return depth


def _word_vectors(texts: list[str]) -> np.ndarray:
    """Bag-of-stems counts per sentence (the words a topic repeats are what tell topics apart; e5-small finds
    every sentence of a lecture alike)."""
    toks = [[stem(t) for t in tokens(text) if len(t) > 2] for text in texts]
    vocab = {t: i for i, t in enumerate(dict.fromkeys(t for ts in toks for t in ts))}
    m = np.zeros((len(texts), max(1, len(vocab))), dtype=np.float32)
    for i, ts in enumerate(toks):
        for t in ts:
            m[i, vocab[t]] += 1.0
    return m


def _terms(text: str) -> list[str]:
    """A sentence's candidate title terms: its content words and each pair of neighbouring ones."""
    toks = [t for t in tokens(text) if len(t) > 2 and not t.isdigit() and t not in _NOT_TITLE]
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:]) if a != b]


def _title(texts: list[str], others: list[list[str]]) -> str:
    """The chapter's most distinctive terms (frequent here, rare in the other chapters; a recurring pair of words
    such as "round robin" counts as one term), in the order spoken."""
    from collections import Counter

    mine = Counter(t for text in texts for t in _terms(text))
    if not mine:
        return ""
    df = Counter(t for chunk in others for t in {term for text in chunk for term in _terms(text)})
    n = len(others) + 1
    score = {t: c * math.log((n + 1) / (1 + df[t])) * (1.5 if " " in t else 1.0)
             for t, c in mine.items() if c > 1 or len(mine) < 12}
    picked: list[str] = []
    for t in sorted(score, key=lambda t: (-score[t], t)):
        words = set(t.split())
        if any(words & set(p.split()) for p in picked):
            continue
        picked.append(t)
        if len(picked) == TITLE_WORDS:
            break
    spoken = " ".join(" ".join(tokens(text)) for text in texts)
    picked.sort(key=lambda t: spoken.find(t) if t in spoken else len(spoken))
    surface = {fold(w): w for text in texts for w in _SURFACE.findall(text)}
    return " · ".join(" ".join(surface.get(w, w) for w in t.split()) for t in picked)


def topic_chapters(sentences: Sequence, duration: float) -> list[Chapter]:
    """Chapters of a lecture without slide titles. `sentences`: rows with start_s, end_s, text and an e5
    `vector` (numpy), in time order. Boundaries are the deepest TextTiling dips (deeper than the mean depth by
    half a standard deviation) of word repetition and meaning between the sentences on either side, at least
    MIN_TOPIC_S apart; fewer than two chapters is none."""
    rows = [s for s in sentences if s["vector"] is not None and (s["text"] or "").strip()]
    if len(rows) < 2 * TOPIC_WINDOW or duration < 2 * MIN_TOPIC_S:
        return []
    vecs = np.stack([_unit(np.asarray(s["vector"], dtype=np.float32)) for s in rows])
    words = _word_vectors([s["text"] or "" for s in rows])
    # word repetition carries the decision; e5 breaks near-ties
    depth = _depths(_similarities(words, TOPIC_WINDOW)) + _depths(_similarities(vecs, TOPIC_WINDOW))
    cand = depth[1:]
    cutoff = float(cand.mean() + cand.std() / 2)
    starts = [float(s["start_s"]) for s in rows]
    pause = [0.0] + [min(max(starts[i] - float(rows[i - 1]["end_s"]), 0.0), PAUSE_S) / PAUSE_S
                     for i in range(1, len(rows))]
    chosen: list[int] = []
    for i in sorted(range(1, len(rows)), key=lambda i: -(depth[i] + PAUSE_WEIGHT * pause[i])):
        if depth[i] <= cutoff or depth[i] <= 0:
            break
        t = starts[i]
        if t < MIN_TOPIC_S or duration - t < MIN_TOPIC_S:
            continue
        if all(abs(t - starts[j]) >= MIN_TOPIC_S for j in chosen):
            chosen.append(i)
    if not chosen:
        return []
    bounds = [0, *sorted(chosen), len(rows)]
    chunks = [[s["text"] or "" for s in rows[a:b]] for a, b in zip(bounds, bounds[1:])]
    out = []
    for k, (a, b) in enumerate(zip(bounds, bounds[1:])):
        start = 0.0 if k == 0 else starts[a]
        end = duration if b == len(rows) else starts[b]
        title = _title(chunks[k], chunks[:k] + chunks[k + 1:]) or f"Part {k + 1}"
        out.append(Chapter(start, end, title))
    return out


def lecture_chapters(catalog, lec) -> list[Chapter]:
    """A video or audio lecture's chapters: by slide title where its slides have titles, else by topic shifts
    in its transcript. `catalog` gives `slides(id)` and `sentence_vectors(id)`; `lec` is a lecture row."""
    if lec["kind"] == "pdf":
        return []
    duration = float(lec["duration"] or 0.0)
    by_slide = chapters(catalog.slides(lec["id"]), duration)
    if any(c.title != UNTITLED for c in by_slide):
        return by_slide
    return topic_chapters(catalog.sentence_vectors(lec["id"]), duration)
