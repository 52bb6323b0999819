"""Talk to a worker process that runs one submission's code (see ``worker.py``).

A :class:`Worker` starts lazily, is reused across calls, and is killed and restarted after a timeout or a
crash, so one bad call costs one check and never the next. Every failure of student code reaches the
check as a :class:`StudentError` with a message written for the student.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import codec, warm
from .sandbox import Sandbox, init_pid_of

WORKER = Path(__file__).resolve().parent / "worker.py"
MAX_REPLY_BYTES = 256 * 2**20
STARTUP_SECONDS = 120.0  # importing torch on a cold, busy machine


class StudentError(AssertionError):
    """Student code failed: not implemented, raised, hung, crashed, or returned something unusable.

    ``kind`` is one of ``not_implemented``, ``import``, ``exception``, ``timeout``, ``crash``, ``protocol``,
    ``startup`` (the worker could not start, twice: not the student's fault).
    """

    def __init__(self, kind: str, message: str):
        message = clean_text(message)
        super().__init__(message)
        self.kind = kind
        self.message = message


MAX_MESSAGE_CHARS = 2000
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")  # CSI, OSC, 2-byte escapes
_UNPRINTABLE = {c: None for c in [*range(0, 9), *range(11, 32), 127, *range(0x80, 0xA0), 0x200B, 0x200E, 0x200F,
                                  *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]}


def clean_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Text that came from student code, safe to put in a report: no control characters (terminal escapes,
    carriage returns, direction overrides) and at most ``limit`` characters."""
    text = _ANSI.sub("", str(text)).translate(_UNPRINTABLE)
    return text if len(text) <= limit else text[:limit - 30] + f" … [{len(text) - limit + 30} characters cut]"


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
        self.restarts = 0  # worker starts that failed before any student code ran
        self._seq = 0

    # -- process management ---------------------------------------------------------------------
    def _spawn(self) -> subprocess.Popen:
        """Start the worker process inside the sandbox (the one place a worker process is created)."""
        self.sandbox.prepare(self.root)
        argv = self.sandbox.argv([sys.executable, "-I", str(WORKER), str(self.root)], root=self.root)
        env = self.sandbox.environ(self.root)
        # Warm start: forked from a zygote that was started with this very command (autograder/warm.py).
        return warm.spawn(argv, env=env, cwd=self.root, log=self.log, limits=self.sandbox.limits) or subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
            cwd=self.root, env=env, start_new_session=True,
            preexec_fn=self.sandbox.limits,
        )

    def _start(self) -> None:
        """Start the worker and wait for it to be ready. A worker that dies while starting (e.g. killed by a
        busy host's out-of-memory killer) before any student code has run is started once more."""
        for attempt in (1, 2):
            self.proc, self._buffer, self.init_pid = self._spawn(), b"", None
            try:
                self._read(time.monotonic() + STARTUP_SECONDS, "starting Python for your code")
            except StudentError as exc:
                if exc.kind not in ("crash", "timeout"):
                    raise
                self.restarts += 1
                if attempt == 2:  # no student code runs before "ready": this is the machine's fault
                    raise StudentError("startup", "grader error, not your fault — please tell the course staff: "
                                       f"{exc.message.replace('your code', 'the checks')} (twice: it was "
                                       "started again after the first failure)") from None
                continue
            self.init_pid = init_pid_of(self.proc.pid)
            return

    def close(self) -> None:
        """Kill the worker and everything it started (its whole process group; in the namespaces sandbox its
        whole PID namespace), and return once they are all gone."""
        if self.proc is not None:
            self.sandbox.reap(self.proc, getattr(self, "init_pid", None))
            for stream in (self.proc.stdin, self.proc.stdout):
                stream.close()
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        self.log.close()
        self.sandbox.cleanup()

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
                if code > 128 and self.sandbox.mode == "namespaces":  # the sandbox's shell reports 128 + signal
                    code = -(code - 128)
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
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # also JSON nested too deep
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
        self._seq += 1  # each reply must name its request: a line written ahead by student code answers nothing
        request = codec.dumps({"op": "call", "id": self._seq, "target": target, "args": list(args), "kwargs": kwargs,
                               "seed": seed})
        try:
            self.proc.stdin.write(request)
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.close()
            raise StudentError("crash", f"the Python process running your code died before {name} was called")
        reply = self._read(time.monotonic() + timeout, f"running {name}")
        if not isinstance(reply, dict) or "ok" not in reply or reply.get("id") != self._seq:
            self.close()
            raise StudentError("protocol", "the reply from your code's process was garbled (something in your code "
                                           "wrote to the channel that carries the answers)")
        if reply["ok"]:
            return reply.get("value")
        error = reply.get("error")
        raise _student_error(name, error if isinstance(error, dict) else {})


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
