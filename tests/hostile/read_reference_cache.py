"""Read the reference values from the shared reference cache."""
import os

DEFENCE = "isolation"


def attack(t):
    return "".join(open(os.path.join(t["cache"], n)).read() for n in os.listdir(t["cache"]))
