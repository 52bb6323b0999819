"""The warm runner: a *zygote* process with the heavy imports done, forking one fresh worker per start.

A cold worker (``worker.py``) pays for ``import torch`` (1.5–3 s on a 2-core CPU) and, for the text sections,
``transformers``' model code (another 3–4 s) every time it starts: at every ``check()`` from a notebook, and at
every restart after a crash or a timeout while grading. The zygote pays once:

- It is started **exactly as a worker is** — the same sandbox command (minimal tree, namespaces, identity), the
  same environment, the same resource limits, ``python -I`` — with this file's source as ``-c`` in place of
  ``worker.py`` (so it needs nothing the worker's tree does not hold). It imports torch and numpy, says it is
  ready, and then — for a notebook's checks, where it serves many starts — imports the rest of
  :data:`PREIMPORT` while idle (transformers' GPT-2 and BERT code, scikit-learn, ...): from ``setup()``'s early
  start on (the student reads and writes code meanwhile), each import once no start has been asked for
  :data:`QUIET_SECONDS`; a request that arrives during one of those imports waits for it to end. It never
  imports the student's package and never runs a tensor operation, so torch's thread pools are not started
  when it forks (the child sets its own threads).
- Each :class:`Worker <autograder.client.Worker>` start asks it to ``fork()``. The child gets a channel of its
  own (a socket the client created), its own session and its own environment (TMPDIR, HOME), and runs
  ``worker.main`` — the same code a cold worker runs — which imports the student's code *as it is on disk now*:
  a changed module is picked up at the next start. Student code therefore still runs in a fresh process per
  worker start, in the sandbox, and everything it sends is plain data the grader checks.
- The client learns the child's real process id from the kernel (``SO_PASSCRED`` on the child's first message,
  sent by trusted code before any student code is imported), so it kills the child's process group itself;
  the zygote, the child's parent, reports exit codes. In the namespaces sandbox the zygote has a PID namespace
  of its own: when a child has ended it kills every other process left there (what a cold worker's namespace
  does when it dies), and it reaps orphans as the namespace's subreaper.

One zygote serves every worker start in this process whose sandbox command, environment (but TMPDIR and HOME)
and limits are the same (:func:`spawn` keys on them). A notebook's ``check()`` calls share one (its check server
keeps one sandbox); ``grade`` shares one between a submission's worker restarts. Student code runs as the
zygote's child, as the same user: a hostile submission could disturb (kill, or with ptrace rights tamper with)
the zygote that its own later starts fork from. Where there is isolation, two students never share one: in the
namespaces sandbox the command names the student's folder, and as root every sandbox has a uid of its own
(without isolation nothing separates two students in one process anyway). If the zygote dies, the next start makes a new
one; if it cannot start at all, workers start cold as before. ``AUTOGRADER_WARM=0`` turns the zygote off.

This file has two halves: the client (imported as ``autograder.warm``) and the zygote (``python -I -c
<this source> WORKER.py``, stdlib-only until it imports torch). At the end: a notebook's check server.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

STARTUP_SECONDS = 120.0  # importing torch on a cold, busy machine
# Imported by the zygote while it waits, most needed first; each is tried once, failures are ignored (a child
# then imports it itself, cold). Nothing here may start a thread pool or run a tensor operation.
PREIMPORT = ["torch.nn.functional", "transformers", "transformers.models.gpt2.modeling_gpt2",
             "transformers.models.bert.modeling_bert", "transformers.models.llama.modeling_llama",
             "transformers.models.auto.modeling_auto",
             "transformers.models.auto.tokenization_auto", "tqdm.auto", "scipy.stats", "sklearn.linear_model"]
# Only where a zygote is sure to serve many starts (a notebook's check server sets this): elsewhere — one
# ``grade`` — its children need what a cold worker imports, and idle imports would only compete for the CPU.
IDLE_IMPORTS = False
QUIET_SECONDS = 1.0  # an idle import starts only when no worker start has been asked for this long
MAX_ZYGOTES = 2  # per process (a grade holds two: the submission's and the reference's); least recently used closed
_CREDS = struct.Struct("3i")  # struct ucred: pid, uid, gid


def enabled() -> bool:
    return os.environ.get("AUTOGRADER_WARM", "1") != "0" and sys.platform.startswith("linux")


# ================================================================================================ zygote side
def _send(sock: socket.socket, message: dict, fds=()) -> None:
    socket.send_fds(sock, [json.dumps(message).encode()], list(fds))


def _receive(sock: socket.socket, maxfds: int = 0):
    data, fds, _, _ = socket.recv_fds(sock, 1 << 16, maxfds)
    if not data:
        for fd in fds:
            os.close(fd)
        raise EOFError("the other side closed the channel")
    return json.loads(data), fds


def _load_worker(path: str):
    spec = importlib.util.spec_from_file_location("_autograder_worker", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _child(control: socket.socket, fds: list[int], request: dict, worker) -> None:
    """In the forked child: become a worker on the channel ``fds[0]`` (stderr to ``fds[1]``), with the
    request's arguments and environment. Never returns."""
    code = 0
    try:
        os.setsid()  # its own process group: the client kills it and all it starts, and nothing else
        control.close()  # student code must never reach the zygote's control channel
        channel, log = fds
        os.dup2(channel, 0)
        os.dup2(channel, 1)
        os.dup2(log, 2)
        os.close(channel)
        os.close(log)
        os.environ.clear()  # this worker's own environment (its TMPDIR, HOME), not the zygote's first one
        os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
        sys.argv = [worker.__file__, *(str(a) for a in request.get("args", []))]
        worker.main()  # exactly what a cold worker runs: private channel copies, sys.path, chdir, serve
    except BaseException:  # noqa: BLE001 — report, then exit; never fall back into the zygote's loop
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:  # noqa: BLE001
                pass
        os._exit(code)


