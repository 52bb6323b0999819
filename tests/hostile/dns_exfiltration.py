"""Leak a secret through a DNS lookup (any resolver on the host)."""
import socket

DEFENCE = "isolation"


def attack(t):
    socket.getaddrinfo("localhost", t["port"])
    with socket.create_connection(("localhost", t["port"]), timeout=3):
        return "WON: resolved and connected"
