"""Phone home over TCP (the grader's localhost stands in for the internet)."""
import socket

DEFENCE = "isolation"


def attack(t):
    with socket.create_connection(("127.0.0.1", t["port"]), timeout=3):
        return "WON: connected"
