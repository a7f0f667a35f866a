"""Gemini backend client: through the real google-genai SDK against a local fake REST server."""
from __future__ import annotations

import logging
import time

import numpy as np
import pytest

from lecturefind.gemini.client import GeminiEmbedder, l2
from lecturefind.gemini.config import GeminiConfig
from lecturefind.gemini.errors import GeminiError, LimitError, scrub
from lecturefind.gemini.limits import Item, Media, check_item
from testing.gemini_fake import FakeGemini, b64decode_any

KEY = "AIzaSyFAKE-test-key_0123456789abcdefghijk"


@pytest.fixture(scope="module")
def fake():
    f = FakeGemini().start()
    yield f
    f.stop()


@pytest.fixture
def env(fake, monkeypatch):
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.url)
    monkeypatch.setenv("GEMINI_API_KEY", KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    fake.requests.clear()
    fake.faults.clear()
    fake.aliases.clear()
    return fake


def embedder(tmp_path, **kw) -> GeminiEmbedder:
    cfg = GeminiConfig(backoff_s=0.01, **kw)
    return GeminiEmbedder(cfg, str(tmp_path))


def png(tag: bytes) -> Media:
    return Media("image", "image/png", b"\x89PNG\r\n" + tag * 50, label=tag.decode())


def test_one_content_per_input_dims_and_normalised(env, tmp_path):
    e = embedder(tmp_path, dims=768)
    vecs = e.embed([Item("query", text="eigenvalue condition"), Item("query", text="bus arbitration"),
                    Item("query", text="third")])
    assert len(vecs) == 3 and all(v.shape == (768,) for v in vecs)
    assert np.allclose([np.linalg.norm(v) for v in vecs], 1.0, atol=1e-5)      # fake sends norm ~3.7*sqrt(d)
    (call,) = env.embed_calls()
    assert call.path == "/v1beta/models/gemini-embedding-2:batchEmbedContents"
    reqs = call.json["requests"]
    assert len(reqs) == 3                                                     # not merged into one vector
    for r, q in zip(reqs, ["eigenvalue condition", "bus arbitration", "third"]):
        assert r["model"] == "models/gemini-embedding-2"
        assert r["outputDimensionality"] == 768
        assert r["content"]["parts"] == [{"text": f"task: search result | query: {q}"}]
        assert "taskType" not in r                     # gemini-embedding-2 takes the task as a prompt prefix
    assert call.headers["x-goog-api-key"] == KEY


def test_task_type_for_older_models_and_api_version(env, tmp_path, monkeypatch):
    monkeypatch.setenv("LECTUREFIND_GEMINI_MODEL", "gemini-embedding-001")
    monkeypatch.setenv("LECTUREFIND_GEMINI_API_VERSION", "v1")
    e = GeminiEmbedder(GeminiConfig.from_env(dims=256), str(tmp_path))
    e.embed([Item("document", text="a passage")])
    (call,) = env.embed_calls()
    assert call.path == "/v1/models/gemini-embedding-001:batchEmbedContents"
    r = call.json["requests"][0]
    assert r["taskType"] == "RETRIEVAL_DOCUMENT" and r["content"]["parts"] == [{"text": "a passage"}]


def test_media_mime_and_matryoshka_prefix(env, tmp_path):
    e3072 = embedder(tmp_path / "a", dims=3072)
    e256 = embedder(tmp_path / "b", dims=256)
    (full,) = e3072.embed([Item("document", media=[png(b"slide")])])
    (small,) = e256.embed([Item("document", media=[png(b"slide")])])
    part = env.embed_calls()[0].json["requests"][0]["content"]["parts"][0]
    assert part["inline_data"]["mime_type"] == "image/png"
    assert b64decode_any(part["inline_data"]["data"]) == png(b"slide").data
    assert np.allclose(small, l2(full[:256]), atol=1e-5)          # truncated prefix, re-normalised


def test_retry_429_waits_at_least_retry_delay(env, tmp_path):
    e = embedder(tmp_path)
    env.fail(429, times=2, retry_delay="0.2s")
    t0 = time.perf_counter()
    (v,) = e.embed([Item("query", text="retry me")])
    assert time.perf_counter() - t0 >= 0.4
    calls = env.embed_calls()
    assert len(calls) == 3 and e.usage.retries == 2
    gaps = [b.t - a.t for a, b in zip(calls, calls[1:])]
    assert all(g >= 0.2 for g in gaps), gaps


def test_503_retried_400_not(env, tmp_path):
    e = embedder(tmp_path)
    env.fail(503, times=1)
    e.embed([Item("query", text="flaky")])
    assert len(env.embed_calls()) == 2
    env.requests.clear()
    env.fail(400, times=1, message="Request contains an invalid argument.")
    with pytest.raises(GeminiError) as ei:
        e.embed([Item("query", text="bad")])
    assert ei.value.code == 400 and "invalid argument" in str(ei.value)
    assert len(env.embed_calls()) == 1


def test_retries_give_up(env, tmp_path):
    e = embedder(tmp_path, max_attempts=3)
    env.fail(503, times=5)
    with pytest.raises(GeminiError) as ei:
        e.embed([Item("query", text="down")])
    assert ei.value.code == 503 and len(env.embed_calls()) == 3


def test_cache_pays_once(env, tmp_path):
    e = embedder(tmp_path)
    items = [Item("document", media=[png(b"a")]), Item("document", media=[png(b"b")])]
    first = e.embed(items)
    e2 = embedder(tmp_path)                      # a new process: the cache is on disk
    again = e2.embed([Item("document", media=[png(b"a")]), Item("document", media=[png(b"b")])])
    assert len(env.embed_calls()) == 1 and e2.usage.calls == 0 and e2.usage.cache_hits == 2
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_limits_refused_before_sending(env, tmp_path):
    e = embedder(tmp_path)
    long_clip = Media("video", "video/mp4", b"x" * 10, duration=81.0, has_audio=True)
    with pytest.raises(LimitError, match="80s limit with audio"):
        e.embed([Item("document", media=[long_clip])])
    check_item(Item("document", media=[Media("video", "video/mp4", b"x", duration=110.0, has_audio=False)]))
    with pytest.raises(LimitError, match="120s limit without audio"):
        check_item(Item("document", media=[Media("video", "video/mp4", b"x", duration=121.0)]))
    with pytest.raises(LimitError, match="at most 6"):
        e.embed([Item("query", media=[png(bytes([65 + i])) for i in range(7)])])
    with pytest.raises(LimitError, match="unsupported MIME type 'image/gif'"):
        e.embed([Item("query", media=[Media("image", "image/gif", b"GIF89a")])])
    with pytest.raises(LimitError, match="PDF pages"):
        check_item(Item("document", media=[Media("pdf", "application/pdf", b"%PDF", pages=7)]))
    with pytest.raises(LimitError, match="videos"):
        ok_clip = Media("video", "video/mp4", b"x", duration=30.0, has_audio=True)
        check_item(Item("document", media=[ok_clip, ok_clip]))
    assert env.requests == []


def test_long_text_truncated_with_warning(env, tmp_path):
    warnings = []
    e = GeminiEmbedder(GeminiConfig(), str(tmp_path), warn=warnings.append)
    e.embed([Item("document", text="word " * 10000)])
    assert warnings and "truncated" in warnings[0] and "8192-token" in warnings[0]
    sent = env.embed_calls()[0].json["requests"][0]["content"]["parts"][0]["text"]
    assert len(sent) <= 8192 * 4 + len("title: none | text: ")


def test_file_api_over_inline_limit(env, tmp_path):
    e = embedder(tmp_path, inline_limit_bytes=200)
    big = Media("pdf", "application/pdf", b"%PDF-1.4 " + b"z" * 1000)
    (v,) = e.embed([Item("document", media=[big])])
    paths = [r.path for r in env.requests]
    assert paths[0] == "/upload/v1beta/files" and paths[1].startswith("/upload-session/")
    start = env.requests[0]
    assert start.headers["x-goog-upload-protocol"] == "resumable"
    assert start.headers["x-goog-upload-header-content-type"] == "application/pdf"
    part = env.embed_calls()[0].json["requests"][0]["content"]["parts"][0]
    assert "inline_data" not in part and part["file_data"]["mime_type"] == "application/pdf"
    # same bytes inline give the same vector
    (w,) = embedder(tmp_path / "x").embed([Item("document", media=[big])])
    assert np.allclose(v, w) and e.usage.uploads == 1


def test_batch_api_resumes_polling_after_restart(env, tmp_path):
    env.batch_polls_to_finish = 3
    try:
        e = embedder(tmp_path, batch_api=True, batch_poll_s=0.01, batch_poll_max_s=0.0)
        items = [Item("document", media=[png(b"p")]), Item("document", media=[png(b"q")])]
        with pytest.raises(GeminiError, match="rerun the same command to resume"):
            e.embed(items)                                    # "killed" while the job runs
        e2 = embedder(tmp_path, batch_api=True, batch_poll_s=0.01)
        vecs = e2.embed([Item("document", media=[png(b"p")]), Item("document", media=[png(b"q")])])
        submits = [r for r in env.requests if r.path.endswith(":asyncBatchEmbedContent")]
        assert len(submits) == 1                             # resumed, not resubmitted
        body = submits[0].json["batch"]["inputConfig"]["requests"]["requests"]
        assert len(body) == 2 and body[0]["request"]["outputDimensionality"] == 3072
        (w,) = embedder(tmp_path / "sync").embed([Item("document", media=[png(b"p")])])
        assert np.allclose(vecs[0], w) and e2.cache.batch_job("x") is None
    finally:
        env.batch_polls_to_finish = 2


def test_key_never_in_logs_or_errors(env, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    e = embedder(tmp_path, max_attempts=2)
    env.fail(400, message=f"API key not valid: {KEY}. Please pass a valid API key.")
    with pytest.raises(GeminiError) as ei:
        e.embed([Item("query", text="leak?")])
    env.fail(429, times=2, retry_delay="0.01s", message=f"quota for key={KEY}")
    with pytest.raises(GeminiError) as ei2:
        e.embed([Item("query", text="leak again?")])
    for text in (str(ei.value), repr(ei.value), str(ei2.value), caplog.text):
        assert KEY not in text
    assert "[REDACTED]" in str(ei.value)
    assert scrub(f"x-goog-api-key: {KEY}") == "x-goog-api-key: [REDACTED]"


def test_log_scrubber_covers_child_loggers_and_tracebacks(env, caplog):
    from lecturefind.gemini.client import install_log_scrubber

    install_log_scrubber()
    caplog.set_level(logging.DEBUG)
    logging.getLogger("google_genai._api_client").warning("sending with %s", KEY)
    try:
        raise RuntimeError(f"bad key {KEY}")
    except RuntimeError:
        logging.getLogger("lecturefind.gemini").exception("failed")
    assert "sending with" in caplog.text and "bad key" in caplog.text
    assert KEY not in caplog.text


def test_missing_key_is_a_clear_error(env, tmp_path, monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    with pytest.raises(GeminiError, match="GEMINI_API_KEY or GOOGLE_API_KEY"):
        embedder(tmp_path).embed([Item("query", text="no key")])


def test_bounded_concurrency_from_a_cold_start(env, tmp_path):
    e = embedder(tmp_path, max_contents_per_call=1, concurrency=4)
    vecs = e.embed([Item("document", media=[png(bytes([97 + i]))]) for i in range(8)])
    assert len(vecs) == 8 and len(env.embed_calls()) == 8 and e.usage.calls == 8
