"""Grading end to end: full marks, zero, broken and hostile submissions, determinism, the results format."""

import csv
import json
import os
import zipfile

import pytest

from autograder.grading import grade
from autograder.paths import SOLUTIONS, STARTER

LOSS = "autoencoder.py"
BODY = "    per_example = (x - x_hat).pow(2).flatten(start_dim=1).sum(dim=1)  # (B,)\n"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """References shared by every grading in this module, as grade-all shares them."""
    return tmp_path_factory.mktemp("reference-cache")


LOSS_CHECKS = "reconstruction_loss"  # the tests below patch reconstruction_loss: grade only its checks


def run(submission, tmp_path, cache, name="out", select=None):
    return grade(submission, tmp_path / name, cache=cache, quiet=True, select=select)


def outputs(results):
    return [t["output"] for t in results["tests"]]


def test_solution_scores_full_marks(tmp_path, cache):
    results = run(SOLUTIONS, tmp_path, cache)
    assert results["tests"], "no checks ran"
    assert all(t["status"] == "passed" for t in results["tests"]), outputs(results)
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0


def test_untouched_starter_scores_zero_and_says_not_implemented(tmp_path, cache):
    results = run(STARTER, tmp_path, cache)
    assert results["score"] == 0
    for test in results["tests"]:
        assert test["status"] == "failed"
        assert "not implemented yet" in test["output"] and "Traceback" not in test["output"], test


