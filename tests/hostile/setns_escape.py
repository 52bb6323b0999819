"""Join the grader's mount namespace (setns on /proc/<pid>/ns/mnt), then read the solutions."""
import ctypes
import os

DEFENCE = "isolation"


def attack(t):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{t['grader_pid']}/ns/mnt", os.O_RDONLY)
    libc.setns(fd, 0)
    return open(t["solutions"]).read()
