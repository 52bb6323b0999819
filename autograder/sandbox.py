"""How a worker process is confined: what it sees, who it is, what it may use, and that it dies whole.

The client asks a :class:`Sandbox` for the command that starts the worker (:meth:`Sandbox.argv`), the
environment to give it (:meth:`Sandbox.environ`), the limits to apply (:meth:`Sandbox.limits`), and, at the
end, to make sure every process the student started is gone (:meth:`Sandbox.reap`). Three modes, chosen once
per machine (:func:`isolation_mode`); docs/SECURITY.md is the threat model.

``namespaces`` — Linux lets us create namespaces (as root, or as a user through a user namespace):

- **A fresh minimal tree.** The worker's ``/`` is a new tmpfs holding only, read-only: the system's ``/usr``
  (and the ``/bin``, ``/lib`` links), the Python it runs (``sys.base_prefix`` and the virtual environment),
  the trusted worker code (``worker.py``, ``codec.py``, ``probes/``) at ``/sandbox/worker``, the student's
  private copy at ``/sandbox/code``, the shipped ``data/`` at ``/sandbox/data``; a few device nodes; a fresh
  ``/proc`` of its own PID namespace; a private, size-capped ``/tmp``. The repository, ``.git``, the solutions,
  the checks, the reference cache, the results and every other submission are simply not there: the old root
  is unmounted after ``pivot_root``. Path-named Unix sockets of the host are not in the tree either.
- **No network** (a network namespace with no interface up; abstract Unix sockets are per network namespace).
- **Not root, no capabilities, no way back.** Started as root, the worker drops to an unprivileged uid of its
  own (``setpriv --reuid``); started as a user, inside the user namespace it becomes uid 65534 of a nested
  namespace. Either way it holds no capability over its mount namespace (no ``umount``, no re-``mount``, no
  ``setns``) and ``no_new_privs`` is set, so no set-uid program gives any back.
- **Everything dies together.** A PID namespace whose first process is a small shell: killing the sandbox
  (``unshare --kill-child``) kills that shell, and the kernel then kills every process in the namespace,
  daemons and double forks included.

``uid`` — root, but namespaces are refused (Gradescope's containers): the worker runs as an unprivileged uid
of its own, so it reads only what is readable by "other" (``autograder/gradescope/setup.sh`` makes the
solutions, the hidden checks and the reference cache readable by root only) and writes nowhere the grader
keeps anything; at the end every process of that uid is killed. The uid is this sandbox's alone: it is claimed
with a lock that the sandbox holds as long as it lives (:func:`claim_uid`; a uid some process already runs as, or
that names an account, is never taken), so killing "every process of the uid" can only ever hit this
submission's processes — never the grader's (root), its reference side (root), or another job's worker.

``none`` — neither (a user on macOS, or ``AUTOGRADER_ISOLATION=0`` on purpose): a separate process with
resource limits, and nothing more. :meth:`Sandbox.describe` says which mode graded a submission.

In every mode: resource limits (address space on CPU, file size, open files, CPU time, processes), an
allow-listed environment (no token or key set for the grader reaches student code), and a private scratch
folder for TMPDIR. Nothing here ever kills by the grader's own identity: as an ordinary user the namespaces
mode's worker runs under the user's own uid, and its processes are reached only through its PID namespace
(or, without isolation, its process group), never as "every process of the uid". A batch's job process
(:mod:`autograder.batch`) also asks :func:`die_with_this_process`, so that its workers die with it however it
ends.
"""

from __future__ import annotations

import atexit
import ctypes
import fcntl
import functools
import itertools
import os
import pwd
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from .paths import REPO

HERE = Path(__file__).resolve().parent
INSIDE = Path("/sandbox")                       # where the worker's own files are, inside the tree
NESTED_UID = 65534                              # the worker's uid inside a nested user namespace (as a user)
UID_BASE = int(os.environ.get("AUTOGRADER_WORKER_UID_BASE", "200000"))  # as root: one uid per worker from here
UID_SPAN = 100_000
# The environment a worker gets: these names from the grader's environment, and nothing else.
ENV_ALLOWED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PRETRAINING_DEVICE", "PRETRAINING_ONLINE",
               "OMP_NUM_THREADS", "MKL_NUM_THREADS", "AUTOGRADER_THREADS", "CUDA_VISIBLE_DEVICES",
               "TORCH_CUDA_ARCH_LIST")
