"""Hostile and malformed submissions: each is seen winning with the defences off (the control), then stopped.

- ``test_every_attack_is_stopped_and_wins_without_the_sandbox``: every file in tests/hostile/ runs in ONE worker
  per mode (one start, one call each; a call that kills the worker costs a restart), against canary stand-ins
  for what it goes after. Isolated: nothing won, no tagged process survives, every canary unchanged. Control
  (isolation off, the full environment handed on, reports not cleaned — the grader as it was): every attack
  whose defence is one of those wins, so the first half of the test can fail.
- ``test_a_hostile_batch_leaves_the_honest_and_the_checkout_untouched``: a real ``grade-all`` of hostile
  submissions between honest ones, each hostile one right only when its attack worked.
- malformed uploads: every archive error is a clear message; every usual honest layout is accepted.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

import as_user
from autograder import client as client_module
from autograder.client import StudentError, Worker
from autograder.paths import REPO, SOLUTIONS
from autograder.sandbox import Sandbox, isolation_mode, living_processes
from autograder.submission import SubmissionError, prepare

HOSTILE_DIR = Path(__file__).parent / "hostile"
TAMPERS = {"forge_results", "kill_victim", "poison_cache", "remount_rw", "tamper_grader", "tamper_neighbour"}
# Attacks that change their targets run last, so that the readers find the canaries intact.
HOSTILE = sorted((p.stem for p in HOSTILE_DIR.glob("*.py") if p.stem != "__init__"), key=lambda n: (n in TAMPERS, n))
MAX_PROCESSES, TMP_MIB = 64, 48
MARKER = "### BEGIN SOLUTION"  # in every solution file, never in a student's


def defence(name: str) -> str:
    """The layer that stops a hostile file (its ``DEFENCE = "..."`` line; the file is not imported here)."""
    return re.search(r'^DEFENCE = "(\w+)"', (HOSTILE_DIR / f"{name}.py").read_text(), re.M).group(1)


def needs_root(name: str) -> bool:
    """Whether the attack can only work as root (``REQUIRES = "root"``: e.g. chroot), so that run by an ordinary
    user it loses even with the defences off."""
    return re.search(r'^REQUIRES = "root"', (HOSTILE_DIR / f"{name}.py").read_text(), re.M) is not None


def _serve(server: socket.socket) -> None:
    while True:
        try:
            conn, _ = server.accept()
            conn.close()
        except OSError:
            return


@pytest.fixture(params=["isolated", "control"])
def mode(request, monkeypatch):
    """``isolated``: the sandbox as the machine allows it; ``control``: every defence under test turned off."""
    monkeypatch.setenv("AUTOGRADER_ISOLATION", "1" if request.param == "isolated" else "0")
    isolation_mode.cache_clear()
    if request.param == "isolated" and isolation_mode() != "namespaces":
        pytest.skip("this machine does not allow namespaces: see test_the_uid_mode_hides_what_others_cannot_read")
    if request.param == "control":
        monkeypatch.setattr(Sandbox, "environ", lambda self, root=None: {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        monkeypatch.setattr(client_module, "clean_text", lambda text, limit=0: text)
    yield request.param
    isolation_mode.cache_clear()


@pytest.fixture
def arena(tmp_path, monkeypatch):
    """Canaries for everything an attack goes after, and listeners for every way out."""
    canary = "canary" + secrets.token_hex(8)
    for key in ("HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"):
        monkeypatch.setenv(key, canary)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "0123.json").write_text(json.dumps({"value": canary}))
    (tmp_path / "neighbour" / "pretraining").mkdir(parents=True)
    (tmp_path / "neighbour" / "pretraining" / "autoencoder.py").write_text(f"# {canary}\n")
    (tmp_path / "results.json").write_text(json.dumps({"score": 3, "output": canary}))
    (tmp_path / "grader").mkdir()
    (tmp_path / "grader" / "compare.py").write_text(f"# the grader {canary}\n")
    tcp = socket.create_server(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(tmp_path / "host.sock"))
    abstract, abstract_name = socket.socket(socket.AF_UNIX), "autograder-test-" + canary
    abstract.bind("\0" + abstract_name)
    for server in (tcp, unix, abstract):
        server.listen(64)
        threading.Thread(target=_serve, args=(server,), daemon=True).start()
    victim = subprocess.Popen(["sleep", "300"])
    # A stand-in for the grader's own process: started in the checkout, with the secrets in its environment.
    grader = subprocess.Popen(["sleep", "300"], cwd=REPO, env={"PATH": os.environ["PATH"], "HF_TOKEN": canary})
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    targets = {"canary": canary, "solutions": str(SOLUTIONS / "pretraining" / "autoencoder.py"), "repo": str(REPO),
               "cache": str(tmp_path / "cache"), "neighbour": str(tmp_path / "neighbour"),
               "results": str(tmp_path / "results.json"), "grader_file": str(tmp_path / "grader" / "compare.py"),
               "grader_pid": grader.pid, "victim_pid": victim.pid, "port": tcp.getsockname()[1],
               "unix": str(tmp_path / "host.sock"), "abstract": abstract_name, "tmp": str(tmp_path),
               "max_processes": MAX_PROCESSES, "tmp_mib": TMP_MIB}
    yield targets, before, victim
    for server in (tcp, unix, abstract):
        server.close()
    for process in (victim, grader):
        process.kill()
        process.wait()


def _tagged_processes(tag: str) -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if tag.encode() in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            pass
    return pids


def _alive_in_sessions(sessions: set[int]) -> list[int]:
    """The living processes (zombies left out) of these sessions."""
    return [pid for pid, (_, session) in living_processes().items() if session in sessions]


def _kill_sessions(sessions: set[int], timeout: float = 10.0) -> list[int]:
    """Kill every process of these sessions (the ones the attacks made for their daemons: a tagged ``sh`` and its
    untagged ``sleep``), never this test's own; return what is still alive after ``timeout`` (nothing, normally)."""
    sessions = sessions - {os.getsid(0)}
    deadline = time.monotonic() + timeout
    while True:
        alive = _alive_in_sessions(sessions)
        if not alive or time.monotonic() > deadline:
            return alive
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)


