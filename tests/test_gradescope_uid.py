"""Gradescope's case end to end: the autograder zip unpacked into a copy of Gradescope's layout, its ``setup.sh``
run as root, then its ``run_autograder`` for one upload after another, as root and without namespaces (the sandbox's
``uid`` mode: ``AUTOGRADER_ISOLATION=uid``, which Gradescope's containers choose by themselves because they refuse
namespaces). The layout is ``<tmp>/autograder/{source,submission,results}`` (``GRADESCOPE_ROOT``); ``/autograder``
itself is not made, so the machine is left as it was.

What setup.sh does that matters is run for real: the reference values computed once, the answers made readable by
root only, the rest made readable by all. Its one step that needs the network — installing Python and the pinned
packages — is skipped because the layout's ``.venv`` is already there: a virtual environment over this suite's
packages (a ``.pth`` line), which setup.sh then makes world-readable as it would its own. Each run is in a private
mount namespace that lets the worker's uid run this suite's Python (tests/as_user.py), as the image's Python would.

Proved, in one pass over 8 hostile and 2 honest uploads (graded on the reconstruction-loss checks, as the hostile
batch of test_adversarial.py is: every attack of an upload runs in that check's first call): (1) every hostile one
scores 0, (2) the honest ones — one before the hostile ones, one after, in the same image — full marks, (3) the
solutions, the hidden checks and the reference values cannot be read by the student's process (one upload tries 15
ways, another reads the cache), (4) no process of a worker survives, (5) the image's source and the instructor's
checkout are unchanged. The control: the same reading upload with isolation off wins full marks.
"""

from __future__ import annotations

import json
import os
import shutil
import secrets
import signal
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path

import pytest

import as_user
from autograder.paths import REPO, SOLUTIONS
from autograder.release import gradescope
from autograder import sandbox
from autograder.sandbox import UID_BASE, UID_SPAN
from test_adversarial import HOSTILE_DIR, MARKER, _batch_submission, _manifest, _tagged_processes

SELECT = "reconstruction_loss"
GATED = ["read_solutions", "poison_cache", "forge_results", "tamper_grader"]  # right only if the attack worked
UNGATED = ["daemon_rewrites_results", "escape_sequences", "wire_deep_nesting"]  # they go for the report
# The reading upload: each attack with the targets it is given on top of the common ones; ``any`` — anything read
# at all from that root-only file is a win (else: a solution's marker, the canary, or "WON").
READS = [("read_solutions", {}, False), ("read_solutions", {"solutions": "@hidden"}, True),
         ("read_solutions", {"solutions": "@entry"}, True), ("read_reference_cache", {}, True),
         ("walk_for_secrets", {}, False), ("env_secrets", {}, False), ("proc_environ", {}, False),
         ("proc_root", {}, False), ("proc_cwd", {}, False), ("proc_fds", {}, False), ("proc_mem", {}, False),
         ("setns_escape", {}, False), ("umount_escape", {}, False), ("chroot_escape", {}, False),
         ("userns_escape", {}, False)]
READER_GATE = '''

_WON = None


def _attack_worked():
    """Every reading attack once; True if any read what it went for."""
    global _WON
    if _WON is None:
        import importlib
        import json
        import os

        common = {**json.loads(TARGETS), "grader_pid": _grader(), "canary": "".join(CANARY)}
        _WON = False
        for name, extra, anything in json.loads(READS):
            try:
                loot = importlib.import_module(f"pretraining.hostile_{name}").attack({**common, **extra}) or ""
            except Exception:
                continue
            loot = loot if isinstance(loot, str) else repr(loot)
            if (anything and loot) or "### BEGIN " + "SOLUTION" in loot or "".join(CANARY) in loot \
                    or loot.startswith("WON"):
                _WON = True
    return _WON


def _uid(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(next(line.split()[1] for line in status if line.startswith("Uid:")))


def _grader():
    """The nearest ancestor of another uid: the grader (this worker's parent, the warm runner's zygote, is trusted
    code of this very uid)."""
    import os

    pid = os.getpid()
    while pid > 1:
        with open(f"/proc/{pid}/status") as status:
            pid = int(next(line.split()[1] for line in status if line.startswith("PPid:")))
        if _uid(pid) != os.getuid():
            return pid
    return pid
'''


