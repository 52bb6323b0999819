"""How a worker process is confined: its own process group, resource limits, and — where Linux allows it —
no network and no view of the grader's secrets.

The client asks a :class:`Sandbox` for the command prefix and the limits to apply, and nothing else changes.

Isolation uses unprivileged namespaces (``unshare --user --net --mount``): the student's process gets a
network namespace with no interface up (no internet, not even the grader's localhost), and an empty read-only
tmpfs over each path in ``hide`` — the solutions, the hidden checks, the reference cache, other students'
submissions, results and private copies (a hidden folder that holds the student's own copy gets that copy bound
back into it). Where namespaces are not allowed (some containers), the worker runs without them
and :func:`isolation_available` says so; ``AUTOGRADER_ISOLATION=0`` turns isolation off on purpose (e.g. to
let a check download a model in online mode).
"""

from __future__ import annotations

import functools
import os
import resource
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .paths import REPO

UNSHARE = ["unshare", "--user", "--map-root-user", "--net", "--mount", "--"]


@functools.cache
def isolation_available() -> bool:
    """Whether this machine lets an ordinary process create user, network and mount namespaces."""
    if os.environ.get("AUTOGRADER_ISOLATION", "1") == "0" or shutil.which("unshare") is None:
        return False
    try:
        probe = UNSHARE + ["sh", "-c", "mount -t tmpfs -o ro,size=4k none /mnt 2>/dev/null || "
                                       "mount -t tmpfs -o ro,size=4k none /tmp"]
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def hidden_from_env() -> list[Path]:
    """Extra paths to hide, set by a parent grader for its children: ``AUTOGRADER_HIDE=path1:path2``."""
    return [Path(p) for p in os.environ.get("AUTOGRADER_HIDE", "").split(os.pathsep) if p]


@dataclass
class Sandbox:
    memory_bytes: int | None = int(os.environ.get("AUTOGRADER_MEMORY_BYTES", 8 * 2**30))
    file_bytes: int = 1 * 2**30
    hide: list[Path] = field(default_factory=list)  # covered by an empty tmpfs inside the worker's namespace
    isolate: bool = True                             # no network, hidden paths — when the machine allows it

    def argv(self, argv: list[str], root: Path | None = None) -> list[str]:
        """The command that runs ``argv`` inside the sandbox, started with ``root`` (the student's code) as its
        working directory: ``root`` stays visible even inside a hidden folder."""
        if not (self.isolate and isolation_available()):
            return argv
        # Never hide what the worker itself needs: the grader's code and Python.
        needed = [REPO, Path(sys.prefix).resolve()]
        own = Path(root).resolve() if root is not None else None
        mounts = []
        for path in (Path(p).resolve() for p in self.hide):
            if not path.exists() or any(n.is_relative_to(path) for n in needed):
                continue
            if own is not None and own.is_relative_to(path):
                # Cover the folder, then bind the student's own copy back into it. The shell's working directory
                # is that copy (the client starts the worker there), so "." still reaches it once it is covered —
                # as long as mount does not turn "." back into a path name (--no-canonicalize).
                mounts.append(f"mount -t tmpfs -o size=64k none {shlex.quote(str(path))} && "
                              f"mkdir -p {shlex.quote(str(own))} && "
                              f"mount --no-canonicalize --bind . {shlex.quote(str(own))}")
            else:
                mounts.append(f"mount -t tmpfs -o ro,size=4k none {shlex.quote(str(path))}")
        mounts = "".join(m + " && " for m in mounts)
        return UNSHARE + ["sh", "-c", mounts + 'exec "$@"', "sandbox", *argv]

    def limits(self) -> None:
        """Runs in the child before it starts: cap address space (CPU only), file size and core dumps."""
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes))
        # CUDA reserves huge virtual address ranges, so an address-space cap only works without a GPU.
        gpu = os.path.exists("/dev/nvidiactl") and not os.environ.get("PRETRAINING_DEVICE", "").startswith("cpu")
        if self.memory_bytes and not gpu:
            resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))

    def describe(self) -> str:
        if not self.isolate:
            return "sandbox: separate process with resource limits (isolation not requested)"
        if not isolation_available():
            return ("sandbox: separate process with resource limits; NO network or file isolation (this machine "
                    "does not allow user namespaces, or AUTOGRADER_ISOLATION=0)")
        return "sandbox: separate process, resource limits, no network, grader files hidden"
