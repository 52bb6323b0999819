"""Wrong implementations of pretraining/kv_cache.py (see tests/mutants/__init__.py)."""

from mutants import Mutant

SELECT = "kv_cache"
MUTANTS = {
    "cache that never advances the positions": Mutant(
        "generate_with_cache",
        {"kv_cache.py": ("positions = positions[:, -1:] + 1  # (B, 1)", "positions = positions[:, -1:]  # (B, 1)")},
        catches=("greedy tokens equal",)),
}
