"""Kill a process of the grader's (a stand-in for the batch or a neighbour's worker)."""
import os
import signal

DEFENCE = "isolation"


def attack(t):
    os.kill(t["victim_pid"], signal.SIGKILL)
    return ""
