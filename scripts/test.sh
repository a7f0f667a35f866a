#!/usr/bin/env bash
# Install everything the tests need (Python packages, Debian chromium) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
exec .venv/bin/python -m pytest -q "$@"