def _exit_code(status: int) -> int:
    return os.waitstatus_to_exitcode(status)  # negative: killed by that signal, as Popen.returncode


def _own_pid_namespace(host: str) -> bool:
    """Whether this zygote has a PID namespace of its own (the sandbox's), where killing every other process
    it can signal hits only what its children left behind."""
    try:
        return bool(host) and os.readlink("/proc/self/ns/pid") != host and os.getpid() != 1
    except OSError:
        return False


def zygote_main(worker_path: str, idle_imports: bool) -> None:
    # The control channel arrives as stdin (a socket); keep a private copy, and make fds 0/1 harmless so that
    # nothing an import prints can corrupt it.
    control = socket.socket(fileno=os.dup(0))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    os.close(devnull)
    worker = _load_worker(worker_path)  # first: it puts the grader's PYTHONPATH on sys.path, as a cold worker does
    import numpy  # noqa: F401 — what every worker needs before it can answer
    import torch  # noqa: F401

    try:  # orphans of our children (a student's daemon) are reparented to us, so that we reap them
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass
    _send(control, {"ready": True, "threads": len(os.listdir("/proc/self/task"))})
    pending = list(PREIMPORT) if idle_imports else []
    forks = 0  # idle imports wait for the second fork (the check server's warm-up is the first, and a check
    # whose fork arrived in the middle of importing transformers would wait for it), or for a status request
    # with "start" (setup()'s early start: begin_idle_imports); and each waits until no fork has been asked for
    # QUIET_SECONDS, since checks run back to back (a notebook run as a script) would otherwise wait for them
    last_fork = time.monotonic()
    exited: dict[int, int] = {}
    children: set[int] = set()
    sweep = False

    def reap(block_for: float = 0.0, pid: int | None = None, everything: bool = False) -> None:
        """Collect exit codes (of our children; orphans handed to us as subreaper are only reaped), waiting up
        to ``block_for`` seconds for ``pid`` to exit, or, with ``everything``, for no process to be left."""
        deadline = time.monotonic() + block_for
        while True:
            try:
                got, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if got:
                if got in children:
                    exited[got] = _exit_code(status)
                    children.discard(got)
                continue
            if (not everything and (pid is None or pid in exited)) or time.monotonic() >= deadline:
                return
            time.sleep(0.005)

    while True:
        quiet = max(0.0, last_fork + QUIET_SECONDS - time.monotonic()) if pending and forks >= 2 else None
        ready, _, _ = select.select([control], [], [], quiet)
        if not ready:
            name = pending.pop(0)
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 — optional: a child imports it itself if it needs it
                pass
            continue
        try:
            request, fds = _receive(control, maxfds=2)
        except (EOFError, OSError, ValueError):
            break  # the client is gone: so are we, and so are our children
        reap()
        if request.get("op") == "fork" and len(fds) == 2:
            try:
                pid = os.fork()
            except OSError as exc:  # e.g. the process limit, reached by what an earlier child left running
                for fd in fds:
                    os.close(fd)
                _send(control, {"error": f"fork failed: {exc}"})
                continue
            if pid == 0:
                _child(control, fds, request, worker)
            for fd in fds:
                os.close(fd)
            children.add(pid)
            forks += 1
            last_fork = time.monotonic()
            sweep = _own_pid_namespace(str(request.get("host_pidns", "")))
            _send(control, {"pid": pid})
        elif request.get("op") == "status":
            forks = max(forks, 2) if request.get("start") else forks  # someone waits for the idle imports
            _send(control, {"pending": len(pending), "children": len(children)})
        elif request.get("op") == "kill":  # a child that never spoke: the client does not know its real pid
            pid = int(request.get("pid", 0))
            if pid in children:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
            _send(control, {"pid": pid})
        elif request.get("op") == "wait":
            pid = int(request.get("pid", 0))
            reap(float(request.get("timeout", 0.0)), pid)
            code = exited.pop(pid, None)
            if code is not None and not children and sweep:
                # As a cold worker's PID namespace dies whole: whatever the finished child left behind (daemons,
                # double forks in sessions of their own) dies now, before the next child starts.
                try:
                    os.kill(-1, signal.SIGKILL)  # every process here but this one and the namespace's first
                except OSError:
                    pass
                reap(1.0, everything=True)
            _send(control, {"pid": pid, "code": code})
        else:
            for fd in fds:
                os.close(fd)
            _send(control, {"error": f"unknown request {request.get('op')!r}"})
    for pid in children:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


