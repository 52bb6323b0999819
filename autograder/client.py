"""Talk to a worker process that runs one submission's code (see ``worker.py``).

A :class:`Worker` starts lazily, is reused across calls, and is killed and restarted after a timeout or a
crash, so one bad call costs one check and never the next. Every failure of student code reaches the
check as a :class:`StudentError` with a message written for the student.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import codec
from .sandbox import Sandbox

WORKER = Path(__file__).resolve().parent / "worker.py"
MAX_REPLY_BYTES = 256 * 2**20
STARTUP_SECONDS = 120.0  # importing torch on a cold, busy machine


class StudentError(AssertionError):
    """Student code failed: not implemented, raised, hung, crashed, or returned something unusable.

    ``kind`` is one of ``not_implemented``, ``import``, ``exception``, ``timeout``, ``crash``, ``protocol``.
    """

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


def describe(target: str) -> str:
    """'pretraining.autoencoder:reconstruction_loss' → 'autoencoder.reconstruction_loss'."""
    if target.startswith("probe:"):
        return target.split(":", 2)[2]
    module, func = target.split(":")
    return f"{module.removeprefix('pretraining.')}.{func}"


class Worker:
    """A separate Python process that imports the code under ``root`` and answers calls."""

    def __init__(self, root: Path, sandbox: Sandbox | None = None):
        self.root = Path(root).resolve()
        self.sandbox = sandbox or Sandbox()
        self.proc: subprocess.Popen | None = None
        self.log = tempfile.TemporaryFile()
        self._buffer = b""

    # -- process management ---------------------------------------------------------------------
    def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_SECRET")}
        env.update({"HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
                    "AUTOGRADER_PYTHONPATH": os.environ.get("PYTHONPATH", "")})
        self.proc = subprocess.Popen(
            self.sandbox.argv([sys.executable, "-I", str(WORKER), str(self.root)], root=self.root),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            cwd=self.root, env=env, start_new_session=True, preexec_fn=self.sandbox.limits,
        )
        self._buffer = b""
        self._read(time.monotonic() + STARTUP_SECONDS, "starting Python for your code")

    def close(self) -> None:
        """Kill the worker and everything it started (its whole process group)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                stream.close()
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        self.log.close()

    # -- one request ----------------------------------------------------------------------------
    def _read(self, deadline: float, doing: str):
        out = self.proc.stdout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise StudentError("timeout", f"timed out while {doing}")
            ready, _, _ = select.select([out], [], [], left)
            if not ready:
                continue
            chunk = os.read(out.fileno(), 1 << 20)
            if not chunk:
                code = self.proc.wait()
                self.close()
                reason = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
                if code in (-signal.SIGKILL, -signal.SIGSEGV):
                    reason += " (out of memory?)"
                raise StudentError("crash", f"the Python process running your code {reason} while {doing}")
            self._buffer += chunk
            if len(self._buffer) > MAX_REPLY_BYTES:
                self.close()
                raise StudentError("protocol", f"your code returned more than {MAX_REPLY_BYTES >> 20} MiB")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return codec.loads(line)
        except (ValueError, KeyError, TypeError) as exc:
            self.close()
            raise StudentError("protocol", f"the reply from your code's process was garbled ({exc})") from None

    def call(self, target: str, *args, seed: int = 0, timeout: float = 60.0, **kwargs):
        """Run ``target(*args, **kwargs)`` in the worker and return its value as plain data.

        ``target`` is ``"pretraining.module:function"`` or ``"probe:NAME:FUNC"`` (a trusted helper from
        ``autograder/probes/`` that runs inside the worker and reports plain data about student objects).
        Arrays in ``args`` arrive as torch tensors (``codec.Array(kind="tensor")``) or numpy arrays.
        """
        if self.proc is None:
            self._start()
        name = describe(target)
        request = codec.dumps({"op": "call", "target": target, "args": list(args), "kwargs": kwargs, "seed": seed})
        try:
            self.proc.stdin.write(request)
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.close()
            raise StudentError("crash", f"the Python process running your code died before {name} was called")
        reply = self._read(time.monotonic() + timeout, f"running {name}")
        if not isinstance(reply, dict) or "ok" not in reply:
            raise StudentError("protocol", "the reply from your code's process was garbled")
        if reply["ok"]:
            return reply.get("value")
        raise _student_error(name, reply.get("error") or {})


def _student_error(name: str, error: dict) -> StudentError:
    kind, typ, message, where = (str(error.get(k, "")) for k in ("kind", "type", "message", "where"))
    at = f"\n  at {where}" if where else ""
    if kind == "not_implemented":
        if "not implemented yet" in message:  # a stub's own message already names the function
            return StudentError(kind, message)
        return StudentError(kind, f"{name} is not implemented yet." + (f" {message}" if message else ""))
    if kind == "import":
        return StudentError(kind, f"could not import the code for {name}: {typ}: {message}{at}")
    return StudentError(kind, f"{name} raised {typ}: {message}{at}")