def test_results_json_has_the_gradescope_fields(tmp_path, cache):
    run(SOLUTIONS, tmp_path, cache)
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {"score", "execution_time", "output", "tests"} <= data.keys()
    for test in data["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= test.keys()
        assert test["status"] in ("passed", "failed")
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    assert {t["visibility"] for t in data["tests"]} == {"visible", "after_published"}, "public and hidden checks"


def test_grading_twice_gives_identical_results(tmp_path, make_submission, cache):
    wrong = make_submission({LOSS: (BODY, BODY.replace("pow(2)", "abs()"))})
    first, second = run(wrong, tmp_path, cache, "a", LOSS_CHECKS), run(wrong, tmp_path, cache, "b", LOSS_CHECKS)
    first.pop("execution_time"), second.pop("execution_time")
    assert first == second


def test_a_wrong_value_names_the_first_mismatch_and_the_tolerance(tmp_path, make_submission, cache):
    results = run(make_submission({LOSS: (BODY, BODY.replace("pow(2)", "abs()"))}), tmp_path, cache,
                  select=LOSS_CHECKS)
    assert results["score"] == 0
    message = outputs(results)[0]
    assert "expected" in message and "got" in message and "tolerance" in message, message


def test_a_wrong_shape_says_expected_and_got_shapes(tmp_path, make_submission, cache):
    results = run(make_submission({LOSS: (".sum(dim=1)  # (B,)", ".sum(dim=1, keepdim=True)  # (B,)")}), tmp_path, cache)
    messages = outputs(results)
    assert any("wrong shape: expected (5,), got (5, 1)" in m for m in messages), messages


def test_a_wrong_dtype_is_named(tmp_path, make_submission, cache):
    results = run(make_submission({LOSS: ("  # (B,)\n", ".float()  # (B,)\n")}), tmp_path, cache)
    assert any("wrong dtype: expected float64, got float32" in m for m in outputs(results)), outputs(results)


def test_an_exception_is_reported_with_the_line_and_other_checks_still_run(tmp_path, make_submission, cache):
    patched = BODY + "    if x.shape[1:] == (1, 8, 8):  # only the hidden check's images\n        raise RuntimeError('boom')\n"
    results = run(make_submission({LOSS: (BODY, patched)}), tmp_path, cache, select=LOSS_CHECKS)
    status = [t["status"] for t in results["tests"]]
    assert "passed" in status and "failed" in status, status
    failed = next(t for t in results["tests"] if t["status"] == "failed")
    assert "raised RuntimeError: boom" in failed["output"] and "pretraining/autoencoder.py:" in failed["output"]


def test_a_hang_times_out_and_the_next_check_still_runs(tmp_path, make_submission, cache, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_TIMEOUT_SCALE", "0.1")
    patched = BODY + "    if x.dim() == 2:\n        while True:\n            pass\n"
    results = run(make_submission({LOSS: (BODY, patched)}), tmp_path, cache, select=LOSS_CHECKS)
    first, second = results["tests"]
    assert first["status"] == "failed" and "timed out" in first["output"] and "allows 3 s" in first["output"]
    assert second["status"] == "passed", second


@pytest.mark.parametrize("exit_call", ["import sys; sys.exit(0)", "import os; os._exit(0)"])
def test_exiting_early_does_not_pass(tmp_path, make_submission, cache, exit_call):
    results = run(make_submission({LOSS: (BODY, f"    {exit_call}\n" + BODY)}), tmp_path, cache, select=LOSS_CHECKS)
    assert results["score"] == 0, outputs(results)


def test_printed_pass_claims_and_a_planted_conftest_change_nothing(tmp_path, make_submission, cache):
    fake = "    print('PASSED 100/100'); print('{\"score\": 100}')\n"
    conftest = "import pytest\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n" \
               "    outcome = yield\n    outcome.get_result().outcome = 'passed'\n"
    submission = make_submission({LOSS: (BODY, fake + BODY.replace("pow(2)", "abs()"))},
                                 extra={"conftest.py": conftest, "pretraining/conftest.py": conftest})
    assert run(submission, tmp_path, cache, select=LOSS_CHECKS)["score"] == 0


def test_an_object_that_equals_everything_is_refused(tmp_path, make_submission, cache):
    patched = "    class Liar:\n        def __eq__(self, other): return True\n    return Liar()\n"
    results = run(make_submission({LOSS: (BODY, patched + BODY)}), tmp_path, cache, select=LOSS_CHECKS)
    assert results["score"] == 0
    assert all("Liar" in m for m in outputs(results)), outputs(results)


def test_a_syntax_error_is_reported_per_check(tmp_path, make_submission, cache):
    results = run(make_submission({LOSS: (BODY, BODY + "    return (\n")}), tmp_path, cache, select=LOSS_CHECKS)
    assert results["score"] == 0
    assert all("could not import" in m and "SyntaxError" in m for m in outputs(results)), outputs(results)


def test_a_missing_package_fails_every_check_with_a_clear_note(tmp_path, cache):
    empty = tmp_path / "empty"
    empty.mkdir()
    results = run(empty, tmp_path, cache)
    assert results["score"] == 0 and results["tests"]
    assert "no `pretraining/` folder" in results["output"]


def test_a_zip_submission_grades_like_the_folder(tmp_path, cache):
    archive = tmp_path / "student.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in (SOLUTIONS / "pretraining").rglob("*.py"):
            z.write(path, f"handin/{path.relative_to(SOLUTIONS)}")
    results = run(archive, tmp_path, cache)
    assert results["score"] == sum(t["max_score"] for t in results["tests"]) > 0


def test_a_zip_with_path_traversal_is_refused(tmp_path, cache):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../escaped.py", "x = 1\n")
        z.writestr("pretraining/__init__.py", "")
    results = run(archive, tmp_path, cache)
    assert "unsafe path" in results["output"] and results["score"] == 0
    assert not (tmp_path / "escaped.py").exists()


def test_grade_all_writes_one_result_each_and_a_csv(tmp_path, make_submission):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "alice").symlink_to(SOLUTIONS, target_is_directory=True)
    broken = make_submission(extra={"pretraining/__init__.py": "import os; os.kill(os.getpid(), 9)\n"})  # every check
    os.rename(broken, folder / "bob")
    (folder / "carol.zip").write_bytes(b"this is not a zip file")
    from autograder.cli import main

    assert main(["grade-all", str(folder), "--out", str(tmp_path / "out"), "--jobs", "2", "-k", LOSS_CHECKS]) == 0
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "out" / "grades.csv"))}
    assert set(rows) == {"alice", "bob", "carol"}
    assert float(rows["alice"]["score"]) == float(rows["alice"]["max_score"]) > 0
    assert float(rows["bob"]["score"]) == 0 and float(rows["carol"]["score"]) == 0
    bob = json.loads((tmp_path / "out" / "bob" / "results.json").read_text())
    assert all("killed by signal 9" in t["output"] for t in bob["tests"]), bob
    feedback = (tmp_path / "out" / "bob" / "feedback.txt").read_text()  # what the student is sent
    most = sum(t["max_score"] for t in bob["tests"])
    assert "killed by signal 9" in feedback and f"0/{most:g}" in feedback, feedback