# ================================================================================================ client side
class ZygoteError(RuntimeError):
    """The zygote could not start or answer: the caller starts a cold worker instead."""


class Zygote:
    """One running zygote and its control channel (requests are answered in order; a lock keeps them so)."""

    def __init__(self, argv: list[str], env: dict, cwd: Path, preexec_fn=None):
        self.lock = threading.Lock()
        self.log = tempfile.TemporaryFile()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(argv, stdin=theirs, stdout=theirs, stderr=self.log, cwd=cwd, env=env,
                                         start_new_session=True, preexec_fn=preexec_fn)
        finally:
            theirs.close()
        self.control = ours
        self.started = time.monotonic()
        self.live = 0  # forked workers not yet waited for: a zygote with any is never evicted
        try:
            reply = self._ask(None, STARTUP_SECONDS)
        except ZygoteError:
            self.close()
            raise
        if not reply.get("ready"):
            self.close()
            raise ZygoteError(f"the zygote did not start: {reply}")
        self.threads = int(reply.get("threads", 0))

    def _ask(self, request: dict | None, timeout: float, fds=()) -> dict:
        if request is not None:
            try:
                _send(self.control, request, fds)
            except OSError as exc:
                raise ZygoteError(f"the zygote is gone ({exc})") from None
        ready, _, _ = select.select([self.control], [], [], timeout)
        if not ready:
            raise ZygoteError(f"the zygote did not answer within {timeout:g} s")
        try:
            reply, extra = _receive(self.control)
        except (EOFError, OSError, ValueError) as exc:
            raise ZygoteError(f"the zygote is gone ({exc}): {self.stderr()[-2000:]}") from None
        return reply

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def fork(self, args: list[str], env: dict, log, timeout: float = STARTUP_SECONDS) -> "WarmChild":
        """A new worker process: ``worker.py ARGS`` with ``env`` forked from the zygote, its stderr into ``log``."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # the kernel tells us who writes
            with self.lock:
                reply = self._ask({"op": "fork", "args": args, "env": env, "host_pidns": _pid_namespace()}, 30.0,
                                  fds=[theirs.fileno(), log.fileno()])
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        if "pid" not in reply:
            ours.close()
            raise ZygoteError(f"the zygote could not fork: {reply}")
        return WarmChild(self, ours, int(reply["pid"]), timeout)

    def wait(self, pid: int, timeout: float) -> int | None:
        with self.lock:
            return self._ask({"op": "wait", "pid": pid, "timeout": timeout}, timeout + 30.0).get("code")

    def kill(self, pid: int) -> None:
        with self.lock:
            self._ask({"op": "kill", "pid": pid}, 30.0)

    def status(self, start: bool = False, timeout: float = 30.0) -> dict:
        """``pending`` (idle imports not done yet) and ``children``; with ``start``, the zygote begins its idle
        imports now if it had not (each after :data:`QUIET_SECONDS` without a start). A request during one of those
        imports waits for it to end."""
        with self.lock:
            return self._ask({"op": "status", "start": start}, timeout)

    def settle(self, timeout: float = STARTUP_SECONDS) -> bool:
        """Wait until the zygote has done all its idle imports."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.status(start=True, timeout=max(1.0, deadline - time.monotonic())).get("pending", 0) == 0:
                return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        """Kill the zygote (its process group); its children die when it sees the channel close, or with it."""
        try:
            self.control.close()
        except OSError:
            pass
        if self.proc is not None:
            try:  # at once: with the sandbox's first process (unshare) goes its whole PID namespace
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self.proc = None
        self.log.close()


