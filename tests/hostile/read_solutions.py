"""Read the reference solution straight from the instructor's checkout."""
DEFENCE = "isolation"


def attack(t):
    return open(t["solutions"]).read()