_uids = itertools.count()
_DIE_WITH: int | None = None                    # the process whose death kills every worker it starts
_LIBC = None
PR_SET_PDEATHSIG = 1


def die_with_this_process() -> None:
    """From now on every worker this process starts (a sandboxed one, the reference's, a warm zygote) is killed
    by the kernel when this process dies, however it dies (``PR_SET_PDEATHSIG``; in the namespaces mode the
    worker's ``unshare`` then takes its whole PID namespace with it). For a process that starts its workers
    from the thread that lives as long as it does (a batch's job: the signal follows the creating thread)."""
    global _DIE_WITH, _LIBC
    _LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here, not in the child between fork and exec
    _DIE_WITH = os.getpid()


def _command(args: list[str], timeout: float = 10) -> bool:
    try:
        return subprocess.run(args, capture_output=True, timeout=timeout).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _unshare(as_root: bool) -> list[str]:
    user = [] if as_root else ["--user", "--map-root-user"]
    return ["unshare", *user, "--mount", "--net", "--pid", "--fork", "--kill-child=SIGKILL", "--"]


@functools.cache
def isolation_mode() -> str:
    """``namespaces``, ``uid`` or ``none`` (see the module's docstring); ``AUTOGRADER_ISOLATION``: ``0`` turns
    isolation off, ``uid`` forces the uid-only mode (as root: how Gradescope's containers are graded)."""
    setting = os.environ.get("AUTOGRADER_ISOLATION", "1")
    root = os.geteuid() == 0
    if setting == "0" or sys.platform != "linux":
        return "none"
    tools = all(shutil.which(t) for t in ("unshare", "setpriv", "prlimit", "pivot_root", "mount"))
    if setting == "uid":
        return "uid" if root and tools else "none"
    probe = _unshare(root) + ["sh", "-c", "mount -t tmpfs -o size=4k none /mnt 2>/dev/null || "
                                          "mount -t tmpfs -o size=4k none /tmp"]
    if tools and _command(probe):
        return "namespaces"
    return "uid" if root and tools else "none"


def isolation_available() -> bool:
    """Whether workers run in the namespaces sandbox (minimal tree, no network, PID namespace)."""
    return isolation_mode() == "namespaces"


def hidden_from_env() -> list[Path]:
    """Extra paths to hide, set by a parent grader for its children: ``AUTOGRADER_HIDE=path1:path2``."""
    return [Path(p) for p in os.environ.get("AUTOGRADER_HIDE", "").split(os.pathsep) if p]


@functools.cache
def _mountpoint() -> Path:
    """An empty host folder that each worker's namespace mounts its new root over. On the host it stays empty
    (the mounts are the namespace's), so every worker of this user shares one, kept for good rather than one
    left behind by every grader killed before it could remove its own."""
    path = Path(tempfile.gettempdir()) / f"autograder-root-{os.geteuid()}"
    try:
        path.mkdir(mode=0o755, exist_ok=True)
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not any(path.iterdir()):
            return path
    except OSError:
        pass
    path = Path(tempfile.mkdtemp(prefix="autograder-root-"))  # someone else's, or not empty: a private one
    path.chmod(0o755)
    atexit.register(lambda: shutil.rmtree(path, ignore_errors=True))
    return path


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


