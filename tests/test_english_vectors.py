"""The English model's vectors: made for English text at ingest, added to an index made before them, and
searched beside e5."""
from __future__ import annotations

from helpers import SAMPLE, connect, reingest_emptied, scalar


def test_an_index_without_english_vectors_gains_them(index_copy, models):
    from lecturefind.index.vectors import VectorStore
    from lecturefind.rank.searcher import Searcher

    conn = connect(index_copy)
    made = scalar(conn, "SELECT COUNT(*) FROM sentences WHERE length(embedding_en) > 0")
    total = scalar(conn, "SELECT COUNT(*) FROM sentences")
    assert made == total > 0           # English lectures: every sentence has one
    conn.close()
    rep = reingest_emptied(index_copy, models, [f"UPDATE {table} SET embedding_en = NULL"     # as an older
                                                for table in ("segments", "sentences", "slides")])  # version left it
    assert rep.unchanged == rep.files and not rep.errors
    conn = connect(index_copy)
    assert scalar(conn, "SELECT COUNT(*) FROM sentences WHERE length(embedding_en) > 0") == made
    with_en = scalar(conn, "SELECT COUNT(*) FROM segments WHERE length(embedding_en) > 0")
    conn.close()
    from lecturefind.index.catalog import Catalog

    cat = Catalog(index_copy, readonly=True)
    try:
        assert VectorStore(index_copy, "vectors_en", "embedding_en").load(cat).ntotal == with_en > 0
    finally:
        cat.close()
    s = Searcher(index_copy, models=models)
    try:
        top = s.search_text("why can only a single gadget talk on the common cable at any moment", k=1)[0]
    finally:
        s.close()
    assert top.lecture.startswith("lecture02"), top


def test_an_english_store_left_a_generation_behind_by_a_kill_is_repaired_by_the_next_run(index_copy, models):
    """A SIGKILL between the catalog commit and the English store's write leaves vectors_en.faiss one generation
    behind with vectors missing; the next ingest run (nothing to do) brings it back to the catalog."""
    import os

    import faiss
    import numpy as np
    from helpers import index_problems

    from lecturefind.ingest.pipeline import Ingestor

    path = os.path.join(index_copy, "vectors_en.faiss")
    index = faiss.read_index(path)
    ids = faiss.vector_to_array(faiss.downcast_index(index).id_map)
    index.remove_ids(np.asarray(ids[: len(ids) // 2], dtype=np.int64))       # the half written before the kill
    faiss.write_index(index, path)
    conn = connect(index_copy)
    gen = int(scalar(conn, "SELECT value FROM meta WHERE key='generation'"))
    conn.close()
    with open(path + ".generation", "w") as f:
        f.write(str(gen - 1))
    assert any("vectors_en.faiss" in p for p in index_problems(index_copy))
    ing = Ingestor(index_copy, models=models, log=lambda line: None)
    rep = ing.ingest([SAMPLE])
    ing.close()
    assert rep.unchanged == rep.files and not rep.errors
    assert index_problems(index_copy) == []


def test_questions_are_embedded_on_one_thread_each_with_the_vectors_of_a_batch(models):
    """The query pool's threads run e5 on one OpenMP thread (other threads keep theirs) and MiniLM on its
    one-thread session; the vectors are those the batch path makes."""
    import threading

    import numpy as np

    from lecturefind.rank.searcher import _EMBED_POOL
    from lecturefind.signals.embed import engine_openmp, one_thread_per_query

    gomp = engine_openmp()[0]
    here = gomp.omp_get_max_threads()
    seen: list[int] = []
    worker = threading.Thread(target=lambda: (one_thread_per_query(), seen.append(gomp.omp_get_max_threads())))
    worker.start()
    worker.join()
    assert seen == [1]
    assert gomp.omp_get_max_threads() == here        # only the pool's threads are limited
    assert _EMBED_POOL.submit(gomp.omp_get_max_threads).result() == 1

    text = "why can only a single gadget talk on the common cable at any moment"
    e5 = _EMBED_POOL.submit(models.embedder.query, text + " (e5)").result()
    assert np.allclose(e5, models.embedder.model.query(text + " (e5)"), atol=1e-6)
    en = _EMBED_POOL.submit(models.english.query, text).result()
    batch = models.english.passages([text])[0]
    assert {n: s.get_session_options().intra_op_num_threads for n, s in models.english._sessions.items()} == \
        {1: 1, 2: 2}                                    # questions on one thread, batches on two
    assert np.allclose(en, batch, atol=1e-5)
