#!/usr/bin/env bash
# Gradescope runs this once, as root and with network, when it builds the autograder's image; the zip's
# contents are in /autograder/source. It installs Python 3.11 and the pinned packages (torch's CPU build),
# then computes every reference value once, so that grading a submission never runs the solutions again.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v python3.11 >/dev/null; then
  apt-get update -q
  apt-get install -y -q software-properties-common
  add-apt-repository -y ppa:deadsnakes/ppa
  apt-get update -q
  apt-get install -y -q python3.11 python3.11-venv
fi
export PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu  # torch==2.13.0 resolves to its CPU build
PYTHON=python3.11 bash scripts/env.sh
HF_HUB_OFFLINE=1 PRETRAINING_DEVICE=cpu .venv/bin/python -m autograder grade solutions --out /tmp/reference-run \
  --reference-cache reference-cache
