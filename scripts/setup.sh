#!/usr/bin/env bash
# Set up LectureFind in ./.venv (idempotent). `--test` also installs the test extras and the
# Debian packages the tests need (chromium, chromium-driver; espeak-ng for the multilingual speech tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
apt_install() {
  command -v apt-get >/dev/null || { echo "setup: please install: $*" >&2; return 1; }
  if [ ! -f /tmp/.lecturefind-apt-updated ]; then as_root apt-get update -qq && touch /tmp/.lecturefind-apt-updated; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! "$PY" -c "import venv, ensurepip" 2>/dev/null; then apt_install python3-venv; fi
if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
stamp=.venv/.lecturefind-installed
extras=""
[ $want_test = 1 ] && extras="[test]"
if [ ! -f "$stamp$extras" ] || [ pyproject.toml -nt "$stamp$extras" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extras"
  touch "$stamp$extras"
fi
if [ $want_test = 1 ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
  fc-list 2>/dev/null | grep -qi dejavu || missing+=(fonts-dejavu-core)
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)   # narrated test lectures in other languages
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
fi