class WarmChild:
    """A forked worker, shaped like the ``subprocess.Popen`` that ``client.Worker`` uses: ``pid`` (its real
    process id, also its process group), ``stdin``, ``stdout`` and ``wait()``."""

    def __init__(self, zygote: Zygote, channel: socket.socket, zygote_pid: int, timeout: float):
        self.zygote, self.channel, self.zygote_pid = zygote, channel, zygote_pid
        self.returncode: int | None = None
        zygote.live += 1
        try:
            self.pid = self._peer_pid(timeout)
        except BaseException:
            self._abandon()
            raise
        self.stdin = os.fdopen(os.dup(channel.fileno()), "wb")
        self.stdout = os.fdopen(os.dup(channel.fileno()), "rb", buffering=0)
        channel.close()

    def _peer_pid(self, timeout: float) -> int:
        """The process id (in our namespace) of whoever wrote the first byte: the child's trusted start-up code."""
        ready, _, _ = select.select([self.channel], [], [], timeout)
        if not ready:
            raise ZygoteError(f"the forked worker did not start within {timeout:g} s")
        data, ancillary, _, _ = self.channel.recvmsg(1, socket.CMSG_SPACE(_CREDS.size), socket.MSG_PEEK)
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = _CREDS.unpack(payload[:_CREDS.size])[0]
                if pid > 0 and data:
                    return pid
        raise ZygoteError("the forked worker died before it started: " + self.zygote.stderr()[-2000:])

    def _abandon(self) -> None:
        self.channel.close()
        self.pid = None
        self.wait()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Its exit code as ``Popen.returncode`` (negative: killed by that signal), from the zygote, its parent.
        A child that closed its channel but lingers is killed first."""
        if self.returncode is not None:
            return self.returncode
        code = None
        try:
            code = self.zygote.wait(self.zygote_pid, 5.0)
            if code is None:
                self.kill()
                code = self.zygote.wait(self.zygote_pid, 10.0)
        except ZygoteError:
            pass
        self.returncode = code if code is not None else -signal.SIGKILL
        self.zygote.live -= 1
        return self.returncode

    def kill(self) -> None:
        if getattr(self, "pid", None):
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        else:
            self.zygote.kill(self.zygote_pid)


_ZYGOTES: dict[tuple, Zygote] = {}
_FAILED: set[tuple] = set()
_LOCK = threading.Lock()


_PER_WORKER_ENV = ("TMPDIR", "HOME")  # a worker's own scratch folder: handed to each child, not in the key


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def zygote_command(argv: list[str]) -> tuple[list[str], list[str]] | None:
    """Split a worker's command ``[... python -I WORKER.py ARGS]`` into the zygote's command — the same, with
    ``-c <this file's source> WORKER.py`` in place of the worker (so it needs nothing the worker's sandbox does
    not already hold) — and the worker's own ``ARGS``, sent with each fork. None when ``argv`` is not
    recognisably a worker's command."""
    for i in range(len(argv) - 1, 0, -1):
        if Path(argv[i]).name == "worker.py" and argv[i - 1] == "-I":
            return argv[:i] + ["-c", _SOURCE, argv[i], "idle-imports" if IDLE_IMPORTS else "-"], argv[i + 1:]
    return None


