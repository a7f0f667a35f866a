#!/usr/bin/env bash
# Install everything the tests need (Python packages, Debian chromium) and run the whole suite, in stages:
#   1. lint and type checks (ruff, mypy: from the `test` extra),
#   2. the fast tests: no models, no browser, no wheel build (seconds),
#   3. the rest: the full model stack, the ingested sample course, headless Chromium, the wheel (minutes).
# With arguments, runs pytest once with them instead, e.g. `bash scripts/test.sh tests/test_planner.py -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1

if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest -q "$@"
fi

stage() { echo; echo "== $* =="; }

stage "lint and type checks"
.venv/bin/ruff check .
.venv/bin/mypy

stage "fast tests"
.venv/bin/python -m pytest -q -m "not models and not browser and not slow"

stage "model, browser and slow tests"
.venv/bin/python -m pytest -q -m "models or browser or slow"
