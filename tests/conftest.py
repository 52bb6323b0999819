"""Shared fixtures of the repository's own tests (not the autograder's checks: those are in autograder/checks)."""

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("PRETRAINING_DEVICE", "cpu")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


@pytest.fixture
def make_submission(tmp_path):
    """Copy the reference solution and patch it: ``make_submission({"autoencoder.py": (old, new)})``."""

    def make(patches: dict[str, tuple[str, str]] | None = None, extra: dict[str, str] | None = None) -> Path:
        root = tmp_path / "submission"
        shutil.copytree(REPO / "solutions" / "pretraining", root / "pretraining",
                        ignore=shutil.ignore_patterns("__pycache__"))
        for name, (old, new) in (patches or {}).items():
            path = root / "pretraining" / name
            text = path.read_text()
            assert old in text, f"patch target not found in {name}: {old!r}"
            path.write_text(text.replace(old, new))
        for rel, text in (extra or {}).items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
        return root

    return make