def _config(limits) -> str:
    """What else a worker start depends on: the sandbox's settings (its resource limits), not its bookkeeping."""
    owner = getattr(limits, "__self__", None)
    if owner is None or not dataclasses.is_dataclass(owner):
        return repr(limits)
    # The list of paths to hide decides nothing a process can see here: the command (its mounts) or the files'
    # permissions do, and the command is part of the key already.
    return repr({f.name: getattr(owner, f.name) for f in dataclasses.fields(owner) if f.name != "hide"})


def spawn(argv: list[str], *, env: dict, cwd: Path, log, limits=None) -> WarmChild | None:
    """Start the worker ``argv`` as ``Worker._spawn`` would (``env``, ``cwd``, ``preexec_fn=limits``, stderr to
    ``log``) by forking it from a zygote started with the same command, environment and limits. None when the
    zygote is off or cannot be used: the caller then starts the worker cold."""
    if not enabled():
        return None
    split = zygote_command(argv)
    if split is None:
        return None
    command, args = split
    key = (tuple(command), tuple(sorted((k, v) for k, v in env.items() if k not in _PER_WORKER_ENV)),
           str(Path(cwd).resolve()) if any(str(cwd) in a for a in command) else "", _config(limits))
    with _LOCK:
        if key in _FAILED:
            return None
        zygote = _ZYGOTES.pop(key, None)
        if zygote is not None and not zygote.alive():
            zygote.close()
            zygote = None
        for attempt in range(2):  # a zygote that died since its last fork is replaced once
            fresh = zygote is None
            try:
                if fresh:
                    zygote = Zygote(command, env, cwd, limits)
                child = zygote.fork(args, env, log)
                break
            except ZygoteError:
                if zygote is not None:
                    zygote.close()
                zygote = None
                if fresh:  # a new zygote that cannot start or fork: start this configuration's workers cold
                    _FAILED.add(key)
                    return None
        _ZYGOTES[key] = zygote  # most recently used last
        idle = [k for k, z in _ZYGOTES.items() if z.live == 0 and k != key]  # least recently used first
        for old in idle[:max(0, len(_ZYGOTES) - MAX_ZYGOTES)]:
            _ZYGOTES.pop(old).close()
    return child


# ============================================================================ a notebook's check() calls
def check_report(code: Path, pattern: str | None, sandbox=None) -> tuple[str, bool]:
    """The public checks matching ``pattern`` on the code in ``code``: the table ``python -m autograder check``
    prints, and whether every check passed. ``sandbox`` (one kept across calls) lets every call fork from the
    same zygote; as root, each new sandbox has a uid of its own."""
    from .client import Worker
    from .grading import run_checks, table
    from .oracle import SnapshotReference
    from .paths import PUBLIC_REFERENCES

    with Worker(Path(code), sandbox) as student:
        results, errors = run_checks(student, SnapshotReference(PUBLIC_REFERENCES), ("public",), pattern)
    lines = errors + [table(results)] + ([f"no public check matches {pattern!r}"] if not results else [])
    return "\n".join(lines), bool(results) and all(r.passed for r in results) and not errors


