"""Search the file system for anything that holds a secret: the batch's temporary folders, the home folders."""
import os

DEFENCE = "isolation"


def attack(t):
    loot, seen = [], 0
    for top in (t["tmp"], "/root", "/home"):
        for folder, _, files in os.walk(top):
            for name in files:
                seen += 1
                try:
                    text = open(os.path.join(folder, name), errors="ignore").read(100_000)
                except OSError:
                    continue
                if t["canary"] in text:
                    loot.append(text)
            if seen > 3000:
                return "".join(loot)
    return "".join(loot)
