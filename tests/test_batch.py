"""grade-all at scale: killed and resumed, deadlines, regrades of a subset, shards, GPUs, a broken environment.

Each batch grades only the two reconstruction_loss checks (``-k``), so a grading takes a second or two.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.paths import REPO

LOSS = "autoencoder.py"
BODY = "    per_example = (x - x_hat).pow(2).flatten(start_dim=1).sum(dim=1)  # (B,)\n"
SELECT = "reconstruction_loss"
HANG_AT_IMPORT = {"pretraining/__init__.py": "while True:\n    pass\n"}


def selected():
    from autograder.grading import collect_checks

    return collect_checks(SELECT)


FULL = sum(c.max_score for c in selected())  # the points of the selected checks
N = len(selected())


def grade_all(folder: Path, out: Path, *extra: str, env: dict | None = None, wait: bool = True):
    command = [sys.executable, "-m", "autograder", "grade-all", str(folder), "--out", str(out), *extra]
    run = dict(cwd=REPO, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, **run, timeout=300) if wait else subprocess.Popen(command, **run)


def results(out: Path) -> dict:
    """student → [(check, status, score)], the parts of results.json that must not depend on timing."""
    found = {}
    for path in sorted(out.glob("*/results.json")):
        if not path.parent.name.startswith("."):
            data = json.loads(path.read_text())
            found[path.parent.name] = [(t["extra_data"]["check"], t["status"], t["score"]) for t in data["tests"]]
    return found


def csv_rows(out: Path) -> dict:
    return {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}


def leftovers(tmp_path: Path) -> list[str]:
    """Processes whose command line or working directory mentions this test's folder (there must be none)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if str(tmp_path) in cmdline or str(tmp_path) in cwd:
            found.append(f"{proc.name}: {cmdline}")
    return found


