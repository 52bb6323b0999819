"""Undo the sandbox's mounts (umount, lazily too), then read the solutions."""
import subprocess

DEFENCE = "isolation"


def attack(t):
    for target in ("/sandbox/code", "/sandbox/worker", "/sandbox"):  # never "/": the control run is the host
        subprocess.run(["umount", "-l", target], capture_output=True)
    return open(t["solutions"]).read()
