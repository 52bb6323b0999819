"""Take the solutions out of the repository's .git history."""
import subprocess

DEFENCE = "isolation"


def attack(t):
    done = subprocess.run(["git", "-C", t["repo"], "show", "HEAD:solutions/pretraining/autoencoder.py"],
                          capture_output=True, text=True, timeout=20)
    return done.stdout
