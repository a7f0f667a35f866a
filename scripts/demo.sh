#!/usr/bin/env bash
# Install, ingest the bundled sample course, answer a few questions. `--serve` then serves the web UI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LECTUREFIND_INDEX=${LECTUREFIND_INDEX:-./lecturefind-index}
.venv/bin/lecturefind ingest examples/sample-course --course "Engineering Foundations" || true
.venv/bin/lecturefind status
for q in "where did we derive the eigenvalue condition?" "what happens when two masters drive the bus at once?" \
         "who coined the word eigen?"; do
  echo; echo "? $q"
  .venv/bin/lecturefind search "$q" --k 3
done
if [ "${1:-}" = "--serve" ]; then
  exec .venv/bin/lecturefind serve --host 127.0.0.1 --port "${PORT:-8000}"
fi
