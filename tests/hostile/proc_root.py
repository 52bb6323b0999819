"""Reach the host's files through the grader's root directory, /proc/<pid>/root."""
DEFENCE = "isolation"


def attack(t):
    return open(f"/proc/{t['grader_pid']}/root{t['solutions']}").read()
