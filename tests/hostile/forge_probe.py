"""Replace a trusted probe (it runs inside the worker) with one that reports whatever the checks want."""
import sys
import types

DEFENCE = "forgeable"


def attack(t):
    fake = types.ModuleType("_autograder_probe_autoencoder")
    fake.__getattr__ = lambda name: (lambda *a, **k: "WON: forged probe")
    sys.modules["_autograder_probe_autoencoder"] = fake
    return ""
