"""The in-memory BM25 (`index/bm25.py`) ranks exactly as SQLite FTS5's bm25() does, over real lecture text in
several languages; it is used only while its file holds the catalog's texts, and FTS5 answers otherwise."""
from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from helpers import index_problems, spoken_lecture

from lecturefind.index.bm25 import FILE, Bm25Cache, Bm25Index, doc_terms
from lecturefind.index.catalog import Catalog
from lecturefind.rank.query import Query
from lecturefind.rank.retrievers.lexical import LexicalRetriever
from lecturefind.words import fts_query, fts_terms

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OTHER = {
    "es": ["Las matrices simétricas tienen autovalores reales.", "La ecuación característica se obtiene del "
           "determinante de la matriz.", "Hoy vemos el material del curso y las tareas de álgebra."],
    "de": ["Die Größe der Matrix bestimmt den Aufwand.", "Eigenwerten entsprechen Nullstellen des Polynoms.",
           "Die Matrix ist symmetrisch, also sind die Eigenwerte reell."],
    "fr": ["Les équations différentielles du second ordre.", "La dérivée de la fonction exponentielle."],
    "pt": ["As funções contínuas num intervalo fechado.", "As equações lineares e as matrizes inversas."],
    # characters that folding turns into a separator, a capital or a final sigma: FTS5 splits and folds them
    "el": ["Η συνάρτησις ½x² στο ⑴ και ᴬβ.", "Ἡ ἀπόδειξις τῆς ἰδιοτιμῆς ½ ⑵."],
    # short texts that score alike: ties, broken by id
    "en": ["Eigenvalues.", "Eigenvalues.", "Eigenvalues.", "Eigenvalues and eigenvectors.", "Eigenvalues."],
}


def _sample_texts() -> list[str]:
    with open(os.path.join(ROOT, "examples", "sample-course", "ground_truth.json")) as f:
        gt = json.load(f)
    out = []
    for v in gt["videos"]:
        for s in v["slides"]:
            out += [s["visible_text"], s["spoken_text"]]
    for p in gt["pdfs"]:
        out += [pg["visible_text"] for pg in p["pages"]]
    return [t for t in out if t.strip()]


def _questions(texts: list[str]) -> list[str]:
    """Questions made of the texts' own words: fragments of 1 to 6 words from everywhere in them."""
    out = ["where did we derive the eigenvalue condition?", "¿qué es una matriz simétrica?", "Eigenwert Matrix",
           "équation dérivée", "funções contínuas", "determinant", "no such word anywhere zzzq", "eigenvalues",
           "½ συνάρτησις", "⑴ ᴬβ", "ἀπόδειξις ἰδιοτιμῆς"]
    for i, t in enumerate(texts):
        words = re.findall(r"\w+", t)
        for j in range(2 if words else 0):
            n = 1 + (i + 3 * j) % 6
            start = (i * 7 + j * 11) % max(1, len(words) - n + 1)
            out.append(" ".join(words[start:start + n]))
    return out


def _fts5_ranking(cat: Catalog, text: str, languages: list[str]) -> list[int]:
    """FTS5's ranking with ties put in id order, the in-memory index's tie rule (FTS5 leaves ties unordered)."""
    match = fts_query(fts_terms(text, languages))
    if not match:
        return []
    rows = cat.q("SELECT rowid, bm25(segments_fts) FROM segments_fts WHERE segments_fts MATCH ?", (match,))
    return [r[0] for r in sorted(rows, key=lambda r: (round(r[1], 9), r[0]))]


@pytest.fixture()
def catalog(tmp_path):
    cat = Catalog(str(tmp_path / "idx"))
    texts = _sample_texts()
    for k in range(0, len(texts), 10):
        spoken_lecture(cat, f"sample{k}", "en", texts[k:k + 10])
    for lang, t in OTHER.items():
        spoken_lecture(cat, f"lecture-{lang}", lang, t)
    yield cat
    cat.close()


def test_in_memory_bm25_ranks_every_question_as_fts5_does(catalog):
    index = Bm25Cache.of(catalog.index_dir).refresh(catalog)
    assert index is not None and index.n == catalog.segment_count() > 40
    languages = catalog.languages()
    texts = _sample_texts() + [t for ts in OTHER.values() for t in ts]
    questions = _questions(texts)
    assert len(questions) > 100
    compared = phrases = 0
    for q in questions:
        want = _fts5_ranking(catalog, q, languages)
        stems_ = [s for g in fts_terms(q, languages) for s in g]
        got = index.search(stems_, 1000)
        if got is None:                 # a stem FTS5 reads as a phrase of two tokens (½ → "1⁄2"): FTS5 answers
            assert any(len(doc_terms(s)) > 1 for s in stems_), q
            ranked = LexicalRetriever(catalog, memory=Bm25Cache.of(catalog.index_dir)).rank(Query(text=q), 1000)
            assert [h.segment_id for h in ranked] == want, q
            phrases += 1
            continue
        assert got == want, q
        assert index.search(stems_, 3) == want[:3], q            # the cut falls among ties: by id too
        compared += bool(want)
    assert phrases >= 1
    assert compared > 100          # nearly every question finds something, and the same things in the same order
    for q in ("eigenvalue", "Matrix"):      # document counts are FTS5's too
        for stem in {s for g in fts_terms(q, languages) for s in g}:
            assert index.doc_count(stem) == catalog.term_doc_counts([stem]).get(stem, 0)


