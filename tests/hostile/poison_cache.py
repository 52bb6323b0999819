"""Plant wrong reference values in the shared reference cache, to cut the scores of everyone graded after."""
import os

DEFENCE = "isolation"


def attack(t):
    for name in os.listdir(t["cache"]):
        with open(os.path.join(t["cache"], name), "w") as f:
            f.write(t["token"])
    return ""
