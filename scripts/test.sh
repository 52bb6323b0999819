#!/usr/bin/env bash
# The whole test suite: set up .venv if needed, then run the repository's tests (notebooks included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/env.sh
export HF_HUB_OFFLINE=1 PRETRAINING_DEVICE=${PRETRAINING_DEVICE:-cpu}
exec .venv/bin/python -m pytest "$@"
