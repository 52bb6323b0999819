"""Read another student's results.json."""
DEFENCE = "isolation"


def attack(t):
    return open(t["results"]).read()
