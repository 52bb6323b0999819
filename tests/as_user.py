"""Run a command as an ordinary user from a test that runs as root, without changing the machine.

A root test cannot simply ``setpriv`` to another uid and run the suite's Python: that Python may live in a folder
only root may enter (here ``/root/.pyenv``, under ``/root`` of mode 0700), and nothing on the host may be
chmod-ed or added (no ``useradd``). So the command runs in a private mount namespace (``unshare --mount
--propagation private``) in which every folder "other" cannot enter that lies above a path the user needs (the
Python, the SmolLM2 cache) is covered by a fresh tmpfs of mode 0755 holding only those paths, bound back
read-only. The binds are made on a staging tmpfs first, while the originals are still in view, and the staging
tmpfs is then moved over the folder (``mount --move``). Only then does the command drop to an unused uid
(``setpriv --reuid``), with a private HOME and TMPDIR that are removed afterwards. The host sees none of it: the
mounts die with the namespace.

Run by an ordinary user, :func:`run_as_user` runs the command directly, as that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import processes_of

FIRST_FREE_UID = 190_000  # below the sandbox's own worker uids (AUTOGRADER_WORKER_UID_BASE, 200000)


def needed_paths() -> list[Path]:
    """What an ordinary user must reach to run this suite's Python: the interpreter, the virtual environment and,
    where it exists, the converted-model cache (``$PRETRAINING_CACHE``, else ``~/.cache/pretraining``)."""
    cache = Path(os.environ.get("PRETRAINING_CACHE") or Path.home() / ".cache" / "pretraining")
    paths = [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), cache.resolve()]
    return [p for p in dict.fromkeys(paths) if p.exists()]


def closed_ancestor(path: Path) -> Path | None:
    """The highest folder above ``path`` that a process of another uid (no group) cannot enter, or None."""
    for parent in reversed(path.parents):
        if not parent.stat().st_mode & 0o001:
            return parent
    return None


def covers(paths: list[Path]) -> dict[Path, list[Path]]:
    """{closed folder: the needed paths below it}: what the private namespace must cover and bind back."""
    found: dict[Path, list[Path]] = {}
    for path in paths:
        top = closed_ancestor(path)
        if top is not None:
            found.setdefault(top, []).append(path)
    return found


def cover_script(plan: dict[Path, list[Path]], staging: Path) -> str:
    """Shell lines, run as root in the private namespace: cover each closed folder with a 0755 tmpfs holding only
    read-only binds of the needed paths below it, then ``exec "$@"``."""
    q = shlex.quote
    lines = ["set -e"]
    for i, (top, paths) in enumerate(plan.items()):
        stage = staging / str(i)
        lines += [f"mkdir {q(str(stage))}", f"mount -t tmpfs -o mode=755,size=1m cover {q(str(stage))}"]
        for path in paths:
            inside = q(str(stage / path.relative_to(top)))
            lines += [f"mkdir -p {inside}", f"mount --rbind {q(str(path))} {inside}",
                      f"mount -o remount,ro,bind {inside}"]
        lines.append(f"mount --move {q(str(stage))} {q(str(top))}")
    lines.append('exec "$@"')
    return "\n".join(lines)


def free_uid() -> int:
    """An uid no account names and no process runs as."""
    uid = FIRST_FREE_UID
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            if not processes_of(uid):
                return uid
        uid += 1


def kill_uid(uid: int) -> None:
    """Kill every process of ``uid`` (as root), as the sandbox's uid mode does."""
    for _ in range(5):
        if not processes_of(uid):
            return
        subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", "sh", "-c",
                        "kill -9 -1"], capture_output=True)
        time.sleep(0.1)


@dataclass
class UserRun:
    done: subprocess.CompletedProcess
    uid: int
    survivors: list[int]        # processes of the uid still alive once the command had returned (then killed)
    left_in_tmp: list[Path]     # entries of the host's /tmp owned by the uid after the run (then removed)


