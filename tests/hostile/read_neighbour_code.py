"""Copy another student's code from the batch folder."""
import os

DEFENCE = "isolation"


def attack(t):
    return "".join(open(os.path.join(d, f)).read() for d, _, fs in os.walk(t["neighbour"]) for f in fs)
