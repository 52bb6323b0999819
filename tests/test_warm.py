"""The warm runner (autograder/warm.py): workers forked from a zygote behave as cold ones, with their isolation.

Isolation of student code itself (solutions hidden, no network, a neighbour's copy unseen) is tested through the
real grader in tests/test_grading.py, which runs with the zygote on (the default).
"""

import os
import sys
import time
from pathlib import Path

import pytest

from autograder import warm
from autograder.client import StudentError, Worker
from autograder.sandbox import Sandbox, isolation_available

TINY = '''import os, subprocess, sys

VALUE = {value}


def value():
    return VALUE


def loaded():
    """Whether the zygote had imported this package before the child did (it must not)."""
    return sorted(m for m in sys.modules if m.startswith("pretraining"))


def threaded_matmul():
    import torch

    torch.set_num_threads(2)  # a thread pool started after the fork, in the child: must not hang
    x = torch.ones(256, 256)
    return float((x @ x).sum()), torch.get_num_threads()


def die():
    os.kill(os.getpid(), 9)


def torch_from_graders_path():
    """Whether the torch this process uses came through the grader's PYTHONPATH (see SHIM)."""
    import torch

    return getattr(torch, "CAME_THROUGH_GRADERS_PATH", False)


def leave_daemon(tag):
    subprocess.Popen(["sleep", tag], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True
'''


# A stand-in `torch` for a folder on the grader's PYTHONPATH: it imports the real torch from the rest of the path
# and marks it, so a process can tell whether its torch was found through that folder (as the grader's is).
SHIM = """import importlib, os, sys
folder = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p) != folder]
del sys.modules["torch"]
real = importlib.import_module("torch")
real.CAME_THROUGH_GRADERS_PATH = True
sys.modules["torch"] = real
"""


def submission(folder: Path, value: int) -> Path:
    (folder / "pretraining").mkdir(parents=True, exist_ok=True)
    (folder / "pretraining" / "__init__.py").write_text("")
    (folder / "pretraining" / "tiny.py").write_text(TINY.format(value=value))
    return folder


@pytest.fixture(scope="module")
def sandbox():
    """One sandbox for the module, so that its workers share one zygote (as a notebook's checks do)."""
    return Sandbox()


@pytest.fixture(scope="module")
def code(tmp_path_factory):
    """One code folder for the module (a new folder is a new sandbox command, hence a new zygote)."""
    return tmp_path_factory.mktemp("warm") / "code"


def test_each_start_is_a_fresh_fork_that_sees_the_code_as_it_is_now(code, sandbox):
    root = submission(code, 1)
    with Worker(root, sandbox) as first:
        assert first.call("pretraining.tiny:value") == 1
        assert type(first.proc) is warm.WarmChild, "the worker was not forked from a zygote"
        assert first.call("pretraining.tiny:loaded") == ["pretraining", "pretraining.tiny"]
        first_pid = first.proc.pid
    submission(root, 2)  # the student edits and saves the module
    with Worker(root, sandbox) as second:
        assert second.call("pretraining.tiny:value") == 2
        assert type(second.proc) is warm.WarmChild and second.proc.pid != first_pid
        assert second.call("pretraining.tiny:loaded") == ["pretraining", "pretraining.tiny"]


@pytest.mark.parametrize("warm_on", ["1", "0"])
def test_workers_import_torch_from_the_graders_pythonpath_warm_or_cold(tmp_path, monkeypatch, warm_on):
    """A package on the grader's PYTHONPATH wins over one of the same name in the environment, in a forked
    worker as in a cold one: the zygote, whose modules its children use, puts that path first before it imports
    torch (were it set only in the child, torch — or transformers — would come from elsewhere)."""
    (tmp_path / "extra" / "torch").mkdir(parents=True)
    (tmp_path / "extra" / "torch" / "__init__.py").write_text(SHIM)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "extra"))
    monkeypatch.setenv("AUTOGRADER_WARM", warm_on)
    with Worker(submission(tmp_path / "code", 1), Sandbox()) as worker:
        assert worker.call("pretraining.tiny:torch_from_graders_path", timeout=60) is True
        assert (type(worker.proc) is warm.WarmChild) == (warm_on == "1")


def test_a_forked_worker_can_start_torch_threads(code, sandbox):
    with Worker(submission(code, 1), sandbox) as worker:
        total, threads = worker.call("pretraining.tiny:threaded_matmul", timeout=60)
        assert total == 256.0 ** 3 and threads == 2
        assert type(worker.proc) is warm.WarmChild


