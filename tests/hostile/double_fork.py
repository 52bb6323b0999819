"""Fork twice and let the parent die, so that the survivor is re-parented away from the worker."""
import os
import time

DEFENCE = "isolation"


def attack(t):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sh", ["sh", "-c", "sleep 120; :", t["token"]])
        os._exit(0)
    time.sleep(0.2)
    return ""