@dataclass
class Sandbox:
    memory_bytes: int | None = int(os.environ.get("AUTOGRADER_MEMORY_BYTES", 8 * 2**30))
    file_bytes: int = 1 * 2**30
    open_files: int = 1024
    processes: int = int(os.environ.get("AUTOGRADER_MAX_PROCESSES", 256))
    cpu_seconds: int = int(os.environ.get("AUTOGRADER_CPU_SECONDS", 4 * 3600))
    tmp_bytes: int = 512 * 2**20                     # the private /tmp (memory-backed) in the namespaces mode
    hide: list[Path] = field(default_factory=list)  # what must stay unreadable in the uid mode (checked)
    isolate: bool = True                             # confine as far as the machine allows
    data: Path | None = REPO / "data"                # the shipped data folder (PRETRAINING_DATA), read-only

    def __post_init__(self):
        self._start = (os.getpid() * 16 + next(_uids)) % UID_SPAN
        self._uid: int | None = None
        self._uid_lock: int | None = None            # the open, locked file that makes the uid ours
        self.scratch: Path | None = None

    @property
    def uid(self) -> int:
        """This worker's own unprivileged uid, when root: claimed (:func:`claim_uid`) and held as long as this
        sandbox lives (a notebook's check server keeps one sandbox, so that every check forks from one zygote),
        or until :meth:`release`. In the uid mode "every process of the uid" is what dies at the end; in the
        namespaces mode its PID namespace is, and the claim keeps :func:`reap_abandoned_uids` away from it."""
        if self._uid is None:
            if self.mode != "none" and os.geteuid() == 0:
                self._uid, self._uid_lock = claim_uid(self._start)
                self._release = weakref.finalize(self, _let_go, self._uid, self._uid_lock)  # also if never released
            else:  # not used: as a user the worker is uid 65534 of a nested user namespace, or not confined
                self._uid = UID_BASE + self._start
        return self._uid

    @property
    def mode(self) -> str:
        return isolation_mode() if self.isolate else "none"

    # -- what the worker sees -------------------------------------------------------------------
    def _binds(self, root: Path) -> list[tuple[Path, Path]]:
        """(host path, path inside the tree) for everything the worker needs, all read-only."""
        binds = [(Path(sys.base_prefix).resolve(), Path(sys.base_prefix).resolve()),
                 (Path(sys.prefix).resolve(), Path(sys.prefix).resolve()),
                 (Path(sys.prefix), Path(sys.prefix)),  # the venv's own path, as sys.executable names it
                 (HERE / "worker.py", INSIDE / "worker" / "worker.py"),
                 (HERE / "codec.py", INSIDE / "worker" / "codec.py"),
                 (HERE / "probes", INSIDE / "worker" / "probes"),
                 (root, INSIDE / "code")]
        if self.data is not None and self.data.is_dir():
            binds.append((self.data.resolve(), INSIDE / "data"))
        for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
            path = Path(entry).resolve() if entry else None
            # The grader's extra packages, never a folder that holds the repository (solutions, checks, .git).
            if path is not None and path.is_dir() and not REPO.is_relative_to(path):
                binds.append((path, path))
        gpu = sorted(Path("/dev").glob("nvidia*")) + ([Path("/dev/dri")] if Path("/dev/dri").exists() else [])
        binds += [(p, p) for p in gpu] + ([(Path("/sys"), Path("/sys"))] if gpu else [])
        seen, unique = set(), []
        for host, there in binds:
            if _exists(host) and there not in seen:
                seen.add(there)
                unique.append((host, there))
        return unique

    def inside(self, path: Path, root: Path) -> Path:
        """Where a host path the worker is started with appears inside the tree."""
        path = Path(path)
        for host, there in ((WORKER_FILE, INSIDE / "worker" / "worker.py"), (root, INSIDE / "code")):
            if path == host:
                return there
        return path

    def _setup_script(self, root: Path, root_user: bool) -> str:
        """The shell script that runs as the namespace's first process: build the tree, pivot into it, drop to
        the unprivileged identity, run the worker as a child and wait (so the worker is never PID 1, whose
        signals are special)."""
        q = shlex.quote
        new = str(_mountpoint())
        lines = ["set -e", f"mount -t tmpfs -o size=16m,mode=755 sandbox-root {q(new)}", f"cd {q(new)}",
                 "mkdir -p etc dev proc tmp sandbox/worker sandbox/code"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):  # merged-/usr links, or real folders
            host = Path("/") / top
            if host.is_symlink():
                lines.append(f"ln -s {q(os.readlink(host))} {top}")
            elif host.is_dir():
                lines.append(f"mkdir -p {top} && mount --rbind -o ro /{top} {top}")
        # The private /tmp first: a bind below /tmp (the grader's PYTHONPATH, say) must land on it, not under it.
        lines.append(f"mount -t tmpfs -o size={self.tmp_bytes},mode=1777,nosuid,nodev sandbox-tmp tmp")
        lines.append("mkdir -p usr && mount --rbind /usr usr && mount -o remount,ro,bind usr")
        for host, there in self._binds(root):
            target = q("." + str(there))
            make = f"mkdir -p {target}" if host.is_dir() else f"mkdir -p {q('.' + str(there.parent))} && touch {target}"
            if host.is_symlink():
                lines.append(f"mkdir -p {q('.' + str(there.parent))} && ln -sfn {q(os.readlink(host))} {target}")
                continue
            read_only = "" if there.is_relative_to("/dev") else f" && mount -o remount,ro,bind {target}"  # GPUs: rw
            lines.append(f"{make} && mount --rbind {q(str(host))} {target}{read_only}")
        for dev in ("null", "zero", "full", "random", "urandom"):
            lines.append(f"touch dev/{dev} && mount --bind /dev/{dev} dev/{dev}")
        lines += ["ln -s /proc/self/fd dev/fd", "mkdir -p dev/shm",
                  f"mount -t tmpfs -o size={self.tmp_bytes},mode=1777,nosuid,nodev sandbox-shm dev/shm",
                  "mount -t proc -o nosuid,nodev,noexec proc proc"]
        for name in ("ld.so.cache", "localtime", "nsswitch.conf"):
            if Path("/etc", name).is_file() and not Path("/etc", name).is_symlink():
                lines.append(f"touch etc/{name} && mount --bind /etc/{name} etc/{name}")
        uid = self.uid if root_user else NESTED_UID
        lines += [f"printf 'root:x:0:0::/:/bin/sh\\nworker:x:{uid}:{uid}::/tmp:/bin/sh\\n' > etc/passwd",
                  f"printf 'root:x:0:\\nworker:x:{uid}:\\n' > etc/group",
                  "printf '127.0.0.1 localhost\\n' > etc/hosts",
                  "mkdir .old && pivot_root . .old && cd / && umount -l /.old && rmdir /.old",
                  "mount -o remount,ro,bind /", "cd /sandbox/code", "set +e"]
        if root_user:
            become = (f"setpriv --reuid={uid} --regid={uid} --clear-groups --no-new-privs --bounding-set=-all "
                      f"--inh-caps=-all --")
        else:  # a nested user namespace in which the worker is uid 65534: no capability over our mounts
            become = f"unshare --user --map-user={uid} --map-group={uid} -- setpriv --no-new-privs --"
        lines.append(f'{become} prlimit --nproc={self.processes} -- "$@"')
        lines.append("exit $?")
        return "\n".join(lines)

    def argv(self, argv: list[str], root: Path | None = None) -> list[str]:
        """The command that runs ``argv`` inside the sandbox with ``root`` (the student's code) as the folder it
        starts in. In the namespaces mode, host paths in ``argv`` (the worker file, ``root``) are rewritten to
        where they are inside the tree."""
        mode = self.mode
        if mode == "none" or root is None:
            return argv
        root = Path(root).resolve()
        if mode == "uid":
            return ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--no-new-privs",
                    "--bounding-set=-all", "--inh-caps=-all", "--", "prlimit", f"--nproc={self.processes}", "--",
                    *argv]
        argv = [str(self.inside(Path(a), root)) if a.startswith("/") else a for a in argv]
        script = self._setup_script(root, os.geteuid() == 0)
        return _unshare(os.geteuid() == 0) + ["sh", "-c", script, "sandbox", *argv]

    def environ(self, root: Path | None = None) -> dict[str, str]:
        """The worker's whole environment: an allow-list of the grader's, plus what the worker needs."""
        env = {k: os.environ[k] for k in ENV_ALLOWED if k in os.environ}
        env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
        if self.mode == "namespaces":
            tmp = "/tmp"  # the tree's own tmpfs, gone with the namespace
        else:
            self.scratch = self.scratch or self._make_scratch()
            tmp = str(self.scratch)
        env.update({"HOME": tmp, "TMPDIR": tmp, "HF_HUB_OFFLINE": "1", "PYTHONHASHSEED": "0",
                    "PYTHONDONTWRITEBYTECODE": "1", "USER": "worker", "LOGNAME": "worker",
                    "AUTOGRADER_PYTHONPATH": os.environ.get("PYTHONPATH", "")})
        if self.data is not None:
            env["PRETRAINING_DATA"] = str(INSIDE / "data") if self.mode == "namespaces" else str(self.data)
        return env

    def _make_scratch(self) -> Path:
        path = Path(tempfile.mkdtemp(prefix="autograder-scratch-"))
        weakref.finalize(self, shutil.rmtree, path, ignore_errors=True)  # also when nobody calls cleanup()
        if self.mode == "uid":
            os.chown(path, self.uid, self.uid)
        return path

    def prepare(self, root: Path) -> None:
        """Before a start, as root: the worker's own uid must be able to read its own copy (and, in the uid mode,
        reach it: its parent folders become traversable, not listable)."""
        if self.mode == "none" or os.geteuid() != 0:
            return
        root = Path(root).resolve()
        if self.mode == "uid":
            for parent in root.parents:
                if parent != Path("/"):
                    _add_mode(parent, 0o001)
        for path in [root, *root.rglob("*")]:
            if not path.is_symlink():
                _add_mode(path, 0o005 if path.is_dir() else 0o004)

    def limits(self) -> None:
        """Runs in the child before it starts: cap address space (CPU only), file size, core dumps, open files
        and CPU time (processes: ``prlimit`` inside the sandbox, after the switch of identity)."""
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_bytes, self.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds))
        if _DIE_WITH is not None:  # die_with_this_process(); a parent already gone: do not start at all
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != _DIE_WITH:
                os._exit(1)
        # CUDA reserves huge virtual address ranges, so an address-space cap only works without a GPU.
        gpu = os.path.exists("/dev/nvidiactl") and not os.environ.get("PRETRAINING_DEVICE", "").startswith("cpu")
        if self.memory_bytes and not gpu:
            resource.setrlimit(resource.RLIMIT_AS, (self.memory_bytes, self.memory_bytes))

    # -- the end ----------------------------------------------------------------------------------
    def reap(self, proc: subprocess.Popen, init_pid: int | None) -> None:
        """Kill the worker and every process it started; return once they are all gone."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        if self.mode == "namespaces" and init_pid:
            # The namespace's first process dies with `unshare` (--kill-child); the kernel then kills the rest,
            # and that process is only gone (or a zombie) once they all are.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and _alive(init_pid):
                time.sleep(0.01)
        elif self.mode == "uid":
            kill_uid(self.uid)  # every process of this worker's own uid (claimed: no one else's), fork bombs too

    def cleanup(self) -> None:
        """Remove the private scratch folder (after :meth:`reap`)."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def release(self) -> None:
        """Give the uid back now rather than when this sandbox is collected (after :meth:`reap`: a process left
        under it is then abandoned, and :func:`reap_abandoned_uids` kills it)."""
        if self._uid_lock is not None:
            self._release()  # lets go once (a finalizer runs at most once)
            self._uid, self._uid_lock = None, None

    def exposed(self) -> list[Path]:
        """In the uid mode: hidden paths that the worker's uid could still read (a set-up mistake)."""
        if self.mode != "uid":
            return []
        return [p for p in self.hide if Path(p).exists() and _readable_by_others(Path(p))]

    def describe(self) -> str:
        mode = self.mode
        if mode == "namespaces":
            return ("sandbox: minimal read-only tree, unprivileged, no network, own PID namespace, resource "
                    "limits")
        if mode == "uid":
            exposed = self.exposed()
            return ("sandbox: unprivileged uid, resource limits; NO namespaces (this machine refuses them)"
                    + (f"; WARNING readable by the worker: {', '.join(map(str, exposed))}" if exposed else ""))
        if not self.isolate:
            return "sandbox: separate process with resource limits (isolation not requested)"
        return ("sandbox: separate process with resource limits; NO network or file isolation (this machine "
                "does not allow namespaces, or AUTOGRADER_ISOLATION=0)")


