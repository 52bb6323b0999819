"""Spawn 32 sleepers in their own sessions: they should all outlive the check."""
import subprocess

DEFENCE = "isolation"


def attack(t):
    for _ in range(32):
        subprocess.Popen(["sh", "-c", "sleep 120; :", t["token"]], start_new_session=True)
    return ""