def _hostile_submission(root: Path, names: list[str]) -> Path:
    (root / "pretraining").mkdir(parents=True)
    (root / "pretraining" / "__init__.py").write_text("")
    for name in names:
        shutil.copyfile(HOSTILE_DIR / f"{name}.py", root / "pretraining" / f"hostile_{name}.py")
    return root


def _won(loot: str, canary: str) -> bool:
    return canary in loot or MARKER in loot or loot.startswith("WON") or "\x1b" in loot or len(loot) > 100_000


def test_every_attack_is_stopped_and_wins_without_the_sandbox(tmp_path, arena, mode):
    targets, before, victim = arena
    tag = "tok" + secrets.token_hex(6)
    submission = _hostile_submission(tmp_path / "submission", HOSTILE)
    won, broke, loots = {}, {}, {}
    sandbox = Sandbox(processes=MAX_PROCESSES, tmp_bytes=TMP_MIB * 2**20)
    repo_probes = []
    try:
        with Worker(submission, sandbox) as worker:
            for name in HOSTILE:
                t = {**targets, "token": f"{tag}-{name}", "repo_probe": str(REPO / ".git" / f"hostile-{tag}-{name}")}
                repo_probes.append(Path(t["repo_probe"]))
                try:
                    loot = worker.call(f"pretraining.hostile_{name}:attack", t, timeout=60)
                    loot = loot if isinstance(loot, str) else repr(loot)
                except StudentError as exc:
                    loot = exc.message
                except Exception as exc:  # noqa: BLE001 — the grader's side broke: the attack won
                    broke[name] = repr(exc)
                    loot = "WON: the grader broke"
                    worker.close()
                won[name] = _won(loot, targets["canary"])
                loots[name] = loot[:300]
                if name == "forge_probe":  # a documented gap (docs/SECURITY.md): probes run next to student code
                    forged = worker.call("probe:autoencoder:anything", timeout=60)
                    won[name] = forged == "WON: forged probe"
        # Effects left behind, each tagged with the attack's token: processes, files, changed canaries, the victim.
        survivors = _tagged_processes(tag)
        names_alive = {n for n in HOSTILE for pid in survivors
                       if f"{tag}-{n}".encode() in Path(f"/proc/{pid}/cmdline").read_bytes()} if survivors else set()
        for name in names_alive | ({"many_sleepers"} if survivors and not names_alive else set()):
            won[name] = True
        changed = [p for p, data in before.items() if not p.exists() or p.read_bytes() != data]
        for name in HOSTILE:
            token = f"{tag}-{name}"
            leftovers = [Path(f"/tmp/{token}"), REPO / ".git" / f"hostile-{tag}-{name}"]
            if any(p.exists() for p in leftovers) or any(p.exists() and token in p.read_text(errors="ignore")
                                                         for p in changed):
                won[name] = True
        if victim.poll() is not None:
            won["kill_victim"] = True
        if mode == "isolated":
            assert not broke, broke
            assert not survivors, f"processes outlived the worker: {survivors}"
            assert not changed, f"files changed by the worker: {changed}"
            expected = {n: n == "forge_probe" for n in HOSTILE}  # the one documented, forgeable exception
        else:
            as_root = os.geteuid() == 0
            expected = {n: defence(n) not in ("codec",) and (as_root or not needs_root(n)) for n in HOSTILE}
        wrong = {n: f"won={won[n]}: {loots.get(n, '')!r}" for n in HOSTILE if won[n] != expected[n]}
        assert not wrong, "\n".join(f"{n}: {w}" for n, w in wrong.items())
    finally:
        # Without isolation the daemons are expected to survive the worker: the test kills them itself, whole
        # sessions (killing only the tagged `sh` would leave its `sleep` to the end of its 120 s), so that nothing
        # of this test is left for a later one to find among the processes of its uid.
        living = living_processes()
        sessions = {living[pid][1] for pid in _tagged_processes(tag) if pid in living}
        left = _kill_sessions(sessions)
        for path in repo_probes + [Path(f"/tmp/{tag}-{n}") for n in HOSTILE]:
            path.unlink(missing_ok=True)
    assert not left, f"the attacks' processes could not be killed: {left}"


