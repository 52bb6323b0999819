"""Section 1 checks: every one fails on the untouched stubs, saying so; every student function has a public check;
public checks carry at least half of the points. (The wrong implementations each check must catch are in
tests/mutants/{autoencoder,bottlenecks,few_shot}.py, graded by tests/test_mutants.py.)"""

import pytest

from autograder.paths import STARTER
from conftest import grade_checks
from test_mutants import student_functions

MODULES = ("autoencoder", "bottlenecks", "few_shot")
SECTION = "test_autoencoder"  # both check files of section 1 (a pytest -k expression)


def display_fragment(module: str, function: str) -> str:
    """What a check's name says for a student function: 'autoencoder.Encoder' for Encoder.__init__ / forward,
    'few_shot.freeze' for freeze."""
    parts = function.split(".")
    return f"{module}.{parts[0] if parts[-1] in ('__init__', 'forward') else parts[-1]}"


@pytest.fixture(scope="module")
def stub_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("section1-stubs")
    return grade_checks(STARTER, tmp / "out", tmp / "reference-cache", SECTION)


def test_every_check_fails_on_the_untouched_stubs(stub_results):
    assert len(stub_results) >= 20, [t["name"] for t in stub_results]
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
