"""Leave files in the machine's /tmp (scratch that outlives the grading)."""
DEFENCE = "isolation"


def attack(t):
    with open(f"/tmp/{t['token']}", "w") as f:
        f.write(t["token"])
    return ""
