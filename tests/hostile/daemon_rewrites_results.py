"""Leave a daemon that waits for the grading to end, then rewrites the results with full marks."""
import subprocess

DEFENCE = "isolation"


def attack(t):
    script = f"sleep 3; printf '{{\"score\": 999, \"tests\": []}}' > '{t['results']}'; sleep 60"
    subprocess.Popen(["sh", "-c", script, t["token"]], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return ""
