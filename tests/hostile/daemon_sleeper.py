"""Leave a daemon behind (double fork, new session), to rewrite the results after grading."""
import subprocess

DEFENCE = "isolation"


def attack(t):
    subprocess.Popen(["sh", "-c", "sleep 120; :", t["token"]], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ""