def serve_checks() -> None:
    """The check server (trusted: it runs the checks, never student code): one JSON request per line on stdin,
    ``{"code": folder, "k": pattern}``, one reply per line, ``{"output": table, "ok": bool}``. Its first act is to
    start the zygote for the first request's folder, while pytest and the checks' modules are imported; a first
    request ``{"code": folder, "warm": true}`` (from a notebook's ``setup()``) asks for only that, and for the zygote's
    idle imports at once (:func:`begin_idle_imports`), and gets no reply."""
    channel_in, channel_out = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # whatever pytest or a check prints cannot corrupt the replies
    from .client import Worker
    from .sandbox import Sandbox

    global IDLE_IMPORTS
    IDLE_IMPORTS = True  # this zygote serves every check of the notebook session
    # The checks need no installed pytest plugin (xdist, anyio, ...): loading them is most of pytest's start.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    sandbox = Sandbox()
    first = channel_in.readline()
    if not first:
        return

    def prestart():
        worker = Worker(Path(json.loads(first)["code"]), sandbox)
        try:
            worker._start()
        except Exception:  # noqa: BLE001 — the request itself will say what is wrong
            pass
        finally:
            worker.close()

    starting = threading.Thread(target=prestart, daemon=True)
    starting.start()
    from . import grading  # noqa: F401 — pytest and the checks' imports, while the zygote imports torch

    starting.join()
    if json.loads(first).get("warm"):
        begin_idle_imports()  # setup()'s start: the student's first check comes minutes later, not at once
    line = first
    while line:
        request = json.loads(line)
        if request.get("warm"):  # setup()'s early start: nothing to run, and no reply
            line = channel_in.readline()
            continue
        if request.get("settle"):
            channel_out.write(json.dumps({"output": "", "ok": settle()}).encode() + b"\n")
            channel_out.flush()
            line = channel_in.readline()
            continue
        try:
            output, ok = check_report(Path(request["code"]), request.get("k"), sandbox)
        except Exception as exc:  # noqa: BLE001 — reported to the notebook, which falls back to a cold run
            output, ok = f"the check runner failed: {type(exc).__name__}: {exc}", None
        # pytest collects garbage "harder" at the end of every run; what is loaded by now (pytest, the checks'
        # modules) stays loaded, so keep it out of those collections: they then cost milliseconds, not 0.5 s.
        gc.freeze()
        channel_out.write(json.dumps({"output": output, "ok": ok}).encode() + b"\n")
        channel_out.flush()
        line = channel_in.readline()


