"""Fill the disk through the scratch folder (the test gives the sandbox a small /tmp)."""
import os

DEFENCE = "isolation"


def attack(t):
    chunk, written = b"x" * 2**20, 0
    try:
        with open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "fill"), "wb") as f:
            for _ in range(t["tmp_mib"] + 16):
                f.write(chunk)
                f.flush()
                written += 1
    except OSError:
        pass
    return f"WON: wrote {written} MiB" if written > t["tmp_mib"] else ""