@pytest.fixture(params=["1", "0"], ids=["isolated", "control-not-isolated"])
def isolated(request, monkeypatch):
    """The test runs with the sandbox's isolation on, then off: the control shows that the attack is real."""
    from autograder.sandbox import isolation_available, isolation_mode

    monkeypatch.setenv("AUTOGRADER_ISOLATION", request.param)
    isolation_mode.cache_clear()
    if request.param == "1" and not isolation_available():
        pytest.skip("this machine does not allow user namespaces: the worker runs without isolation")
    yield request.param == "1"
    isolation_mode.cache_clear()


def right_only_if(condition: str) -> str:
    """A reconstruction_loss that is right only when ``condition`` (Python, evaluated in the worker) holds."""
    return (f"    try:\n        ok = {condition}\n    except Exception:\n        ok = False\n"
            "    if not ok:\n        return x.sum() * 0\n")


READS_THE_ANSWERS = f"'.pow(2)' in open({str(SOLUTIONS / 'pretraining' / 'autoencoder.py')!r}).read()"


def test_student_code_cannot_read_the_solutions_or_reach_the_network(tmp_path, make_submission, cache, isolated):
    """Each cheat scores only if the sandbox lets it through."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:  # stands in for any host on the internet
        port = server.getsockname()[1]
        reaches = f"__import__('socket').create_connection(('127.0.0.1', {port}), timeout=2) is not None"
        graded = [run(make_submission({LOSS: (BODY, right_only_if(condition) + BODY)}, name=f"cheat{i}"), tmp_path,
                      cache, name=f"out{i}", select=LOSS_CHECKS)
                  for i, condition in enumerate([READS_THE_ANSWERS, reaches])]
    full = sum(t["max_score"] for t in graded[0]["tests"])
    scores = [g["score"] for g in graded]
    assert scores == ([0, 0] if isolated else [full, full]) and full > 0, scores


def test_a_worker_sees_its_own_copy_but_not_its_neighbours_in_a_hidden_batch_folder(tmp_path, isolated):
    """grade-all keeps every student's private copy in one batch folder; a worker sees only its own copy."""
    import subprocess
    import sys

    from autograder.sandbox import Sandbox

    batch = tmp_path / "batch"
    own, other = batch / "alice" / "code", batch / "bob" / "code"
    for folder in (own, other):
        folder.mkdir(parents=True)
        (folder / "secret.txt").write_text(folder.parent.name)
    look = f"import os; print(open('secret.txt').read(), os.path.exists({str(other)!r}))"
    sandbox = Sandbox(hide=[batch])
    sandbox.prepare(own)
    done = subprocess.run(sandbox.argv([sys.executable, "-I", "-c", look], root=own), cwd=own,
                          capture_output=True, text=True, env=sandbox.environ(own))
    assert done.stdout.split() == ["alice", str(not isolated)], done.stdout + done.stderr


@pytest.mark.parametrize("isolated", ["1"], indirect=True, ids=["isolated"])
def test_the_tree_holds_what_the_worker_needs_and_nothing_of_the_checkout(tmp_path, isolated):
    """The worker's minimal tree: its Python, its own copy and the data — no solutions, checks, .git or grader."""
    import subprocess
    import sys

    from autograder.paths import CHECKS, REPO
    from autograder.sandbox import Sandbox

    (tmp_path / "pretraining").mkdir()
    paths = [sys.prefix, "/sandbox/worker/worker.py", "/sandbox/code/pretraining", "/sandbox/data",
             REPO / "README.md", REPO / ".git", SOLUTIONS, CHECKS, REPO / "autograder" / "grading.py", tmp_path]
    look = f"import os; print(*(os.path.exists(p) for p in {[str(p) for p in paths]!r}), os.getuid() != 0)"
    sandbox = Sandbox()
    sandbox.prepare(tmp_path)  # as the client does: the worker's uid may read its own copy
    done = subprocess.run(sandbox.argv([sys.executable, "-I", "-c", look], root=tmp_path), cwd=tmp_path,
                          capture_output=True, text=True, env=sandbox.environ(tmp_path))
    assert done.stdout.split() == ["True"] * 4 + ["False"] * 6 + ["True"], done.stdout + done.stderr


