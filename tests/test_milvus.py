"""The Milvus store (Milvus Lite: the same client code as a Milvus server, only the URI differs): built from the
catalog, ingested into, searched like FAISS, repaired after a kill between the catalog commit and the store
write, refused when it does not match the catalog, and a clear line when unreachable."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from helpers import GT, LECTURE1, LECTURE2, connect, cut, gt_slide, run_cli, scalar

pytestmark = pytest.mark.models

def milvus_ids(db: str, name: str) -> list[int]:
    """Every id in a collection, read in a subprocess (Milvus Lite lets one process at a time open a file)."""
    code = ("import sys; from pymilvus import MilvusClient; c = MilvusClient(sys.argv[1]); "
            "c.load_collection(sys.argv[2]); ids = []\n"
            "it = c.query_iterator(sys.argv[2], batch_size=1000, filter='id >= 0', output_fields=['id'])\n"
            "while True:\n b = it.next()\n if not b: break\n ids += [r['id'] for r in b]\n"
            "print(' '.join(map(str, ids)))")
    out = subprocess.run([sys.executable, "-c", code, db, name], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return [int(x) for x in out.stdout.split()]


def catalog_ids(index_dir: str, column: str = "embedding") -> list[int]:
    conn = connect(index_dir)
    try:
        return sorted(r[0] for r in conn.execute(f"SELECT id FROM segments WHERE length({column}) > 0"))
    finally:
        conn.close()


def collection(index_dir: str, suffix: str = "e5") -> str:
    conn = connect(index_dir)
    try:
        name = scalar(conn, "SELECT COALESCE((SELECT value FROM meta WHERE key = 'setting:index_id'), "   # older
                            "(SELECT value FROM meta WHERE key = 'identity'))")
        return f"lf_{name}_{suffix}"
    finally:
        conn.close()


def top(moments) -> tuple:
    m = moments[0]
    return (m.lecture_id, m.page, round(m.start_s or 0.0, 1))


@pytest.fixture(scope="module")
def milvus_index(sample_index, tmp_path_factory) -> str:
    """A copy of the sample index whose store is Milvus Lite, built from the catalog by `reindex`."""
    import shutil

    dst = str(tmp_path_factory.mktemp("milvus") / "index")
    shutil.copytree(sample_index, dst)
    out = run_cli("reindex", "--index", dst, "--store", "milvus")
    assert out.returncode == 0, out.stderr
    assert "milvus:" in out.stdout and "e5" in out.stdout
    return dst


def test_reindex_builds_the_collection_from_the_catalog_and_status_says_so(milvus_index):
    db = os.path.join(milvus_index, "milvus.db")
    for column, suffix in (("embedding", "e5"), ("embedding_en", "en")):
        ids = milvus_ids(db, collection(milvus_index, suffix))
        assert sorted(ids) == catalog_ids(milvus_index, column)       # every vector once, none extra
    assert catalog_ids(milvus_index)
    out = run_cli("status", "--index", milvus_index)
    assert out.returncode == 0, out.stderr
    assert f"store: milvus:{db} collection {collection(milvus_index)} (in step with the catalog)" in out.stdout


def test_sample_questions_get_the_same_top_moment_as_with_faiss(milvus_index, searcher, models):
    from lecturefind.index.milvus import MilvusStore
    from lecturefind.rank.searcher import Searcher

    s = Searcher(milvus_index, models=models)       # the store the index records: Milvus
    try:
        assert isinstance(s.vectors, MilvusStore) and s.lexical.text_store is s.vectors   # BM25 in Milvus too
        questions = [q["text"] for q in GT["questions"]]
        assert len(questions) >= 10
        same = [q for q in questions if top(s.search_text(q, k=5)) == top(searcher.search_text(q, k=5))]
        assert same == questions
    finally:
        s.close()


def test_bm25_in_milvus_finds_a_rare_word(milvus_index, models):
    """Milvus's own BM25 (over the catalog's stems) ranks the one segment holding a word first."""
    from lecturefind.rank.searcher import Searcher
    from lecturefind.words import fts_terms

    s = Searcher(milvus_index, models=models)
    try:
        slide = gt_slide(os.path.basename(LECTURE1), 4)     # The characteristic polynomial
        terms = [t for g in fts_terms("characteristic polynomial") for t in g]
        ids = s.vectors.search_text(terms, 5)
        assert ids, "BM25 found nothing"
        rows = {r["id"]: r for r in s.catalog.segments(ids[:1])}
        text = (rows[ids[0]]["slide_text"] or "") + (rows[ids[0]]["speech"] or "")
        assert "polynomial" in text.lower(), (slide["title"], text[:200])
    finally:
        s.close()


def test_ten_concurrent_web_searches_on_milvus_agree_with_one_at_a_time(milvus_index, models):
    from web_helpers import ask_at_once, make_app

    app = make_app(milvus_index, models, SEARCHERS=4)
    queries = [q["text"] for q in GT["questions"][:10]]
    client = app.test_client()
    alone = {q: client.get("/api/search", query_string={"q": q}).get_json()["results"] for q in queries}
    got = ask_at_once(app, queries)
    for q in queries:
        assert got[q] and [(m["lecture_id"], m["start_s"]) for m in got[q]] == \
            [(m["lecture_id"], m["start_s"]) for m in alone[q]], q


def test_a_store_that_does_not_match_the_catalog_is_refused_with_the_rebuild_command(milvus_index, tmp_path):
    import shutil

    idx = str(tmp_path / "index")
    shutil.copytree(milvus_index, idx)
    db = os.path.join(idx, "milvus.db")
    name = collection(idx)
    for key, value, why in (("lecturefind.dim", "768", "768-d vectors, the catalog's are 384-d"),
                            ("lecturefind.model", "other/model", "vectors of model 'other/model'")):
        code = ("import sys; from pymilvus import MilvusClient; c = MilvusClient(sys.argv[1]); "
                "c.alter_collection_properties(sys.argv[2], properties={sys.argv[3]: sys.argv[4]})")
        subprocess.run([sys.executable, "-c", code, db, name, key, value], check=True, timeout=120)
        out = run_cli("search", "eigenvalue", "--index", idx)
        assert out.returncode == 1
        (line,) = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert line.startswith("Error: Milvus at milvus:") and why in line, line
        assert f"lecturefind reindex --index {idx} --store milvus" in line
        assert "Traceback" not in out.stderr
        fixed = run_cli("reindex", "--index", idx)       # the recorded store, rebuilt
        assert fixed.returncode == 0, fixed.stderr
    out = run_cli("search", "eigenvalue", "--index", idx, "--json")
    assert out.returncode == 0 and '"lecture_id"' in out.stdout


def test_unreachable_milvus_is_one_line_and_the_catalog_is_untouched(index_copy):
    def snapshot():
        conn = connect(index_copy)
        try:
            return conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall(), \
                conn.execute("SELECT path, state, sha256, error FROM files ORDER BY path").fetchall()
        finally:
            conn.close()

    before = snapshot()
    uri = "http://127.0.0.1:9"           # discard port: nothing listens
    out = run_cli("ingest", LECTURE2, "--index", index_copy, "--store", f"milvus+{uri}", "-q",
                  env={"LECTUREFIND_MILVUS_TIMEOUT": "2"}, timeout=120)
    assert out.returncode == 1
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Error: Milvus at milvus+{uri} is unreachable"), lines
    assert snapshot() == before
    bad = run_cli("search", "x", "--index", index_copy, "--store", "milvus:/tmp/no-suffix")
    assert bad.returncode == 1 and "must end in .db" in bad.stderr


def test_milvus_lite_file_open_in_another_process_is_a_plain_reason(index_copy):
    assert run_cli("reindex", "--index", index_copy, "--store", "milvus").returncode == 0
    db = os.path.join(index_copy, "milvus.db")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pymilvus import MilvusClient; "
                               "MilvusClient(sys.argv[1]); print('open', flush=True); time.sleep(60)", db],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        out = run_cli("search", "eigenvalue", "--index", index_copy)
        assert out.returncode == 1
        assert f"Milvus Lite file {db} is open in another process" in out.stderr
    finally:
        holder.kill()
        holder.wait()


KILL_AFTER_COMMIT = """
import os, signal, sys
from lecturefind.index.milvus import MilvusStore
from lecturefind.ingest.pipeline import Ingestor

