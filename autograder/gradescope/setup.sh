#!/usr/bin/env bash
# Gradescope runs this once, as root and with network, when it builds the autograder's image; the zip's
# contents are in /autograder/source. It installs Python 3.11 and the pinned packages (torch's CPU build),
# then computes every reference value once, so that grading a submission never runs the solutions again.
# Extra arguments go to that reference run (tests/test_gradescope_uid.py computes only the checks it grades).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then  # an environment already in place (a rebuilt image, the test's copy) is kept
  if ! command -v python3.11 >/dev/null; then
    apt-get update -q
    apt-get install -y -q software-properties-common
    add-apt-repository -y ppa:deadsnakes/ppa
    apt-get update -q
    apt-get install -y -q python3.11 python3.11-venv
  fi
  export PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu  # torch==2.13.0 resolves to its CPU build
  PYTHON=python3.11 bash scripts/env.sh
fi
reference_run=$(mktemp -d)
HF_HUB_OFFLINE=1 PRETRAINING_DEVICE=cpu .venv/bin/python -m autograder grade solutions --out "$reference_run" \
  --reference-cache reference-cache "$@"
rm -rf "$reference_run"
# Gradescope's containers run as root and refuse namespaces, so workers run in the sandbox's uid mode: as an
# unprivileged uid of their own, reading only what "other" may read (docs/SECURITY.md). What a worker must
# read (the Python, the packages, the worker's own code, the data) stays world-readable; the answers become
# readable by root only: the solutions, the hidden checks and the reference values computed above.
chmod -R go-rwx solutions autograder/checks/hidden reference-cache
rm -rf .git
chmod -R go+rX .venv autograder/worker.py autograder/codec.py autograder/probes data
chmod go+x . ..
