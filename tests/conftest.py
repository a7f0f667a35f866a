"""Shared fixtures: the models (loaded once) and the sample course ingested once per session."""
from __future__ import annotations

import json
import os
import shutil
import sys

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "examples", "sample-course")
if ROOT not in sys.path:   # the `testing` package: fakes and generators shared with scripts/bench
    sys.path.insert(0, ROOT)

# Fixtures that stand for the model stack: a test that uses one of them, directly or through another fixture
# (pytest's fixture closure), is marked `models`; tests in test_web_browser.py are marked `browser` and `models`.
# The fast stage is `-m "not models and not browser and not slow"` (see scripts/test.sh).
MODEL_FIXTURES = frozenset({"models", "sample_index", "searcher", "index_copy"})
BROWSER_MODULES = frozenset({"test_web_browser.py", "test_lti_browser.py"})
# test_wheel.py's built wheel and fresh venv take minutes: whatever uses them is `slow` even if its mark is missing
SLOW_FIXTURES = frozenset({"wheel", "venv"})


@pytest.hookimpl(tryfirst=True)      # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in BROWSER_MODULES:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.models)
            continue
        used = set(getattr(item, "fixturenames", ()))
        if MODEL_FIXTURES & used and not item.get_closest_marker("models"):
            item.add_marker(pytest.mark.models)
        if SLOW_FIXTURES & used and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _unmarked_tests_load_no_models(request, monkeypatch):
    """A test outside the `models`/`slow` stages that touches the ASR/OCR/embedding models fails at once (in this
    process: subprocesses are not watched), so the fast stage stays fast and the markers stay honest."""
    if request.node.get_closest_marker("models") or request.node.get_closest_marker("slow"):
        return
    try:
        from lecturefind.ml_models import MLModels
    except ImportError:          # the product is broken: let the tests that import it say so
        return

    def refuse(self):
        pytest.fail(f"{request.node.nodeid} loads the ML models: mark it @pytest.mark.models", pytrace=False)

    for name in ("asr", "ocr", "embedder"):
        monkeypatch.setattr(MLModels, name, property(refuse))


@pytest.fixture(scope="session")
def models():
    from lecturefind.ml_models import MLModels

    return MLModels()


@pytest.fixture(scope="session")
def ground_truth() -> dict:
    with open(os.path.join(SAMPLE, "ground_truth.json")) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, models, ground_truth) -> str:
    """An index of the whole sample course (read-only for tests: copy it before changing it)."""
    from lecturefind.ingest.pipeline import Ingestor

    index_dir = str(tmp_path_factory.mktemp("sample-index"))
    ing = Ingestor(index_dir, models=models, log=lambda line: None)
    rep = ing.ingest([SAMPLE], course=ground_truth["course"])
    ing.close()
    assert not rep.errors, rep.errors
    assert rep.ingested == len(ground_truth["videos"]) + len(ground_truth["pdfs"])
    return index_dir


@pytest.fixture(scope="session")
def searcher(sample_index, models):
    from lecturefind.rank.searcher import Searcher

    s = Searcher(sample_index, models=models)
    yield s
    s.close()


@pytest.fixture
def index_copy(sample_index, tmp_path) -> str:
    """A private, writable copy of the sample index."""
    dst = str(tmp_path / "index")
    shutil.copytree(sample_index, dst)
    return dst