@pytest.fixture
def classroom(tmp_path, make_submission):
    """Four students: right, slow at import (in flight when the batch is killed), wrong, crashes at import."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    make = {
        "a_right": {},
        "b_slow": {"extra": {"pretraining/__init__.py": "import time\ntime.sleep(8)\n"}},
        "c_wrong": {"patches": {LOSS: (BODY, BODY.replace("pow(2)", "abs()"))}},
        "d_crashes": {"extra": {"pretraining/__init__.py": "import os; os.kill(os.getpid(), 9)\n"}},
    }
    for name, kwargs in make.items():
        make_submission(name=name, **kwargs).rename(folder / name)
    return folder


def test_a_killed_batch_resumes_to_the_same_results_and_leaves_nothing_behind(tmp_path, classroom):
    # Kill a batch while b_slow is in flight (a_right is done by then: the two start together, in name order).
    out = tmp_path / "out"
    proc = grade_all(classroom, out, "-k", SELECT, "--jobs", "2", "--no-preflight", wait=False)
    for _ in range(6000):
        if (out / "a_right" / "grading.json").exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert (out / "a_right" / "grading.json").exists() and not (out / "b_slow" / "grading.json").exists()
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "rerun the same command" in stdout and "ETA" in stdout  # progress as it goes
    # c_wrong starts when a_right ends and may finish before the signal lands (a loaded CI machine): count, don't assume.
    finished = {path.parent.name for path in out.glob("*/grading.json")}
    assert "a_right" in finished and "b_slow" not in finished, finished
    for name in {"a_right", "b_slow", "c_wrong", "d_crashes"} - finished:
        assert not (out / name / "results.json").exists(), f"{name} was interrupted: it must not get a result (no fake 0)"
    assert (out / "grades.csv").is_file() and "a_right" in csv_rows(out)
    assert not leftovers(tmp_path), leftovers(tmp_path)
    assert not list((out / ".scratch").glob("*")) if (out / ".scratch").exists() else True

    again = grade_all(classroom, out, "-k", SELECT, "--jobs", "2", "--no-preflight")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{len(finished)} already graded (unchanged)" in again.stdout, again.stdout
    statuses = {k: [status for _, status, _ in v] for k, v in results(out).items()}
    assert statuses == {"a_right": ["passed"] * N, "b_slow": ["passed"] * N, "c_wrong": ["failed"] * N,
                        "d_crashes": ["failed"] * N}, statuses
    assert {k: float(v["score"]) for k, v in csv_rows(out).items()} == {"a_right": FULL, "b_slow": FULL,
                                                                        "c_wrong": 0, "d_crashes": 0}
    assert not leftovers(tmp_path) and not (out / ".scratch").exists()

    # A student who hands in again is regraded alone; the others are skipped (their submissions did not change).
    path = classroom / "c_wrong" / "pretraining" / LOSS
    path.write_text(path.read_text().replace("abs()", "pow(2)"))
    third = grade_all(classroom, out, "-k", SELECT, "--no-preflight")
    assert "3 already graded (unchanged), 1 to grade" in third.stdout, third.stdout
    assert float(csv_rows(out)["c_wrong"]["score"]) == FULL


def test_a_hang_at_import_costs_one_deadline_and_every_check_is_still_marked(tmp_path, make_submission):
    folder = tmp_path / "submissions"
    folder.mkdir()
    make_submission(name="hangs", extra=HANG_AT_IMPORT).rename(folder / "hangs")
    start = time.monotonic()
    done = grade_all(folder, tmp_path / "out", "-k", SELECT, "--deadline", "10", "--no-preflight")
    assert done.returncode == 0, done.stdout + done.stderr
    # Each of the two checks allows 30 s: without the deadline this submission would take a minute or more.
    assert time.monotonic() - start < 45
    hang = json.loads((tmp_path / "out" / "hangs" / "results.json").read_text())
    assert len(hang["tests"]) == N and all("time limit (10 s)" in t["output"] for t in hang["tests"]), hang
    assert json.loads((tmp_path / "out" / "hangs" / "grading.json").read_text())["status"] == "deadline"
    assert "deadline" in csv_rows(tmp_path / "out")["hangs"]["status"]
    assert not leftovers(tmp_path), leftovers(tmp_path)


def test_a_regrade_of_some_checks_or_students_keeps_every_other_result(tmp_path, make_submission):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name in ("alice", "bob"):
        make_submission(name=name).rename(folder / name)
    out = tmp_path / "out"
    assert grade_all(folder, out, "-k", SELECT, "--no-preflight").returncode == 0
    first = results(out)
    from autograder.grading import collect_checks

    extra = collect_checks("bert_mask_reproducible")
    done = grade_all(folder, out, "-k", "bert_mask_reproducible", "--no-preflight")
    assert done.returncode == 0, done.stdout + done.stderr
    after = results(out)
    for student in ("alice", "bob"):
        assert set(first[student]) < set(after[student]), "the first grading's rows are kept"
        assert {c for c, _, _ in set(after[student]) - set(first[student])} == {c.nodeid for c in extra}
    # grades.csv holds every row
    assert float(csv_rows(out)["alice"]["max_score"]) == FULL + sum(c.max_score for c in extra)
    # Regrading one named student touches only that student.
    before = (out / "bob" / "grading.json").stat().st_mtime_ns
    done = grade_all(folder, out, "-k", SELECT, "--student", "alice", "--no-preflight")
    assert "1 submission(s): 0 already graded" in done.stdout, done.stdout
    assert (out / "bob" / "grading.json").stat().st_mtime_ns == before and results(out) == after


def test_shards_graded_apart_then_merged_as_a_slurm_array_or_an_indexed_job_would(tmp_path, make_submission):
    import yaml

    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, patches in [("s1", {}), ("s2", {LOSS: (BODY, BODY.replace("pow(2)", "abs()"))}), ("s3", {})]:
        make_submission(patches, name=name).rename(folder / name)
    # The manifests run exactly this command with their own index (Slurm's array id, Kubernetes' completion index).
    slurm = (REPO / "deploy" / "slurm-grade-all.sh").read_text()
    assert subprocess.run(["bash", "-n", REPO / "deploy" / "slurm-grade-all.sh"]).returncode == 0
    assert '--shard "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}"' in slurm and "autograder merge" in slurm
    job = next(d for d in yaml.safe_load_all((REPO / "deploy" / "k8s-grade-all.yaml").read_text()) if d["kind"] == "Job")
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] >= 2
    assert "--shard" in " ".join(job["spec"]["template"]["spec"]["containers"][0]["command"])

    shards = [tmp_path / f"shard{i}" for i in range(2)]
    for i, shard in enumerate(shards):  # as separate machines: no shared folder, each its own reference cache
        done = grade_all(folder, shard, "-k", SELECT, "--shard", f"{i}/2", "--no-preflight")
        assert done.returncode == 0 and not (shard / "grades.csv").exists(), done.stdout + done.stderr
    assert sorted(p.name for p in shards[0].iterdir() if not p.name.startswith(".")) == ["s1", "s3"]
    merged = tmp_path / "merged"
    done = subprocess.run([sys.executable, "-m", "autograder", "merge", str(merged), *map(str, shards)], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rows = csv_rows(merged)
    assert {k: float(v["score"]) for k, v in rows.items()} == {"s1": FULL, "s2": 0.0, "s3": FULL}


def test_a_reference_that_fails_stops_grading_before_any_student_is_scored(tmp_path, make_submission):
    folder = tmp_path / "submissions"
    folder.mkdir()
    make_submission(name="alice").rename(folder / "alice")
    out = tmp_path / "out"
    assert grade_all(folder, out, "-k", SELECT).returncode == 0
    for entry in (out / ".reference-cache").rglob("*"):  # every reference value now raises when read
        if entry.is_file():
            entry.write_text("{ corrupt")
    done = grade_all(folder, out, "-k", SELECT, "--force")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "GRADING STOPPED" in done.stderr and "not of any student" in done.stderr
    assert "the reference solution" in done.stderr, done.stderr
    # Without the pre-flight, the first student's grading reports the reference's failure: the batch stops, and
    # the student keeps the result they had.
    before = (out / "alice" / "results.json").read_bytes()
    done = grade_all(folder, out, "-k", SELECT, "--no-preflight", "--force")
    assert done.returncode == 3 and "while grading alice" in done.stderr, done.stdout + done.stderr
    assert (out / "alice" / "results.json").read_bytes() == before


def test_a_broken_package_in_the_grading_environment_stops_grading(tmp_path, make_submission):
    """As on a GPU VM where a mismatched package broke the grader's own imports (there: huggingface_hub)."""
    site = tmp_path / "broken-site"
    (site / "pytest").mkdir(parents=True)
    (site / "pytest" / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'httpx2'\")\n")
    folder = tmp_path / "submissions"
    folder.mkdir()
    make_submission(name="alice").rename(folder / "alice")
    done = grade_all(folder, tmp_path / "out", "-k", SELECT, env={"PYTHONPATH": str(site)})
    assert done.returncode == 3, done.stdout + done.stderr
    assert "GRADING STOPPED" in done.stderr and "httpx2" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out" / "alice").exists() and not (tmp_path / "out" / "grades.csv").exists()