@pytest.mark.parametrize("on_path", [True, False], ids=["on-PYTHONPATH", "control-not-on-it"])
def test_the_worker_imports_what_the_graders_pythonpath_holds(tmp_path, make_submission, cache, monkeypatch, on_path):
    """The worker runs `python -I`, which drops PYTHONPATH; packages the grader sees through it must still load."""
    extra = tmp_path / "site"
    extra.mkdir()
    (extra / "course_extra.py").write_text("READY = True\n")
    if on_path:
        monkeypatch.setenv("PYTHONPATH", str(extra))
    else:
        monkeypatch.delenv("PYTHONPATH", raising=False)
    submission = make_submission({LOSS: (BODY, right_only_if("__import__('course_extra').READY") + BODY)})
    results = run(submission, tmp_path, cache, select=LOSS_CHECKS)
    assert results["score"] == (sum(t["max_score"] for t in results["tests"]) if on_path else 0) > 0 or not on_path


@pytest.mark.parametrize("deaths", [1, 2], ids=["dies-once-then-starts", "dies-twice"])
def test_a_worker_that_dies_while_starting_is_started_once_more(tmp_path, deaths, monkeypatch):
    """A worker killed before it is ready (a busy host's out-of-memory killer, say) is no fault of the student's:
    it is started once more; if that dies too, the check says it is the grader's fault."""
    import subprocess

    import numpy as np

    from autograder.checks.inputs import tensor
    from autograder.client import StudentError, Worker

    real_spawn, calls = Worker._spawn, []

    def spawn(self):
        calls.append(1)
        if len(calls) <= deaths:  # killed by signal 9 before it could say "ready"
            return subprocess.Popen(["sh", "-c", "kill -9 $$"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    start_new_session=True)
        return real_spawn(self)

    monkeypatch.setattr(Worker, "_spawn", spawn)
    x = tensor(np.ones((2, 3), dtype="float32"))
    with Worker(SOLUTIONS) as worker:
        if deaths == 1:
            assert float(worker.call("pretraining.autoencoder:reconstruction_loss", x, x).values) == 0.0
            assert worker.restarts == 1
        else:
            with pytest.raises(StudentError) as caught:
                worker.call("pretraining.autoencoder:reconstruction_loss", x, x)
            assert caught.value.kind == "startup" and "grader error, not your fault" in caught.value.message
            assert "killed by signal 9" in caught.value.message and len(calls) == 2


class _Recorder:
    """Stands in for the student's worker and for the reference: records every call's inputs, answers none."""

    def __init__(self, input_seed=None):
        self.input_seed, self.seen = input_seed, []

    def call(self, target, *args, seed=0, timeout=None, **kwargs):
        from autograder import codec
        from autograder.client import StudentError

        self.seen.append(codec.dumps([target, list(args), kwargs, seed]))
        raise StudentError("exception", "recorded")

    def close(self):
        pass


def test_graded_inputs_are_fresh_so_recorded_public_references_cannot_be_replayed():
    """`check` (no secret: inputs by the check's name, as recorded in the student release) sends the same inputs
    every time; grading mixes the reference cache's secret in, so its inputs differ from those recorded."""
    from autograder.grading import run_checks

    def inputs(input_seed):
        reference = _Recorder(input_seed)
        student = _Recorder()
        run_checks(student, reference, ("public",), LOSS_CHECKS)
        return student.seen

    by_name, again, graded, other_cache = inputs(None), inputs(None), inputs(12345), inputs(67890)
    assert by_name and by_name == again  # the control: without a secret the inputs are the recorded ones
    assert graded != by_name and other_cache != graded and len(graded) == len(by_name)