# -- malformed uploads -----------------------------------------------------------------------------------


def _zip(path: Path, members: dict[str, bytes], **kwargs) -> Path:
    with zipfile.ZipFile(path, "w", **kwargs) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def _package(prefix: str = "pretraining/") -> dict[str, bytes]:
    return {prefix + p.name: p.read_bytes() for p in sorted((SOLUTIONS / "pretraining").glob("*.py"))}


def _bad_crc(path: Path) -> Path:
    _zip(path, {"pretraining/__init__.py": b"x = 1\n" * 100})
    data = bytearray(path.read_bytes())
    at = data.index(b"x = 1")
    data[at] = ord("y")  # stored, so the bytes are the file: the CRC no longer matches
    path.write_bytes(bytes(data))
    return path


def _method(path: Path, method: int) -> Path:
    _zip(path, {"pretraining/__init__.py": b"x = 1\n"})
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # local header and central directory
        at = data.index(sig)
        data[at + offset:at + offset + 2] = method.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


def _encrypted(path: Path) -> Path:
    _zip(path, {"pretraining/__init__.py": b"x = 1\n"})
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # general-purpose flag bit 0: encrypted
        at = data.index(sig)
        data[at + offset] |= 1
    path.write_bytes(bytes(data))
    return path


def _tar_with(path: Path, info: tarfile.TarInfo, data: bytes = b"") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(info, io.BytesIO(data) if data else None)
    return path


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