@pytest.mark.parametrize("gpus", ["5,6", None], ids=["one-per-gpu", "control-no-gpus"])
def test_one_submission_per_gpu_each_sees_only_its_own(tmp_path, make_submission, gpus):
    seen = "__import__('os').environ.get('CUDA_VISIBLE_DEVICES') in ('5', '6')"
    patched = (f"    if not ({seen}):\n        return x.sum() * 0\n") + BODY
    folder = tmp_path / "submissions"
    folder.mkdir()
    make_submission({LOSS: (BODY, patched)}, name="g1").rename(folder / "g1")
    done = grade_all(folder, tmp_path / "out", "-k", SELECT, "--no-preflight", *(["--gpus", gpus] if gpus else []),
                     env={"CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert ("2 at a time" in done.stdout) == bool(gpus)
    assert {k: float(v["score"]) for k, v in csv_rows(tmp_path / "out").items()} == \
        ({"g1": FULL} if gpus else {"g1": 0.0})


def test_grade_with_a_deadline_writes_every_check_for_a_hanging_upload(tmp_path, make_submission):
    """Gradescope's run_autograder grades with --deadline: a hang still gets a results.json, not a killed run."""
    hangs = make_submission(name="hangs", extra=HANG_AT_IMPORT)
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(hangs), "--out", str(tmp_path / "results"),
                           "--deadline", "10", "-k", SELECT], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert len(data["tests"]) == N and all("time limit (10 s)" in t["output"] for t in data["tests"]), data
    assert data["score"] == 0 and (tmp_path / "results" / "feedback.txt").is_file()
    assert not leftovers(tmp_path) and not (tmp_path / "results" / ".batch").exists()
