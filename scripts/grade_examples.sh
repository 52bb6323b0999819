#!/usr/bin/env bash
# The main job: set up .venv if needed, then grade the bundled example submissions (the reference
# solution and the untouched starter code) and print their tables. Results land in out/examples/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/env.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/python -m autograder examples --out out/examples "$@"