def _reader_submission(folder: Path, targets: dict, canary: str) -> None:
    root = folder / "h_readers"
    shutil.copytree(SOLUTIONS / "pretraining", root / "pretraining", ignore=shutil.ignore_patterns("__pycache__"))
    for name in {name for name, _, _ in READS}:
        shutil.copyfile(HOSTILE_DIR / f"{name}.py", root / "pretraining" / f"hostile_{name}.py")
    reads = [(name, {k: targets[v[1:]] if v.startswith("@") else v for k, v in extra.items()}, anything)
             for name, extra, anything in READS]
    loss = root / "pretraining" / "autoencoder.py"
    body = "    per_example = (x - x_hat).pow(2).flatten(start_dim=1).sum(dim=1)  # (B,)\n"
    text = loss.read_text()
    assert body in text
    text = text.replace(body, "    if not _attack_worked():\n        return (x - x_hat).sum() * 0\n" + body)
    # Its own copy must not hold what the gate looks for: no solution marker, and the canary only in two halves.
    text = text.replace(MARKER, "###")
    loss.write_text(text + READER_GATE + f"\nTARGETS = {json.dumps(json.dumps(targets))}\n"
                    f"READS = {json.dumps(json.dumps(reads))}\nCANARY = {[canary[:6], canary[6:]]!r}\n")
    for other in root.rglob("*.py"):
        other.write_text(other.read_text().replace(MARKER, "###"))


def _unzip(archive: Path, into: Path) -> None:
    """As Gradescope does: every member, with the executable bit the zip gives it."""
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            z.extract(info, into)
            (into / info.filename).chmod((info.external_attr >> 16) & 0o777 or 0o644)


