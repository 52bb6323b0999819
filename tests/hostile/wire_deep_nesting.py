"""A reply nested 100,000 lists deep: valid-looking JSON that blows the parser's recursion limit."""
import os

DEFENCE = "codec"


def attack(t):
    for fd in range(3, 64):
        try:
            os.write(fd, b'{"ok":true,"value":' + b"[" * 100_000 + b"]" * 100_000 + b"}\n")
        except OSError:
            pass
    return ""
