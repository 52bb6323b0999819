"""Section 2 checks (BERT masking, span masking, MAE): every one fails on the untouched stubs, saying so; every
student function has a public check; public checks carry at least half of the points. (The wrong implementations
each check must catch are in tests/mutants/{masking,mae}.py, graded by tests/test_mutants.py.)"""

import pytest

from autograder.paths import STARTER
from conftest import grade_checks
from test_mutants import student_functions

MODULES = ("masking", "mae")
SECTION = "test_masking or test_mae"  # the check files of section 2 (a pytest -k expression)


def display_fragment(module: str, function: str) -> str:
    """What a check's name says for a student function: 'masking.bert_mask' for bert_mask,
    'MaskedAutoencoder.forward_encoder' for that method."""
    parts = function.split(".")
    if len(parts) > 1 and parts[-1] not in ("__init__", "forward"):
        return ".".join(parts)  # MaskedAutoencoder.forward_encoder
    return f"{module}.{parts[0]}"


@pytest.fixture(scope="module")
def stub_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("section2-stubs")
    return grade_checks(STARTER, tmp / "out", tmp / "reference-cache", SECTION)


def test_every_check_fails_on_the_untouched_stubs(stub_results):
    assert len(stub_results) >= 25, [t["name"] for t in stub_results]
    for test in stub_results:
        assert test["status"] == "failed" and "not implemented yet" in test["output"], test
        assert "Traceback" not in test["output"] and "probe:" not in test["output"], test["output"]


def test_every_student_function_has_a_public_check_and_public_points_dominate(stub_results):
    public = [t for t in stub_results if t["visibility"] == "visible"]
    functions = student_functions()
    missing = [display_fragment(m, f) for m in MODULES for f in sorted(functions[m])
               if not any(t["name"].startswith(display_fragment(m, f)) for t in public)]
    assert not missing, f"student functions without a public check: {missing}"
    total = sum(t["max_score"] for t in stub_results)
    shown = sum(t["max_score"] for t in public)
    assert shown >= 0.5 * total, f"public checks carry {shown} of {total} points"
