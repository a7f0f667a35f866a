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


@pytest.fixture(scope="session")
def models():
    from lecturefind.ml_models import MLModels

    return MLModels()


@pytest.fixture(scope="session")
def ground_truth() -> dict:
    with open(os.path.join(SAMPLE, "ground_truth.json")) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, models) -> str:
    """An index of the whole sample course (read-only for tests: copy it before changing it)."""
    from lecturefind.ingest.pipeline import Ingestor

    index_dir = str(tmp_path_factory.mktemp("sample-index"))
    ing = Ingestor(index_dir, models=models, log=lambda line: None)
    rep = ing.ingest([SAMPLE], course="Engineering Foundations")
    ing.close()
    assert not rep.errors, rep.errors
    assert rep.ingested == 3
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
