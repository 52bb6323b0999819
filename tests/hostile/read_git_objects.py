"""Read the repository's .git by hand (no git binary needed): HEAD, the refs, the packs are all history."""
import os

DEFENCE = "isolation"


def attack(t):
    git = os.path.join(t["repo"], ".git")
    head = open(os.path.join(git, "HEAD")).read()
    packs = os.listdir(os.path.join(git, "objects"))
    return f"WON: HEAD is {head.strip()}, {len(packs)} object folders"