def _lingering(uid: int, grace: float = 10.0) -> list[int]:
    """The processes of ``uid`` still alive ``grace`` seconds after the command returned: a process killed at the
    end of the last test may take a moment to be gone (and a zombie waiting for its parent is not alive)."""
    deadline = time.monotonic() + grace
    while True:
        alive = [pid for pid in processes_of(uid) if _state(pid) not in ("Z", "X", None)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def _state(pid: int) -> str | None:
    try:
        return next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("State:"))
    except (OSError, StopIteration, IndexError):
        return None


def run_as_user(argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None,
                own: list[Path] = (), home: Path | None = None) -> UserRun:
    """Run ``argv`` in ``cwd`` as an ordinary user; return what it did and what it left. As root: as an unused uid
    in a private mount namespace (the module's docstring), owning the folders ``own`` (e.g. its own checkout: a
    user's clone is theirs to write); as an ordinary user: directly. ``home`` (HOME and TMPDIR) is made, owned by
    the uid, and removed, if not given."""
    env = {k: v for k, v in (env or os.environ).items() if not k.startswith("PYTEST_")}
    made_home = home is None
    home = Path(tempfile.mkdtemp(prefix="as-user-home-")) if made_home else home
    env.update({"HOME": str(home), "TMPDIR": str(home)})
    if os.geteuid() != 0:
        try:
            done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
            return UserRun(done, os.geteuid(), [], [])
        finally:
            if made_home:
                shutil.rmtree(home, ignore_errors=True)
    uid = free_uid()
    for folder in [home, *own]:
        subprocess.run(["chown", "-R", f"{uid}:{uid}", str(folder)], check=True)
    home.chmod(0o700)
    try:
        with python_for_everyone() as prefix:
            command = prefix + ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + argv
            done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                                  start_new_session=True)
        survivors = _lingering(uid)
        left = [p for p in Path("/tmp").iterdir() if _owner(p) == uid and p != home]
        return UserRun(done, uid, survivors, left)
    finally:
        kill_uid(uid)
        for path in Path("/tmp").iterdir():
            if _owner(path) == uid and path != home:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        if made_home:
            shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def python_for_everyone():
    """As root: the command prefix that runs a command in a private mount namespace in which every uid can run
    this suite's Python (the module's docstring); the staging folders are removed on exit."""
    staging = Path(tempfile.mkdtemp(prefix="as-user-staging-"))
    try:
        yield ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
               cover_script(covers(needed_paths()), staging), "as-user"]
    finally:
        for stage in staging.iterdir():  # empty on the host: the tmpfs over each was the namespace's
            stage.rmdir()
        staging.rmdir()


def _owner(path: Path) -> int | None:
    try:
        return path.lstat().st_uid
    except OSError:
        return None


def namespace_refusal(cwd: Path) -> str | None:
    """Why the sandbox cannot build its namespaces for an ordinary user on this machine (the probe's own error and
    the kernel's settings), or None when it can. Detected by running the sandbox's own probe as that user."""
    probe = ("from autograder import sandbox as s; import subprocess, sys; a = s._unshare(False) + "
             "['sh', '-c', 'mount -t tmpfs -o size=4k none /tmp']; r = subprocess.run(a, capture_output=True, "
             "text=True); print(s.isolation_mode()); print(r.returncode, r.stderr.strip())")
    run = run_as_user([sys.executable, "-c", probe], cwd, timeout=60)
    lines = run.done.stdout.splitlines()
    if run.done.returncode == 0 and lines and lines[0] == "namespaces":
        return None
    settings = []
    for name in ("/proc/sys/kernel/unprivileged_userns_clone", "/proc/sys/user/max_user_namespaces",
                 "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"):
        try:
            settings.append(f"{name}={Path(name).read_text().strip()}")
        except OSError:
            pass
    return (f"an ordinary user cannot create the sandbox's namespaces here: {run.done.stdout.strip()!r} "
            f"{run.done.stderr.strip()[-500:]!r} ({', '.join(settings)})")
