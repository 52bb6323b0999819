"""What the checks cover, for every student module at once: each check fails on the untouched stubs, saying so;
every student function has a public check (so a student sees a mistake before hand-in); public checks carry at
least half of each module's points, hidden ones adding other inputs. (The wrong implementations each check must
catch are in tests/mutants/, graded by tests/test_mutants.py.)"""

from __future__ import annotations

import re

import pytest

from autograder.paths import STARTER
from conftest import grade_checks
from test_mutants import student_functions

FUNCTIONS = student_functions()


@pytest.fixture(scope="module")
def stub_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stubs")
    return grade_checks(STARTER, tmp / "out", tmp / "reference-cache", None)


def head_words(name: str) -> set[str]:
    """The identifiers before a check name's first colon: 'lora.LoRALinear.merge/unmerge: …' →
    {lora, LoRALinear, merge, unmerge}."""
    return set(re.findall(r"[A-Za-z_]\w*", name.split(":")[0]))


def covers(name: str, module: str, function: str) -> bool:
    """Does a check of this name grade ``module.function`` (e.g. 'LoRALinear.unmerge', 'Encoder.__init__')?"""
    *owner, last = function.split(".")
    target = owner[0] if owner and last in ("__init__", "forward") else last
    words = head_words(name)
    return target in words and (module in words or bool(owner and owner[0] in words))


def module_of(name: str) -> set[str]:
    """The student modules a check grades: those it names, by module or by one of their classes."""
    words = head_words(name)
    return {m for m, fns in FUNCTIONS.items() if m in words or any(f.split(".")[0] in words for f in fns if "." in f)}


def test_every_check_fails_on_the_untouched_stubs(stub_results):
    assert len(stub_results) >= 100, [t["name"] for t in stub_results]
    for test in stub_results:
        assert test["status"] == "failed" and "not implemented yet" in test["output"], test
        assert "Traceback" not in test["output"] and "probe:" not in test["output"], test["output"]
        assert module_of(test["name"]), f"a check that names no student function: {test['name']!r}"


@pytest.mark.parametrize("module", sorted(FUNCTIONS))
def test_every_student_function_has_a_public_check_and_public_points_dominate(stub_results, module):
    public = [t for t in stub_results if t["visibility"] == "visible"]
    missing = [f for f in sorted(FUNCTIONS[module]) if not any(covers(t["name"], module, f) for t in public)]
    assert not missing, f"{module}: student functions without a public check: {missing}"
    mine = [t for t in stub_results if module in module_of(t["name"])]
    total = sum(t["max_score"] for t in mine)
    shown = sum(t["max_score"] for t in mine if t["visibility"] == "visible")
    assert shown >= 0.5 * total, f"{module}: public checks carry {shown} of {total} points"