WORKER_FILE = HERE / "worker.py"


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(mode | bits)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def init_pid_of(pid: int) -> int | None:
    """The first child of ``pid`` (unshare's: the namespace's first process), on the host's PID numbering."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return int(children[0]) if children else None
    except (OSError, ValueError):
        return None


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


def _lock_folder(create: bool = True) -> Path | None:
    """Where the worker uids' locks live: a folder of root's that no one else may enter (as root only)."""
    # Fixed paths, not TMPDIR: every grader on the machine (each batch job has a TMPDIR of its own) must meet here.
    for path in (Path("/run/autograder-uids"), Path("/tmp/autograder-uids")):
        try:
            if create:
                path.mkdir(mode=0o700, exist_ok=True)
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o077:
                return path
        except OSError:
            continue
    if create:
        raise RuntimeError("no private folder for the worker uids' locks (/run/autograder-uids, "
                           "/tmp/autograder-uids)")
    return None


def _lock(folder: Path, uid: int) -> int | None:
    """The open lock file of ``uid``, locked by us; None when someone holds it. A file is removed by whoever lets
    go of it (:func:`_let_go`), so only the locked file still at that path counts."""
    path = folder / str(uid)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino:
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _let_go(uid: int, fd: int) -> None:
    """Give a claimed uid back: its lock file is removed while still locked, then closed. (A grader that dies
    without letting go leaves the file: that is how :func:`reap_abandoned_uids` knows the uid was a worker's.)"""
    folder = _lock_folder(create=False)
    try:
        if folder is not None:
            (folder / str(uid)).unlink(missing_ok=True)
    except OSError:
        pass
    _close_quietly(fd)


def claim_uid(start: int = 0) -> tuple[int, int]:
    """As root: a worker uid that is this caller's alone, and the open file whose lock holds it (closing the file,
    or the caller's death, lets go). Never one that names an account, that another sandbox holds, or that any
    process runs as (another machine user's, say, or what a killed grader left: :func:`reap_abandoned_uids`)."""
    folder = _lock_folder()
    for i in range(UID_SPAN):
        uid = UID_BASE + (start + i) % UID_SPAN
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        marked = (folder / str(uid)).exists()  # a lock file nobody holds: a dead grader's worker uid
        fd = _lock(folder, uid)
        if fd is None:
            continue
        if not processes_of(uid):
            return uid, fd
        if marked:  # abandoned processes: the file stays, for reap_abandoned_uids
            os.close(fd)
        else:  # someone else's uid: never marked as a worker's
            _let_go(uid, fd)
    raise RuntimeError(f"no free worker uid in {UID_BASE}..{UID_BASE + UID_SPAN - 1}")


def kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` (as root, from a process of that uid: ``kill -9 -1``), fork bombs included."""
    for _ in range(5):
        subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", "sh", "-c",
                        "kill -9 -1"], capture_output=True)
        deadline = time.monotonic() + 0.2  # a killed process takes a moment to be gone
        while processes_of(uid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if not processes_of(uid):
            return


def reap_abandoned_uids() -> list[int]:
    """As root: kill the processes of every worker uid that some sandbox once claimed and none holds now — what a
    grader killed before its own reap left behind. A uid still held (a running grader's) is never touched."""
    folder = _lock_folder(create=False) if os.geteuid() == 0 else None
    if folder is None:
        return []
    found = sorted({uid for uid in _uids_running() if UID_BASE <= uid < UID_BASE + UID_SPAN
                    and (folder / str(uid)).is_file()})
    reaped = []
    for uid in found:
        fd = _lock(folder, uid)
        if fd is not None:
            try:
                kill_uid(uid)
                reaped.append(uid)
            finally:
                _let_go(uid, fd)
    return reaped


def _uids_running() -> set[int]:
    uids = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uids.add(next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("Uid:")))
        except (OSError, ValueError, IndexError, StopIteration):
            continue
    return uids


def living_processes() -> dict[int, tuple[int, int]]:
    """{pid: (parent pid, session id)} of every living process (zombies left out), from one pass over /proc."""
    found = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat_file.read_text()
            fields = text[text.rindex(")") + 2:].split()  # after the command name, which may hold spaces
            if fields[0] not in ("Z", "X"):
                found[int(stat_file.parent.name)] = (int(fields[1]), int(fields[3]))
        except (OSError, ValueError, IndexError):
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children, theirs, …; zombies left out), from one pass over /proc."""
    children: dict[int, list[int]] = {}
    for child, (parent, _) in living_processes().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_descendants(pid: int, timeout: float = 10.0) -> None:
    """Kill every descendant of ``pid`` until none is left. ``pid`` must stay alive meanwhile (stopped, or this
    process) and be a child subreaper, so that whatever is orphaned on the way stays its descendant; if ``pid`` is
    this process, its dead children are collected too."""
    deadline = time.monotonic() + timeout
    while True:
        alive = descendants(pid)
        for child in alive:
            try:
                os.kill(child, signal.SIGKILL)
            except OSError:
                pass
        if pid == os.getpid():
            while True:
                try:
                    if os.waitpid(-1, os.WNOHANG)[0] == 0:
                        break
                except ChildProcessError:
                    break
        if not alive or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def processes_of(uid: int) -> list[int]:
    """The PIDs of every living process whose real uid is ``uid`` (zombies, already dead, left out: where no one
    collects them — an init that does not — they stay, and can do nothing)."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            state = None
            for line in status.read_text().splitlines():
                if line.startswith("State:"):
                    state = line.split()[1]
                elif line.startswith("Uid:"):
                    if int(line.split()[1]) == uid and state not in ("Z", "X"):
                        pids.append(int(status.parent.name))
                    break
        except (OSError, ValueError, IndexError):
            continue
    return pids


def _readable_by_others(path: Path) -> bool:
    """Whether a process of another uid (no group) could open this file or list this folder."""
    for parent in reversed(path.resolve().parents):
        if not parent.stat().st_mode & 0o001:
            return False
    return bool(path.stat().st_mode & 0o004)
