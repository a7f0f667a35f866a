"""`ingest --backend gemini` / `search --backend gemini` end to end, through the real SDK and a fake server."""
from __future__ import annotations

import io
import json
import os
import sqlite3

import av
import pytest
from click.testing import CliRunner

from testing.gemini_fake import FakeGemini, b64decode_any

KEY = "AIzaSyFAKE-cli-key_9876543210zyxwvutsrqp"


@pytest.fixture(scope="module")
def fake():
    f = FakeGemini().start()
    yield f
    f.stop()


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> str:
    """40 s of testsrc (a running timer) with a gliding tone, so every clip's bytes differ."""
    import subprocess

    from lecturefind.media.ffmpeg import ffmpeg_exe

    out = str(tmp_path_factory.mktemp("gem-media") / "synthetic_lecture.mp4")
    subprocess.run([ffmpeg_exe(), "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10:duration=40",
                    "-f", "lavfi", "-i", "aevalsrc=sin(2*PI*(220+5*t)*t):s=16000:d=40",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", out],
                   check=True, capture_output=True)
    return out


@pytest.fixture
def cli(fake, monkeypatch, request):
    """Run the CLI in-process with the fake server; tests marked `models` share the session's models, the others
    get a lazy holder that fails if they load a model (conftest's guard)."""
    import lecturefind.ingest.pipeline as pipeline
    import lecturefind.rank.searcher as searcher
    from lecturefind.cli import main
    from lecturefind.ml_models import MLModels

    models = request.getfixturevalue("models") if request.node.get_closest_marker("models") else MLModels()
    monkeypatch.setattr(pipeline, "MLModels", lambda *jobs: models)
    monkeypatch.setattr(searcher, "MLModels", lambda: models)
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.delenv("LECTUREFIND_BACKEND", raising=False)
    fake.requests.clear()
    fake.faults.clear()

    def run(*args: str, env=None):
        r = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        out = r.output + (r.stderr if r.stderr_bytes is not None else "")
        assert KEY not in out
        return r.exit_code, out

    return run


def key_of_segment(conn, segment_id: int, keys: list[str], dims: int) -> str:
    """Which of the fake's content keys made this segment's stored vector (calls run concurrently: by vector)."""
    import numpy as np

    from testing.gemini_fake import vector_for

    stored = np.frombuffer(conn.execute("SELECT vec FROM gemini_segments WHERE segment_id=?",
                                        (segment_id,)).fetchone()[0], np.float32)
    (key,) = [k for k in keys if abs(float(stored @ np.asarray(vector_for(k, dims), np.float32))
                                     / np.linalg.norm(vector_for(k, dims)) - 1.0) < 1e-4]
    return key


def test_dry_run_sends_nothing(cli, fake, video, tmp_path):
    from lecturefind.segment.planner import plan_clips

    idx = str(tmp_path / "idx")
    code, out = cli("ingest", video, "--index", idx, "--backend", "gemini", "--dry-run", "--dims", "768")
    assert code == 0, out
    spans = plan_clips(40.0, [], max_len=80.0)
    assert f"{len(spans)} inputs to embed" in out
    assert f"requests: {len(spans)} " in out                         # one video per request
    assert f"video: {sum(s.duration for s in spans):.0f}s" in out
    assert "estimated cost: $" in out and "nothing was sent" in out
    assert fake.requests == [] and not os.path.exists(os.path.join(idx, "catalog.sqlite"))


def test_offline_flags_need_gemini(cli, video, tmp_path):
    code, out = cli("ingest", video, "--index", str(tmp_path / "i"), "--dry-run")
    assert code == 2 and "--backend gemini" in out


def test_missing_key(cli, video, tmp_path):
    code, out = cli("ingest", video, "--index", str(tmp_path / "i"), "--backend", "gemini",
                    env={"GEMINI_API_KEY": None, "GOOGLE_API_KEY": None})
    assert code == 1 and "GEMINI_API_KEY or GOOGLE_API_KEY" in out


@pytest.mark.models
def test_ingest_and_search_end_to_end(cli, fake, video, tmp_path):
    idx = str(tmp_path / "idx")
    code, out = cli("ingest", video, "--index", idx, "--backend", "gemini", "-q", "--dims", "1536")
    assert code == 0, out
    assert "gemini: " in out and "requests" in out
    calls = fake.embed_calls()
    conn = sqlite3.connect(os.path.join(idx, "catalog.sqlite"))
    seg_ids = [r[0] for r in conn.execute("SELECT id FROM segments ORDER BY id")]
    assert len(calls) == len(seg_ids) >= 2                     # one request per clip
    clip_keys = []
    for call in calls:
        (req,) = call.json["requests"]                           # one content per clip
        (part,) = req["content"]["parts"]
        assert req["outputDimensionality"] == 1536
        assert part["inline_data"]["mime_type"] == "video/mp4"
        data = b64decode_any(part["inline_data"]["data"])
        with av.open(io.BytesIO(data)) as c:
            assert c.streams.audio, "clip sent without its audio track"
            v = c.streams.video[0]
            assert v.codec_context.height <= 480
            assert c.duration / 1e6 <= 80.0
        clip_keys.append(fake.seed_key(req["content"]))
    rows = conn.execute("SELECT segment_id, dims, length(vec) FROM gemini_segments ORDER BY segment_id").fetchall()
    assert [r[0] for r in rows] == seg_ids and all(r[1] == 1536 and r[2] == 1536 * 4 for r in rows)

    # re-ingest: unchanged file, every clip cached -> 0 requests
    fake.requests.clear()
    code, out = cli("ingest", video, "--index", idx, "--backend", "gemini", "-q", "--dims", "1536")
    assert code == 0 and fake.requests == [], out
    assert "gemini: 0 requests" in out

    # a question the fake maps onto the 2nd clip's vector
    target = seg_ids[1]
    fake.alias("when does the timer pass twenty seconds", key_of_segment(conn, target, clip_keys, 1536))
    code, out = cli("search", "when does the timer pass twenty seconds", "--index", idx, "--json",
                    env={"LECTUREFIND_BACKEND": "gemini"})
    assert code == 0, out
    results = json.loads(out[out.index("["):])
    t_start, t_end = conn.execute("SELECT start_s, end_s FROM segments WHERE id=?", (target,)).fetchone()
    top = results[0]                                      # overlapping clips merge into one moment
    assert top["segment_id"] == target or (top["start_s"] <= t_start + 0.5 and top["end_s"] >= t_end - 0.5)
    from lecturefind.gemini.retriever import GeminiRetriever, GeminiSpace
    from lecturefind.rank.query import Query

    space = GeminiSpace(idx)
    ranking = GeminiRetriever(space, "text").rank(Query(text="when does the timer pass twenty seconds"))
    assert ranking[0].segment_id == target                       # the Gemini ranking itself
    space.close()
    (q,) = fake.embed_calls()[-1].json["requests"]
    assert q["outputDimensionality"] == 1536                     # the index's dims, not the default
    assert q["content"]["parts"][0]["text"].startswith("task: search result | query: ")

    # the offline backend still works on the same index and sends nothing
    fake.requests.clear()
    code, out = cli("search", "when does the timer pass twenty seconds", "--index", idx, "--json")
    assert code == 0 and fake.requests == []


@pytest.mark.models
def test_offline_ingest_unchanged_without_key(cli, fake, video, tmp_path):
    code, out = cli("ingest", video, "--index", str(tmp_path / "off"), "-q",
                    env={"GEMINI_API_KEY": None, "GOOGLE_API_KEY": None})
    assert code == 0, out
    assert fake.requests == [] and "gemini" not in out


@pytest.mark.models
def test_search_falls_back_to_offline_signals_when_gemini_is_down(cli, fake, tmp_path):
    """An index with Gemini vectors, then the endpoint unreachable: the search answers from the offline
    rankings within seconds and says that the Gemini view was unavailable (once)."""
    import time

    from helpers import LECTURE1

    from testing.servers import free_port

    idx = str(tmp_path / "idx")
    code, out = cli("ingest", LECTURE1, "--index", idx, "--backend", "gemini", "-q", "--dims", "768")
    assert code == 0, out
    question = "where did we derive the eigenvalue condition?"
    offline_code, offline = cli("search", question, "--index", idx, "--json")
    assert offline_code == 0
    dead = f"http://127.0.0.1:{free_port()}"                       # nothing listens there
    t0 = time.perf_counter()
    code, out = cli("search", question, "--index", idx, "--json",
                    env={"LECTUREFIND_BACKEND": "gemini", "GOOGLE_GEMINI_BASE_URL": dead})
    took = time.perf_counter() - t0
    assert code == 0, out
    print(f"search with Gemini unreachable answered in {took:.2f} s")     # shown with -s (closing notes)
    assert took < 15, took
    warned = {line for line in out.splitlines() if "the Gemini view is unavailable" in line}
    assert len(warned) == 1 and KEY not in out, out          # (the runner's output repeats stderr)
    def parse(text):                                   # the JSON list, whatever stderr lines surround it
        return json.JSONDecoder().raw_decode(text[text.index("\n[") + 1 if not text.startswith("[") else 0:])[0]

    results = parse(out)
    assert results and [r["segment_id"] for r in results] == [r["segment_id"] for r in parse(offline)]


@pytest.mark.models
def test_failed_gemini_calls_are_reported_alike_and_retried(cli, fake, video, tmp_path):
    """Every Gemini call fails: ingest says 1 failed and status agrees (the file is searchable offline); the next
    run retries the missing vectors although the file is unchanged, and then nothing is failed any more."""
    idx = str(tmp_path / "idx")
    fake.fail(500, times=200, message="backend error")
    code, out = cli("ingest", video, "--index", idx, "--backend", "gemini", "-q", "--dims", "768",
                    env={"LECTUREFIND_GEMINI_MAX_ATTEMPTS": "1"})
    assert code == 1 and "1 failed" in out, out
    code, status = cli("status", "--index", idx)
    assert "1 failed files" in status and "searchable with the offline signals" in status, status
    fake.faults.clear()
    fake.requests.clear()
    code, out = cli("ingest", video, "--index", idx, "--backend", "gemini", "-q", "--dims", "768")
    assert code == 0 and "1 unchanged" in out and fake.embed_calls(), out
    code, status = cli("status", "--index", idx)
    assert "0 failed files" in status, status
    conn = sqlite3.connect(os.path.join(idx, "catalog.sqlite"))
    assert conn.execute("SELECT COUNT(*) FROM gemini_segments").fetchone()[0] == \
        conn.execute("SELECT COUNT(*) FROM segments").fetchone()[0]


@pytest.mark.models
def test_gemini_vectors_in_milvus_are_searched_there_kept_in_step_and_rebuilt_by_reindex(cli, fake, video, tmp_path):
    """With `--store milvus` the Gemini vectors also go to a Milvus collection at the index's Matryoshka size;
    Gemini searches run there; a collection behind the catalog is repaired by the next ingest; `reindex`
    rebuilds it from the catalog."""
    from lecturefind.gemini.retriever import GeminiRetriever, GeminiSpace
    from lecturefind.gemini.store import MilvusGeminiStore
    from lecturefind.index.catalog import Catalog
    from lecturefind.index.milvus import GEMINI, MilvusStore
    from lecturefind.index.store import store_spec
    from lecturefind.rank.query import Query

    idx = str(tmp_path / "idx")
    code, out = cli("ingest", video, "--index", idx, "--backend", "gemini", "-q", "--dims", "768",
                    "--store", "milvus")
    assert code == 0, out
    keys = [fake.seed_key(c.json["requests"][0]["content"]) for c in fake.embed_calls()]
    cat = Catalog(idx, readonly=True)
    spec = store_spec(cat, idx)
    coll = MilvusStore(spec, cat, GEMINI)
    want = cat.gemini_ids()
    assert spec.kind == "milvus" and len(want) >= 2
    assert coll._stored_ids() == want and coll.in_step(cat)
    assert coll._properties()["lecturefind.dim"] == "768"

    conn = sqlite3.connect(os.path.join(idx, "catalog.sqlite"))
    target = sorted(want)[1]
    fake.alias("when does the timer pass twenty seconds", key_of_segment(conn, target, keys, 768))
    space = GeminiSpace(idx)
    try:
        assert isinstance(space.store, MilvusGeminiStore)
        ranking = GeminiRetriever(space, "text").rank(Query(text="when does the timer pass twenty seconds"))
        assert ranking and ranking[0].segment_id == target and ranking[0].score > 0.99
    finally:
        space.close()

    # a run killed after the catalog got its Gemini vectors, before the collection did: the next ingest repairs it
    coll._delete(sorted(want)[:1])
    coll._flush()
    assert coll._stored_ids() == want - {sorted(want)[0]}
    coll._stamp(-1, cat, 768)
    code, out = cli("ingest", video, "--index", idx, "--backend", "gemini", "-q", "--dims", "768")
    assert code == 0 and "1 unchanged" in out, out
    assert coll._stored_ids() == want and coll.in_step(cat)

    code, out = cli("reindex", "--index", idx)
    assert code == 0 and f"{len(want)} Gemini vectors" in out, out
    assert coll._stored_ids() == want
    cat.close()
    conn.close()
