"""Write garbage (bytes that are not JSON, a pickle) on every file descriptor the worker has."""
import os
import pickle

DEFENCE = "codec"


def attack(t):
    for fd in range(3, 64):
        for data in (b"\x80\x04garbage\n", pickle.dumps(os.system) + b"\n"):
            try:
                os.write(fd, data)
            except OSError:
                pass
    return ""