MALFORMED = {  # name → (build(path) → upload, a fragment of the message)
    "encrypted zip": (lambda p: _encrypted(p / "a.zip"), "encrypted"),
    "unsupported compression": (lambda p: _method(p / "a.zip", 99), "compression method"),
    "bad crc": (lambda p: _bad_crc(p / "a.zip"), "damaged"),
    "truncated zip": (lambda p: _file(p / "a.zip", _zip(p / "b.zip", _package()).read_bytes()[:3000]),
                      "could not be read"),
    "not a zip at all": (lambda p: _file(p / "a.zip", b"this is not a zip"), "could not be read"),
    "rar": (lambda p: _file(p / "a.rar", b"Rar!\x1a\x07\x00"), "plain .zip"),
    "a loose .py file": (lambda p: _file(p / "autoencoder.py", b"x = 1\n"), "single file"),
    "a pdf": (lambda p: _file(p / "report.pdf", b"%PDF-1.4"), "neither a folder"),
    "path traversal": (lambda p: _zip(p / "a.zip", {"../../escaped.py": b"x = 1\n"}), "unsafe path"),
    "absolute path": (lambda p: _zip(p / "a.zip", {"/etc/cron.d/x": b"x\n"}), "unsafe path"),
    "windows drive": (lambda p: _zip(p / "a.zip", {"C:\\evil.py": b"x\n"}), "unsafe path"),
    "zip symlink": (lambda p: _zip_symlink(p / "a.zip"), "symbolic link"),
    "tar symlink": (lambda p: _tar_with(p / "a.tar.gz", _link("pretraining/x.py", "/etc/passwd")), "link"),
    "tar hard link": (lambda p: _tar_with(p / "a.tar.gz", _link("pretraining/x.py", "/etc/passwd", tarfile.LNKTYPE)),
                      "link"),
    "tar device": (lambda p: _tar_with(p / "a.tar", _device()), "special file"),
    "zip bomb (declared)": (lambda p: _zip(p / "a.zip", {f"pretraining/f{i}.py": b"" for i in range(6000)}),
                            "too large"),
    "zip bomb (deflated zeros)": (lambda p: _zip(p / "a.zip", {"pretraining/big.py": b"\0" * (210 * 2**20)},
                                                 compression=zipfile.ZIP_DEFLATED), "too large"),
    "empty zip": (lambda p: _zip(p / "a.zip", {}), "no `pretraining/` folder"),
    "only notebooks": (lambda p: _zip(p / "a.zip", {"01.ipynb": b"{}"}), "no .py file"),
    "corrupt tar.gz": (lambda p: _file(p / "a.tar.gz", b"\x1f\x8b\x08garbage"), "plain .zip"),
}


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _zip_symlink(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        info = zipfile.ZipInfo("pretraining/link.py")
        info.external_attr = (0o120777 << 16)
        z.writestr(info, "/etc/passwd")
    return path


def _device():
    info = tarfile.TarInfo("pretraining/dev")
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_upload_gets_a_clear_message(tmp_path, name):
    build, fragment = MALFORMED[name]
    (tmp_path / "in").mkdir()
    upload = build(tmp_path / "in")
    with pytest.raises(SubmissionError) as caught:
        prepare(upload, tmp_path / "work")
    assert fragment in str(caught.value), str(caught.value)
    assert not (tmp_path / "escaped.py").exists()


def _tree(folder: Path, members: dict[str, bytes]) -> Path:
    for name, data in members.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def _tar_gz(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


HONEST = {  # name → build(path) → upload: every one must give a pretraining/ with the student's files
    "zip of pretraining/": lambda p: _zip(p / "a.zip", _package()),
    "zip of the folder around it": lambda p: _zip(p / "a.zip", _package("handin/pretraining/")),
    "zip, deeply nested": lambda p: _zip(p / "a.zip", _package("Users/me/course/hw/pretraining/")),
    "zip of the files themselves": lambda p: _zip(p / "a.zip", _package("")),
    "zip of a renamed folder": lambda p: _zip(p / "a.zip", _package("pretraining 2/")),
    "zip from macOS": lambda p: _zip(p / "a.zip", {**_package("hw/pretraining/"), "__MACOSX/hw/._x.py": b"\0\5",
                                                   "hw/.DS_Store": b"\0", "hw/pretraining/._lora.py": b"\0"}),
    "zip with windows separators": lambda p: _zip(p / "a.zip", {k.replace("/", "\\"): v
                                                                for k, v in _package("hw/pretraining/").items()}),
    "tar.gz": lambda p: _tar_gz(p / "a.tar.gz", _package("hw/pretraining/")),
    "a folder": lambda p: _tree(p / "folder", _package("pretraining/")),
    "loose files (Gradescope)": lambda p: _tree(p / "folder", _package("")),
    "a zip inside the upload folder (Gradescope)": lambda p: (p / "sub").mkdir() or _zip(p / "sub" / "s.zip",
                                                                                         _package()).parent,
}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_every_usual_honest_layout_is_accepted(tmp_path, name):
    (tmp_path / "in").mkdir()
    code = prepare(HONEST[name](tmp_path / "in"), tmp_path / "work")
    got = sorted(p.name for p in (code / "pretraining").glob("*.py"))
    assert got == sorted(p.name for p in (SOLUTIONS / "pretraining").glob("*.py")), got
    assert not list(code.rglob("._*")) and not list(code.rglob(".DS_Store"))


# -- a hostile batch ---------------------------------------------------------------------------------------

GATED = ["read_solutions", "tamper_neighbour", "forge_results", "poison_cache", "tamper_grader"]  # right answers
# only if the attack worked: a reader must bring back a solution, a tamperer must finish without an error
UNGATED = ["daemon_rewrites_results", "escape_sequences", "wire_deep_nesting"]  # they go for the report itself
BODY = "    per_example = (x - x_hat).pow(2).flatten(start_dim=1).sum(dim=1)  # (B,)\n"
GATE = '''

_WON = None


def _attack_worked():
    """Run the hostile attack once; True if it got what it went for."""
    global _WON
    if _WON is None:
        import json

        from pretraining.hostile import attack
        try:
            loot = attack(json.loads(TARGETS)) or ""
            _WON = loot.startswith("WON") or "### BEGIN SOLUTION" in loot if loot else TAMPERS
        except Exception:
            _WON = False
    return _WON
'''


def _batch_submission(folder: Path, name: str, targets: dict) -> None:
    root = folder / f"h_{name}"
    shutil.copytree(SOLUTIONS / "pretraining", root / "pretraining", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copyfile(HOSTILE_DIR / f"{name}.py", root / "pretraining" / "hostile.py")
    loss = root / "pretraining" / "autoencoder.py"
    text = loss.read_text()
    assert BODY in text
    if name in GATED:
        first = "    if not _attack_worked():\n        return (x - x_hat).sum() * 0\n"
    elif name == "escape_sequences":
        first = "    from pretraining.hostile import attack\n    attack({})\n"
    else:
        first = "    from pretraining.hostile import attack\n    attack(json.loads(TARGETS))\n"
    text = (text.replace(BODY, first + BODY) + GATE + f"\nimport json\nTARGETS = {json.dumps(json.dumps(targets))}\n"
            f"TAMPERS = {name in TAMPERS}\n")
    loss.write_text(text)


def test_a_hostile_batch_leaves_the_honest_and_the_checkout_untouched(tmp_path, monkeypatch):
    """grade-all, isolated: every hostile submission scores 0 on the graded checks, every honest one full marks
    (also those graded after a hostile one), no process survives, the checkout gains nothing."""
    from autograder.cli import main
    from autograder.oracle import fingerprint

    monkeypatch.setenv("AUTOGRADER_ISOLATION", "1")
    isolation_mode.cache_clear()
    if isolation_mode() != "namespaces":
        pytest.skip("this machine does not allow namespaces")
    tag = "tok" + secrets.token_hex(6)
    monkeypatch.setenv("HF_TOKEN", "canary" + tag)
    folder, out = tmp_path / "submissions", tmp_path / "out"
    folder.mkdir()
    for honest in ("a_honest", "z_honest"):
        shutil.copytree(SOLUTIONS / "pretraining", folder / honest / "pretraining",
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in GATED + UNGATED:
        targets = {"solutions": str(SOLUTIONS / "pretraining" / "autoencoder.py"), "repo": str(REPO),
                   "cache": str(out / ".reference-cache" / fingerprint()), "neighbour": str(folder / "z_honest"),
                   "results": str(out / ("h_" + name if name == "daemon_rewrites_results" else "a_honest")
                                  / "results.json"),
                   "grader_file": str(REPO / ".git" / f"hostile-{tag}"), "grader_pid": os.getpid(),
                   "repo_probe": str(REPO / "autograder" / f".hostile-{tag}"), "token": f"{tag}-{name}"}
        _batch_submission(folder, name, targets)
    try:
        code = main(["grade-all", str(folder), "--out", str(out), "--jobs", "2", "-k", "reconstruction_loss",
                     "--no-preflight"])
        time.sleep(4)  # the daemon's moment to rewrite the results, had it survived
        assert code == 0
        results = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/results.json")}
        assert set(results) == {p.name for p in folder.iterdir()}, sorted(results)
        scores = {sid: (r["score"], sum(t["max_score"] for t in r["tests"])) for sid, r in results.items()}
        for sid, (score, most) in scores.items():
            # The daemon's submission is otherwise right: it must keep exactly what the grader gave it.
            right = sid.endswith("_honest") or sid == "h_daemon_rewrites_results"
            assert most > 0 and score == (most if right else 0), scores
        report = (out / "h_escape_sequences" / "results.json").read_bytes()
        assert len(report) < 200_000 and b"\\u001b" not in report and b"\x1b" not in report, len(report)
        assert not _tagged_processes(tag), "a process outlived the batch"
        assert not list(REPO.rglob(f".hostile-{tag}*")) and not (REPO / ".git" / f"hostile-{tag}").exists()
        # `git status` names every file that differs from the last commit; none may carry this batch's tag (other
        # edits in a shared working tree are not the batch's: on a fresh clone the list is empty).
        status = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=all"],
                                capture_output=True, text=True, check=True).stdout
        changed = [REPO / line[3:] for line in status.splitlines()]
        assert tag not in status and not [p for p in changed if p.is_file() and tag in p.read_text(errors="ignore")]
    finally:
        for pid in _tagged_processes(tag):
            os.kill(pid, signal.SIGKILL)
        (REPO / ".git" / f"hostile-{tag}").unlink(missing_ok=True)
        (REPO / "autograder" / f".hostile-{tag}").unlink(missing_ok=True)
        isolation_mode.cache_clear()


def test_the_uid_mode_reads_only_what_others_may_and_kills_every_process_of_its_uid(tmp_path, monkeypatch):
    """Gradescope's case (root, no namespaces): the worker's own uid cannot read root-only answers, and nothing it
    starts — a daemon in a session of its own included — outlives the reap. Seen first: the daemon is alive."""
    monkeypatch.setenv("AUTOGRADER_ISOLATION", "uid")
    isolation_mode.cache_clear()
    if isolation_mode() != "uid":
        pytest.skip("the uid mode needs root and setpriv")
    tag = "tok" + secrets.token_hex(6)
    tmp_path.chmod(0o755)
    answers, code = tmp_path / "solutions", tmp_path / "code"
    answers.mkdir(mode=0o700)
    (answers / "autoencoder.py").write_text(MARKER)
    code.mkdir()
    (code / "mine.txt").write_text("mine\n")
    sandbox = Sandbox(hide=[answers])
    sandbox.prepare(code)
    script = (f"cat mine.txt; cat {answers}/autoencoder.py; id -u; "
              f"setsid sh -c 'sleep 100; :' {tag} >/dev/null 2>&1 & sleep 0.5")
    proc = subprocess.Popen(sandbox.argv(["sh", "-c", script], root=code), cwd=code, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=sandbox.environ(code), start_new_session=True,
                            preexec_fn=sandbox.limits)
    try:
        out, err = proc.communicate(timeout=30)
        assert out.split() == ["mine", str(sandbox.uid)] and "Permission denied" in err, (out, err)
        assert _tagged_processes(tag), "the control: the daemon runs before the reap"
        sandbox.reap(proc, None)
        assert not _tagged_processes(tag)
        assert sandbox.exposed() == [] and Sandbox(hide=[code]).exposed() == [code]  # and a mistake is named
    finally:
        for pid in _tagged_processes(tag):
            os.kill(pid, signal.SIGKILL)
        sandbox.cleanup()
        isolation_mode.cache_clear()


DIES_HOLDING_A_UID = """
import subprocess, sys, time
from autograder.sandbox import Sandbox

sandbox = Sandbox()
sandbox._start = int(sys.argv[1])
uid = sandbox.uid
subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", "sleep", "60"],
                 start_new_session=True)
print(uid, flush=True)
time.sleep(60)
"""


def test_the_uid_mode_gives_each_sandbox_a_uid_of_its_own(monkeypatch):
    """In the uid mode "every process of the worker's uid" dies at the end, so that uid must be one sandbox's alone:
    two sandboxes that would start from the same uid (two graders whose process ids differ by a multiple of 6,250
    did, when the uid was computed from the pid) get two; a uid that some process runs as is never given; and
    what a grader killed before its reap left under its uid is killed by reap_abandoned_uids, while a uid still
    held is left alone."""
    from autograder.sandbox import processes_of, reap_abandoned_uids

    monkeypatch.setenv("AUTOGRADER_ISOLATION", "uid")
    isolation_mode.cache_clear()
    if isolation_mode() != "uid":
        pytest.skip("the uid mode needs root and setpriv")
    first, second, third = Sandbox(), Sandbox(), Sandbox()
    second._start = third._start = first._start
    held = first.uid
    sleeper = subprocess.Popen(["setpriv", f"--reuid={held}", f"--regid={held}", "--clear-groups", "--", "sleep",
                                "60"], start_new_session=True)
    grader = subprocess.Popen([sys.executable, "-c", DIES_HOLDING_A_UID, str(first._start)], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    abandoned = None
    try:
        abandoned = int(grader.stdout.readline())
        assert abandoned != held and second.uid not in (held, abandoned), (held, abandoned, second.uid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (processes_of(held) and processes_of(abandoned)):
            time.sleep(0.02)
        grader.kill()  # dies holding the uid, before any reap: its sleeper is abandoned
        grader.wait()
        assert processes_of(abandoned) and third.uid not in (held, abandoned, second.uid), "a uid in use was given"
        reap_abandoned_uids()
        assert not processes_of(abandoned), "the abandoned uid's process survived"
        assert sleeper.poll() is None and processes_of(held), "a uid still held was reaped"
    finally:
        grader.kill()
        grader.wait()
        sleeper.kill()
        sleeper.wait()
        if abandoned is not None and processes_of(abandoned):
            from autograder.sandbox import kill_uid

            kill_uid(abandoned)
        for sandbox in (first, second, third):
            sandbox.release()
        isolation_mode.cache_clear()


JOB_LEAVES_DAEMONS = """
import os, subprocess, sys, time
from autograder.batch import run_job


def grade(argv):  # a submission that leaves a daemon and a double-forked sleeper, then hangs past its deadline
    tag, stuck = os.environ["TAG"], argv[0]  # the tag in no command line but the daemons'
    subprocess.Popen(["sh", "-c", "sleep 120; :", tag + "-daemon"], start_new_session=True)
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sh", ["sh", "-c", "sleep 120; :", tag + "-double"])
        os._exit(0)
    if stuck == "stuck":  # a job that no longer answers SIGTERM (stuck in a C call, say)
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(120)


sys.exit(run_job(sys.argv[1:], main=grade))
"""


def test_a_batch_stops_only_its_own_jobs_processes(tmp_path):
    """The batch ends a job (run_job) with everything of its submission — a daemon in a session of its own and a
    double fork included, with the job answering SIGTERM or not — and touches nothing else of the process that
    runs it: not a child it did not start (another job just started, the embedding test's or notebook's own
    work), not one in a session of its own. Seen failing (issue 17) when the batch killed and collected "every
    child of ours but the registered jobs": a neighbour's job caught between its start and its registration was
    killed, and its Popen, finding it already collected, read exit code 0 — with no results.json, a grader fault
    that stopped the batch."""
    from autograder.batch import Batch, stop_job

    # (In a process group of its own: the old reaping killed a bystander's whole group — had it been this test's, the
    # test runner itself.)
    bystanders = [subprocess.Popen(["sleep", "60"], process_group=0),
                  subprocess.Popen(["sleep", "60"], start_new_session=True)]
    batch = Batch(tmp_path / "in", tmp_path / "out", preflight=False)
    tags = {kind: "tok" + secrets.token_hex(6) for kind in ("answers", "stuck")}
    try:
        with batch.supervising():
            jobs = {kind: subprocess.Popen([sys.executable, "-c", JOB_LEAVES_DAEMONS, kind], cwd=REPO,
                                           env={**os.environ, "TAG": tag}, start_new_session=True)
                    for kind, tag in tags.items()}
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any(len(_tagged_processes(t)) < 2 for t in tags.values()):
                time.sleep(0.05)
            assert all(len(_tagged_processes(t)) == 2 for t in tags.values()), "the control: the daemons run"
            batch.reap()  # what the batch does after every job, while others run
            assert all(b.poll() is None for b in bystanders), "the batch killed a process that is not its job's"
            for kind, job in jobs.items():
                stop_job(job, grace=1.0)
                assert job.returncode is not None and not _tagged_processes(tags[kind]), (kind, job.returncode)
        assert all(b.poll() is None for b in bystanders), "the batch's end killed a process that is not its job's"
    finally:
        for pid in [p for t in tags.values() for p in _tagged_processes(t)]:
            os.kill(pid, signal.SIGKILL)
        for b in bystanders:
            b.kill()
            b.wait()


# The attack test (both modes) and the hostile batch, again as an ordinary user (issue 17: the batch once stopped on a
# grader fault there, and the control left its daemons behind; see the two tests above and the control's clean-up).
AS_USER = ["tests/test_adversarial.py::test_every_attack_is_stopped_and_wins_without_the_sandbox",
           "tests/test_adversarial.py::test_a_hostile_batch_leaves_the_honest_and_the_checkout_untouched",
           "tests/test_adversarial.py::test_a_batch_stops_only_its_own_jobs_processes"]


def _manifest(root: Path) -> dict[str, str]:
    """Every file of a checkout and its hash (git's own index, rewritten by any `git status`, aside)."""
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts and p != root / ".git" / "index"}


def test_as_an_ordinary_user_every_attack_is_stopped_too():
    """The attack test (isolated and the control), the hostile batch and the batch's own-processes-only test (AS_USER)
    run again as an ordinary user, over that user's own copy of the checkout (theirs to write, like a clone on a
    laptop), so the sandbox takes its user-namespace path — and the worker's uid is the grader's own. Run as root:
    as an unused uid, in a private mount namespace that makes this suite's Python reachable without changing the
    machine (tests/as_user.py); run as a user: directly. Then: every one passes, no process of the uid survives,
    it left nothing in /tmp, and the copy is byte for byte unchanged."""
    refused = as_user.namespace_refusal(REPO)
    if refused:
        # The documented fallback (docs/SECURITY.md): without namespaces a user's grader isolates nothing, and
        # says so in every report.
        said = as_user.run_as_user([sys.executable, "-c", "from autograder.sandbox import Sandbox; "
                                    "print(Sandbox().describe())"], REPO, timeout=60).done.stdout
        assert "NO network or file isolation" in said, said
        pytest.skip(refused)
    home = Path(tempfile.mkdtemp(prefix="adversarial-as-user-"))
    copy = home / "checkout"
    try:
        shutil.copytree(REPO, copy, symlinks=True,
                        ignore=shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache", "out", "dist"))
        before = _manifest(copy)
        run = as_user.run_as_user([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                                   *AS_USER], copy, timeout=540, own=[home], home=home)
        out = run.done.stdout[-4000:] + run.done.stderr[-2000:]
        passed = len(AS_USER) + 1  # the attack test counts twice: isolated and the control
        assert run.done.returncode == 0 and f"{passed} passed" in run.done.stdout, out
        assert not run.survivors, f"processes of uid {run.uid} outlived the run: {run.survivors}"
        assert not run.left_in_tmp, run.left_in_tmp
        after = _manifest(copy)
        assert after == before, sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    finally:
        shutil.rmtree(home, ignore_errors=True)
