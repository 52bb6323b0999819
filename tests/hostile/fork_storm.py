"""A bounded fork storm: start more processes than the sandbox allows (the test sets a small limit)."""
import subprocess

DEFENCE = "isolation"


def attack(t):
    started = 0
    try:
        for _ in range(t["max_processes"] + 20):
            subprocess.Popen(["sleep", "30"])
            started += 1
    except OSError:
        pass
    return f"WON: started {started} processes" if started > t["max_processes"] else ""