class CheckServer:
    """A notebook's connection to its check server (started by ``setup()`` or the first ``check()``, with ``env``)."""

    def __init__(self, env: dict, cwd: Path):
        self.env = dict(env)
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-c", "from autograder.warm import serve_checks; serve_checks()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=cwd,
                                     env=self.env)

    def run(self, code: Path, pattern: str | None) -> tuple[str, bool]:
        try:
            self.proc.stdin.write(json.dumps({"code": str(code), "k": pattern}).encode() + b"\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BaseException:  # an interrupted check leaves the server mid-request: never reuse it
            self.close()
            raise
        reply = json.loads(line) if line else {}
        if reply.get("ok") is None:
            self.close()
            self.log.seek(0)
            raise ZygoteError(reply.get("output") or "the check runner stopped: "
                              + self.log.read().decode(errors="replace")[-2000:])
        return reply["output"], bool(reply["ok"])

    def settle(self) -> bool:
        self.proc.stdin.write(b'{"settle": true}\n')
        self.proc.stdin.flush()
        return bool(json.loads(self.proc.stdout.readline() or b"{}").get("ok"))

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # its zygote sees its control channel close and exits with its children
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                stream.close()
            self.proc = None


_SERVER: CheckServer | None = None
# What configures the checks: a change to one of these restarts the check server. Other variables are not
# compared, because the libraries a notebook imports write to its environment as they work (torch's compiler
# sets TORCHINDUCTOR_CACHE_DIR when it first looks for its cache), and a restart costs the whole start again.
SETTINGS_PREFIXES = ("PRETRAINING_", "AUTOGRADER_", "HF_", "TRANSFORMERS_", "PYTHON", "PYTEST_")


def _settings(env: dict) -> dict:
    from .sandbox import ENV_ALLOWED  # what the worker is given

    return {k: v for k, v in env.items() if k.startswith(SETTINGS_PREFIXES) or k in ENV_ALLOWED}


def _server_for(env: dict, cwd: Path) -> CheckServer:
    """The running check server, or a new one when there is none, it stopped, or a setting has changed."""
    global _SERVER
    if _SERVER is not None and (_SERVER.proc is None or _SERVER.proc.poll() is not None
                                or _settings(_SERVER.env) != _settings(env)):
        _SERVER.close()
        _SERVER = None
    if _SERVER is None:
        _SERVER = CheckServer(env, cwd)
    return _SERVER


def start_checks(code: Path, env: dict, cwd: Path) -> None:
    """Start the notebook's check server now, in the background (``setup()`` does): by the student's first
    ``check()`` its zygote has imported torch, and that call costs what a later one does."""
    server = _server_for(env, cwd)
    server.proc.stdin.write(json.dumps({"code": str(code), "warm": True}).encode() + b"\n")
    server.proc.stdin.flush()


def run_check(code: Path, pattern: str | None, env: dict, cwd: Path) -> tuple[str, bool]:
    """Run the public checks for a notebook through its check server, started (or restarted, when a setting of
    ``env`` has changed or it stopped) as needed. Raises :class:`ZygoteError` when it fails: the caller runs them
    cold."""
    global _SERVER
    _server_for(env, cwd)
    try:
        return _SERVER.run(code, pattern)
    except ZygoteError:
        _SERVER = None
        raise


def begin_idle_imports() -> None:
    """Let every zygote of this process start its idle imports now rather than at its second fork: a notebook's
    ``setup()`` asks for this, since a student's first ``check()`` comes after reading and writing code, and is then
    as warm as the later ones (a check that arrives during an import waits for that import to end)."""
    with _LOCK:
        zygotes = [z for z in _ZYGOTES.values() if z.alive()]
    for zygote in zygotes:
        try:
            zygote.status(start=True)
        except ZygoteError:
            pass  # the next start makes a new one


def settle(timeout: float = STARTUP_SECONDS) -> bool:
    """Wait until every zygote of this process — and of this notebook's check server — has finished its idle
    imports: what benchmarks and tests of the steady state wait for."""
    with _LOCK:
        zygotes = list(_ZYGOTES.values())
    done = all(z.settle(timeout) for z in zygotes if z.alive())
    if _SERVER is not None and _SERVER.proc is not None:
        done = _SERVER.settle() and done
    return done


def shutdown() -> None:
    """Close every zygote of this process (also done at exit)."""
    global _SERVER
    if _SERVER is not None:
        _SERVER.close()
        _SERVER = None
    with _LOCK:
        while _ZYGOTES:
            _ZYGOTES.popitem()[1].close()


import atexit  # noqa: E402

atexit.register(shutdown)
try:
    _SOURCE = Path(__file__).read_text()
except NameError:  # running as the zygote (`-c`): there is no file, and the zygote needs no copy of itself
    _SOURCE = ""


if __name__ == "__main__":  # the zygote: `python -I -c <this source> WORKER.py`
    zygote_main(sys.argv[1], sys.argv[2:3] == ["idle-imports"])