def _processes_in(top: Path) -> list[int]:
    """Processes of a worker's uid (the sandbox's range) working in, or started from, a folder under ``top``: this
    test's own, told apart from other graders that may run on the same machine at the same time."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("Uid:"))
            folder = status.parent
            if UID_BASE <= uid < UID_BASE + UID_SPAN and (str(top) in os.readlink(folder / "cwd")
                                                         or str(top).encode() in (folder / "cmdline").read_bytes()):
                pids.append(int(folder.name))
        except (OSError, StopIteration, ValueError):
            continue
    return pids


def _environment(source: Path) -> None:
    """The layout's .venv: a virtual environment over this suite's packages (setup.sh would install them)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(source / ".venv")], check=True)
    site = next((source / ".venv" / "lib").glob("python3*/site-packages"))
    (site / "suite.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def test_gradescope_uid_mode_end_to_end():
    if os.geteuid() != 0:
        pytest.skip("Gradescope's uid mode is the grader running as root")
    top = Path(tempfile.mkdtemp(prefix="gradescope-"))
    top.chmod(0o755)
    ag = top / "autograder"
    source, submission, results = ag / "source", ag / "submission", ag / "results"
    tag = "tok" + secrets.token_hex(6)
    canary = "canary" + tag
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    # TMPDIR: the grader's temporary folders (and the workers' scratch) in one of this test's own, checked empty.
    env.update({"GRADESCOPE_ROOT": str(ag), "AUTOGRADER_ISOLATION": "uid", "HF_TOKEN": canary,
                "OMP_NUM_THREADS": "1", "TMPDIR": str(top / "tmp")})
    try:
        source.mkdir(parents=True)
        (top / "tmp").mkdir(mode=0o755)
        gradescope(top / "autograder.zip")
        _unzip(top / "autograder.zip", source)
        _environment(source)
        with as_user.python_for_everyone() as prefix:  # its reference run grades the solutions in the uid mode
            done = subprocess.run(prefix + ["bash", str(source / "setup.sh"), "-k", SELECT], env=env,
                                  capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        (entries,) = [p for p in (source / "reference-cache").iterdir() if p.is_dir()]
        assert any(entries.iterdir()), "setup.sh computed no reference: " + done.stdout[-3000:]
        hidden = sorted((source / "autograder" / "checks" / "hidden").rglob("*.py"))[0]
        targets = {"solutions": str(source / "solutions" / "pretraining" / "autoencoder.py"), "repo": str(source),
                   "cache": str(entries), "entry": str(sorted(entries.iterdir())[0]), "hidden": str(hidden),
                   "results": str(results / "results.json"), "tmp": str(ag),
                   "grader_file": str(source / "autograder" / "compare.py"), "grader_pid": os.getpid(),
                   "repo_probe": str(source / "autograder" / f".hostile-{tag}")}
        uploads = top / "uploads"
        uploads.mkdir(mode=0o700)  # the uploads not being graded are not in Gradescope's container
        for honest in ("a_honest", "z_honest"):
            shutil.copytree(SOLUTIONS / "pretraining", uploads / honest / "pretraining",
                            ignore=shutil.ignore_patterns("__pycache__"))
        for name in GATED + UNGATED:
            _batch_submission(uploads, name, {**targets, "token": f"{tag}-{name}"})
        _reader_submission(uploads, {**targets, "token": f"{tag}-readers"}, canary)
        image = _manifest(source)

        def run(upload: Path, isolation: str = "uid") -> tuple[dict, str]:
            shutil.rmtree(submission, ignore_errors=True)
            shutil.rmtree(results, ignore_errors=True)
            shutil.copytree(upload, submission)
            with as_user.python_for_everyone() as prefix:
                done = subprocess.run(prefix + ["bash", str(source / "run_autograder"), "-k", SELECT],
                                      env={**env, "AUTOGRADER_ISOLATION": isolation}, capture_output=True,
                                      text=True, timeout=240)
            return json.loads((results / "results.json").read_text()), done.stdout + done.stderr

        order = ["a_honest", *(f"h_{n}" for n in GATED + UNGATED), "h_readers", "z_honest"]
        scores, said = {}, {}
        for sid in order:
            report, text = run(uploads / sid)
            said[sid] = text + json.dumps(report)[:3000]
            scores[sid] = (report["score"], sum(t["max_score"] for t in report["tests"]))
            if sid == "h_escape_sequences":
                raw = (results / "results.json").read_bytes()
                assert len(raw) < 200_000 and b"\x1b" not in raw and b"\\u001b" not in raw, len(raw)
        for sid, (score, most) in scores.items():
            right = sid.endswith("_honest") or sid == "h_daemon_rewrites_results"  # otherwise right: keeps it
            assert most > 0 and score == (most if right else 0), (sid, scores, said[sid][-3000:])
        # What the grader checks before every upload (its report would carry a WARNING): nothing it hides is
        # readable by the worker's uid.
        hide = [source / "solutions", source / "autograder" / "checks" / "hidden", source / "reference-cache",
                results]
        assert [p for p in hide if sandbox._readable_by_others(p)] == []
        assert not _tagged_processes(tag) and not _processes_in(top), "a process outlived its grading"
        assert not list((top / "tmp").iterdir()), list((top / "tmp").iterdir())
        after = _manifest(source)
        assert after == image, sorted(k for k in image.keys() | after.keys() if image.get(k) != after.get(k))
        assert tag not in _git_status()
        # The control: without the uid (the grader's own root), the same reading upload takes full marks.
        report, text = run(uploads / "h_readers", isolation="0")
        assert report["score"] == sum(t["max_score"] for t in report["tests"]) > 0, text[-3000:]
    finally:
        for pid in _tagged_processes(tag) + _processes_in(top):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        shutil.rmtree(top, ignore_errors=True)


def _git_status() -> str:
    return subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=all"],
                          capture_output=True, text=True, check=True).stdout