def killed(self, *a, **kw):
    os.kill(os.getpid(), signal.SIGKILL)       # the catalog has committed the file; the store never hears of it

MilvusStore.sync = killed
Ingestor(sys.argv[1], store="milvus", log=print).ingest([sys.argv[2]], course="Resume")
"""


def test_ingest_into_milvus_killed_between_catalog_and_store_is_repaired_without_duplicates(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    cut(LECTURE1, str(course / "a_polynomial.mp4"), gt_slide(os.path.basename(LECTURE1), 4)["start_s"], 16.0)
    cut(LECTURE2, str(course / "b_bus.mp4"), gt_slide(os.path.basename(LECTURE2), 1)["start_s"], 16.0)
    idx = str(tmp_path / "index")
    first = run_cli("ingest", str(course / "a_polynomial.mp4"), "--index", idx, "--store", "milvus", "-q",
                    "--course", "Resume", timeout=600)
    assert first.returncode == 0, first.stderr
    n_first = len(catalog_ids(idx))
    db = os.path.join(idx, "milvus.db")
    assert sorted(milvus_ids(db, collection(idx))) == catalog_ids(idx)

    env = dict(os.environ, HF_HUB_OFFLINE="1")
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_COMMIT, idx, str(course / "b_bus.mp4")],
                            capture_output=True, text=True, timeout=600, env=env)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert len(catalog_ids(idx)) > n_first                        # committed in SQLite ...
    assert len(milvus_ids(db, collection(idx))) == n_first        # ... but not in Milvus
    assert "behind the catalog" in run_cli("status", "--index", idx).stdout

    again = run_cli("ingest", str(course), "--index", idx, "-q", "--course", "Resume", timeout=600)
    assert again.returncode == 0, again.stderr
    assert "(0 ingested, 2 unchanged, 0 failed)" in again.stdout, again.stdout
    for column, suffix in (("embedding", "e5"), ("embedding_en", "en")):
        ids = milvus_ids(db, collection(idx, suffix))
        assert len(ids) == len(set(ids)), "a segment written twice"
        assert sorted(ids) == catalog_ids(idx, column)
    out = run_cli("search", "the shared bus", "--index", idx, "--json")
    assert out.returncode == 0 and "b_bus" in out.stdout


def test_several_workers_on_a_milvus_lite_file_are_refused_up_front(milvus_index):
    out = run_cli("serve", "--index", milvus_index, "--workers", "2", "--port", "0", timeout=60)
    assert out.returncode == 1
    assert "Milvus Lite" in out.stderr and "serves one process at a time" in out.stderr
    assert "Traceback" not in out.stderr