def test_a_crash_is_reported_as_from_a_cold_worker_and_the_next_call_forks_again(code, sandbox):
    with Worker(submission(code, 3), sandbox) as worker:
        with pytest.raises(StudentError, match="killed by signal 9") as info:
            worker.call("pretraining.tiny:die")
        assert info.value.kind == "crash"
        assert worker.call("pretraining.tiny:value") == 3  # restarted: forked again
        assert type(worker.proc) is warm.WarmChild


def _processes_with(tag: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if tag.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            pass
    return found


def test_what_a_forked_worker_leaves_running_dies_with_it(code, sandbox):
    if not isolation_available():
        pytest.skip("without a PID namespace a cold worker's daemons outlive it too")
    tag = f"{time.time() % 1000:.6f}"  # a unique `sleep` duration names the daemon
    with Worker(submission(code, 1), sandbox) as worker:
        assert worker.call("pretraining.tiny:leave_daemon", tag) is True
        deadline = time.monotonic() + 10
        while not _processes_with(tag) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _processes_with(tag), "the daemon did not start"
    deadline = time.monotonic() + 5
    while _processes_with(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_with(tag)


def test_a_zygote_that_cannot_start_means_a_cold_start(tmp_path, monkeypatch):
    monkeypatch.setattr(warm, "_SOURCE", "import sys; sys.exit(3)")
    monkeypatch.setenv("AUTOGRADER_TEST_COLD", str(tmp_path))  # a key of its own
    with Worker(submission(tmp_path / "code", 4), Sandbox()) as worker:
        assert worker.call("pretraining.tiny:value") == 4
        assert type(worker.proc) is not warm.WarmChild


def test_the_zygote_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_WARM", "0")
    with Worker(submission(tmp_path / "code", 5), Sandbox()) as worker:
        assert worker.call("pretraining.tiny:value") == 5
        assert type(worker.proc) is not warm.WarmChild


def test_setups_early_start_lets_the_zygote_import_while_the_student_reads(tmp_path, monkeypatch):
    """A zygote that serves a notebook waits after its first start (the warm-up), so that checks run back to back do
    not wait for its idle imports; setup() asks it to begin them at once (begin_idle_imports), so that the student's
    first check() finds transformers imported too."""
    monkeypatch.setattr(warm, "IDLE_IMPORTS", True)  # what the check server sets
    root = submission(tmp_path / "code", 1)
    with Worker(root, Sandbox()) as first:  # the warm-up start
        assert first.call("pretraining.tiny:value") == 1
        zygote = first.proc.zygote
    try:
        def pending() -> int:
            return zygote.status()["pending"]

        time.sleep(2 * warm.QUIET_SECONDS)
        assert pending() == len(warm.PREIMPORT), "the idle imports began without a second start or a request"
        warm.begin_idle_imports()
        deadline = time.monotonic() + warm.STARTUP_SECONDS
        while pending() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pending() == 0, "begin_idle_imports did not start the zygote's idle imports"
    finally:
        with warm._LOCK:
            for key in [k for k, z in warm._ZYGOTES.items() if z is zygote]:
                warm._ZYGOTES.pop(key).close()


def test_notebook_checks_reuse_one_runner_and_see_edits(tmp_path, monkeypatch, capsys):
    """check() from a notebook: setup() starts the runner, every call reuses it, sees the code as saved, and prints
    what the cold `python -m autograder check` prints."""
    import subprocess

    from autograder import student
    from autograder.paths import REPO, SOLUTIONS
    from autograder.student import check

    code = tmp_path / "code"
    (code / "pretraining").mkdir(parents=True)
    for path in (SOLUTIONS / "pretraining").glob("*.py"):
        (code / "pretraining" / path.name).write_text(path.read_text())
    monkeypatch.setenv("PRETRAINING_CODE", str(code))
    pattern = "add_noise"
    try:
        warm.start_checks(code, student._check_env(), REPO)  # what setup() does
        server = warm._SERVER.proc.pid
        assert check(pattern) is True, capsys.readouterr().out
        assert warm._SERVER.proc.pid == server, "check() did not use the runner setup() started"
        capsys.readouterr()
        module = code / "pretraining" / "bottlenecks.py"
        module.write_text(module.read_text().replace("return x + noise_std * eps", "return x + noise_std ** 2 * eps"))
        # what torch does to the notebook's environment once it has compiled something: no reason to restart
        monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
        assert check(pattern) is False
        assert warm._SERVER.proc.pid == server, "the check runner was started again"
        warm_output = capsys.readouterr().out
    finally:
        warm.shutdown()
    cold = subprocess.run([sys.executable, "-m", "autograder", "check", "-k", pattern, "--code", str(code)],
                          cwd=REPO, capture_output=True, text=True, env={**os.environ, "PRETRAINING_DEVICE": "cpu"})
    assert "NO" in warm_output and warm_output.strip() == cold.stdout.strip()
