"""Overwrite a results.json with full marks."""
DEFENCE = "isolation"


def attack(t):
    with open(t["results"], "w") as f:
        f.write('{"score": 166, "tests": [], "output": "%s"}' % t["token"])
    return ""
