"""How a worker process is confined. Today: its own process group and resource limits.

This is the one place to tighten isolation later (another user, no network, a container): the client
asks a :class:`Sandbox` for the command prefix and the limits to apply, and nothing else changes.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass


@dataclass
class Sandbox:
    memory_bytes: int | None = int(os.environ.get("AUTOGRADER_MEMORY_BYTES", 8 * 2**30))
    file_bytes: int = 1 * 2**30

    def argv(self, argv: list[str]) -> list[str]:
        """The command that runs ``argv`` inside the sandbox (a prefix such as ``unshare -n`` goes here)."""
        return argv

    def limits(self) -> None:
        """Runs in the child before it starts: cap address space (CPU only), file size and core dumps."""
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes))
        # CUDA reserves huge virtual address ranges, so an address-space cap only works without a GPU.
        gpu = os.path.exists("/dev/nvidiactl") and not os.environ.get("PRETRAINING_DEVICE", "").startswith("cpu")
        if self.memory_bytes and not gpu:
            resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))
