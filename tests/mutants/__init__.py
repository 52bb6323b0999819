"""Mutation testing: a library of wrong implementations of every student function, each graded for real.

One file per student module, ``tests/mutants/<module>.py`` (e.g. ``kv_cache.py`` for
``pretraining/kv_cache.py``), defines

    SELECT = "kv_cache"                      # a pytest -k expression: the checks that grade this module
    MUTANTS = {
        "calls model.generate": Mutant(
            "generate_with_cache",            # the student function it breaks, as release.py names it
            {"kv_cache.py": (old_text, new_text)},   # patches on a copy of solutions/pretraining
            kind="cheat",                     # "wrong" (a plausible mistake), "cheat" (skips or fakes the work)
                                              # or "harmless" (a correct variant that must keep full marks)
            catches=("generate_with_cache",), # optional: fragments of the check names that must fail
        ),
        ...
    }

``tests/test_mutants.py`` grades every mutant through the real grader (worker process, public + hidden
checks matching SELECT) and requires: every wrong/cheat mutant loses points, every harmless one keeps full
marks, and every student function has at least four wrong or cheat mutants. The suite's summary prints the
kill rate per module — all checks, and the public checks alone (what a student sees before hand-in).
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field

KINDS = ("wrong", "cheat", "harmless")
MIN_PER_FUNCTION = 4


@dataclass(frozen=True)
class Mutant:
    function: str                                    # e.g. "LoRALinear.merge"
    patches: dict[str, tuple[str, str]]              # file in pretraining/ → (old, new); old must occur
    kind: str = "wrong"
    catches: tuple = field(default=())               # fragments (or tuples of fragments) of failing check names
    extra: dict[str, str] = field(default_factory=dict)  # whole extra files, path relative to the submission

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")


def modules() -> dict[str, object]:
    """{student module name: its mutants module} for every file in this package."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        found[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return found


def all_mutants() -> list[tuple[str, str, Mutant, str]]:
    """[(module, mutant name, mutant, select)] over every mutants file, in a stable order."""
    return [(name, key, mutant, mod.SELECT)
            for name, mod in sorted(modules().items()) for key, mutant in mod.MUTANTS.items()]
