"""Latent terms (e5's sparse head): made for every sentence and slide at ingest, added to an index made before
them, asked for a question only when no candidate shares half its words, and counted as coverage in any
language."""
from __future__ import annotations

import numpy as np
from helpers import connect, reingest_emptied, scalar


def test_latent_terms_cover_a_question_in_another_language(models):
    from lecturefind.rank.searcher import Anchor, Searcher
    from lecturefind.words import coverage, stems

    emb = models.embedder
    question = "how much is the vector stretched, and what is that number called?"
    said = Anchor(0.0, 4.0, "Der Streckungsfaktor heißt Eigenwert.", None, "sentence")
    aside = Anchor(4.0, 9.0, "Das Wort eigen ist Deutsch und bedeutet so viel wie selbst oder zugehörig.", None,
                   "sentence")
    for a in (said, aside):
        a.latent = emb.latent(a.text)
        assert a.latent is not None and 0 < len(a.latent) <= 256
        assert abs(float(np.linalg.norm(a.latent["weight"].astype(np.float32))) - 1.0) < 1e-2
    # many at once (a text per core, as ingest makes them): the same terms, in order, none for an empty text
    many = emb.latents([said.text, "  ", aside.text])
    assert many[1] is None and [m.tobytes() for m in (many[0], many[2])] == [said.latent.tobytes(),
                                                                             aside.latent.tobytes()]
    words = stems(question)
    cov_of = lambda text: coverage(words, text)     # noqa: E731
    assert cov_of(said.text) == cov_of(aside.text) == 0.0                # not one word in common
    asked = (None, None, emb.latent_query(question))
    assert Searcher._coverage(cov_of, said, asked) > 0.05                # the sentence that answers it
    assert Searcher._coverage(cov_of, aside, asked) == 0.0               # the one beside it: below the floor
    assert Searcher._coverage(cov_of, said, (None, None, None)) == 0.0   # not asked for: words alone
    unrelated = (None, None, emb.latent_query("what is the worst-case running time of quicksort?"))
    assert Searcher._coverage(cov_of, said, unrelated) == 0.0


def test_every_sentence_and_slide_has_latent_terms_and_an_older_index_gains_them(index_copy, models):
    from lecturefind.index.catalog import Catalog

    conn = connect(index_copy)
    texts = {t: scalar(conn, f"SELECT COUNT(*) FROM {t} WHERE text <> ''") for t in ("sentences", "slides")}
    made = {t: scalar(conn, f"SELECT COUNT(*) FROM {t} WHERE length(latent) > 0") for t in texts}
    assert made == texts and min(texts.values()) > 0
    blobs = {t: conn.execute(f"SELECT id, latent FROM {t} ORDER BY id").fetchall() for t in texts}
    # a PDF page's segment reads its page's terms
    cat = Catalog(index_copy, readonly=True)
    pages = cat.q("SELECT s.id FROM segments s JOIN lectures l ON l.id = s.lecture_id WHERE l.kind = 'pdf'")
    assert pages and all(r["latent"] for r in cat.segments([p[0] for p in pages]))
    key = cat.results_key()
    cat.close()
    conn.close()
    rep = reingest_emptied(index_copy, models, [f"UPDATE {t} SET latent = NULL" for t in texts])  # an older index
    assert rep.unchanged == rep.files and not rep.errors and rep.stage_seconds["latent"] > 0
    conn = connect(index_copy)
    assert {t: conn.execute(f"SELECT id, latent FROM {t} ORDER BY id").fetchall() for t in texts} == blobs
    conn.close()
    cat = Catalog(index_copy, readonly=True)
    assert cat.results_key() != key and cat.latent_owed() == 0     # the web app's kept answers are retired
    cat.close()


def test_latent_terms_that_fail_are_one_line_and_owed_to_the_next_run(index_copy, models, monkeypatch):
    from lecturefind.index.catalog import Catalog

    def broken(text):
        raise RuntimeError("sparse head gone")

    monkeypatch.setattr(models.embedder, "latent", broken)
    rep = reingest_emptied(index_copy, models, ["UPDATE sentences SET latent = NULL"])
    assert len(rep.errors) == 1 and "latent terms of" in rep.errors[0] and "sparse head gone" in rep.errors[0]
    cat = Catalog(index_copy, readonly=True)
    owed = cat.latent_owed()
    cat.close()
    assert owed > 0
    monkeypatch.undo()
    rep = reingest_emptied(index_copy, models, [])
    cat = Catalog(index_copy, readonly=True)
    assert not rep.errors and cat.latent_owed() == 0
    cat.close()


def test_latent_terms_are_asked_for_only_when_no_candidate_shares_half_the_words(searcher, monkeypatch):
    asked: list[str] = []
    emb = searcher.models.embedder
    real = emb.latent_query
    monkeypatch.setattr(emb, "latent_query", lambda text: asked.append(text) or real(text))
    top = searcher.search_text("where did we derive the eigenvalue condition?", k=3)
    assert top and not asked                                        # its words are on the slide
    paraphrase = "why can only a single gadget talk on the common cable at any moment"
    top = searcher.search_text(paraphrase, k=3)
    assert asked == [paraphrase] and top[0].lecture.startswith("lecture02"), top[0]


def test_an_older_index_on_read_only_storage_is_searched_without_latent_terms(index_copy, models, monkeypatch):
    import sqlite3

    from lecturefind.index.catalog import Catalog
    from lecturefind.rank.searcher import Searcher

    conn = connect(index_copy)                          # as a version before latent terms left it
    for table in ("sentences", "slides"):
        conn.execute(f"DROP INDEX {table}_latent_owed")
        conn.execute(f"ALTER TABLE {table} DROP COLUMN latent")
    conn.commit()
    conn.close()
    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda path, *a, **kw: real(f"file:{path}?mode=ro", *a, uri=True, **kw))
    s = Searcher(index_copy, models=models)            # the reader cannot add the column
    try:
        assert not s.catalog._latent
        top = s.search_text("why can only a single gadget talk on the common cable at any moment", k=1)[0]
        assert top.lecture.startswith("lecture02"), top
    finally:
        s.close()
    monkeypatch.undo()
    cat = Catalog(index_copy)                           # a writer adds it: the next ingest makes them
    try:
        assert cat._latent and cat.latent_owed() > 0
    finally:
        cat.close()