def test_the_file_is_used_only_while_it_holds_the_catalogs_texts(catalog, tmp_path):
    cache = Bm25Cache.of(catalog.index_dir)
    retr = LexicalRetriever(catalog, memory=cache)
    assert cache.get(catalog) is None                        # no file yet: FTS5 answers
    fts_top = [h.segment_id for h in retr.rank(Query(text="eigenvalue matrix"))]
    assert fts_top and retr._mem is None
    cache.refresh(catalog)                                  # written after the generation's commit, as ingest does
    path = os.path.join(catalog.index_dir, FILE)
    shutil.copy(path, tmp_path / "old.idx")
    assert [h.segment_id for h in retr.rank(Query(text="eigenvalue matrix"))] == fts_top
    assert retr._mem is not None                            # the same retriever picks it up
    assert index_problems(catalog.index_dir) == []

    # a new lecture: the file is behind until refreshed; meanwhile FTS5 finds the new words
    new = spoken_lecture(catalog, "hessian", "en", ["The Hessian matrix of second derivatives decides convexity."])
    assert cache.get(catalog) is None
    assert any("bm25.idx is stamped" in p for p in index_problems(catalog.index_dir))
    retr = LexicalRetriever(catalog, memory=cache)
    assert retr.rank(Query(text="Hessian convexity"))[0].segment_id == new[0] and retr._mem is None
    cache.refresh(catalog)
    retr = LexicalRetriever(catalog, memory=cache)
    assert retr.rank(Query(text="Hessian convexity"))[0].segment_id == new[0] and retr._mem is not None
    assert index_problems(catalog.index_dir) == []

    # the lecture re-ingested with other words, and an old file put back: neither is mistaken for the texts now
    spoken_lecture(catalog, "hessian", "en", ["Gradient descent with a fixed step size."])
    shutil.copy(tmp_path / "old.idx", path)
    cache.index = None
    assert cache.get(catalog) is None
    assert LexicalRetriever(catalog, memory=cache).rank(Query(text="Hessian convexity")) == []
    assert cache.refresh(catalog) is not None and cache.get(catalog) is not None
    assert LexicalRetriever(catalog, memory=cache).rank(Query(text="Hessian convexity")) == []


def test_a_damaged_file_is_not_read(tmp_path):
    path = str(tmp_path / FILE)
    for data in (b"", b"LFBM25\x01\n" + (10**9).to_bytes(8, "little"), os.urandom(300)):
        with open(path, "wb") as f:
            f.write(data)
        assert Bm25Index.load(path) is None


@pytest.mark.parametrize("terms_at_a_time", [7, 4096])     # merged in many chunks of terms, or in one
def test_an_ingest_updates_the_file_in_place_of_a_rebuild_and_gets_what_a_rebuild_gets(catalog, monkeypatch,
                                                                                       terms_at_a_time):
    from lecturefind.index import bm25

    monkeypatch.setattr(bm25, "_MERGE_TERMS", terms_at_a_time)
    cache = Bm25Cache.of(catalog.index_dir)
    cache.refresh(catalog)
    merged = []
    updated = Bm25Index.updated
    monkeypatch.setattr(Bm25Index, "updated", lambda self, *a: merged.append(1) or updated(self, *a))
    # a lecture re-ingested with other words (its segments removed, new ones added), and a new one
    spoken_lecture(catalog, "lecture-fr", "fr", ["Les matrices orthogonales conservent les longueurs.",
                                                 "Une rotation."])
    spoken_lecture(catalog, "hessian", "en", ["The Hessian matrix of second derivatives decides convexity.",
                                              "Eigenvalue signs of the Hessian: a saddle point."])
    index = cache.refresh(catalog)
    assert merged == [1] and index is not None and index.key == catalog.texts_key()
    whole = Bm25Index.build(catalog.texts_key(), catalog.fts_rows())
    assert sorted(index.ids.tolist()) == sorted(whole.ids.tolist()) == catalog.segment_ids().tolist()
    assert index.vocab.keys() >= whole.vocab.keys()             # words of removed segments may stay, with no postings
    languages = catalog.languages()
    texts = _sample_texts() + [t for ts in OTHER.values() for t in ts] + ["Hessian saddle rotation orthogonales"]
    for q in _questions(texts):
        stems_ = [s for g in fts_terms(q, languages) for s in g]
        got = index.search(stems_, 1000)
        assert got == whole.search(stems_, 1000), q
        assert got is None or got == _fts5_ranking(catalog, q, languages), q
        assert [index.doc_count(s) for s in stems_] == [whole.doc_count(s) for s in stems_]
    assert cache.get(catalog) is not None and index_problems(catalog.index_dir) == []
