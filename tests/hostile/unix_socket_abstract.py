"""Connect to an abstract Unix socket of the host (no file to hide: only a network namespace stops it)."""
import socket

DEFENCE = "isolation"


def attack(t):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(3)
        s.connect("\0" + t["abstract"])
        return "WON: connected"
