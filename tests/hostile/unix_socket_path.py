"""Connect to a Unix socket of the host by its path (a Docker or D-Bus socket, say)."""
import socket

DEFENCE = "isolation"


def attack(t):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(3)
        s.connect(t["unix"])
        return "WON: connected"
