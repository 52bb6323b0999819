"""What students receive and hand in: the bundle's README commands work inside the bundle; `submit` validates and
builds a clean zip; a working folder handed in with its .venv still grades; feedback hides hidden checks."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder.paths import REPO, SOLUTIONS

LOSS = "autoencoder.py"
BODY = "    per_example = (x - x_hat).pow(2).flatten(start_dim=1).sum(dim=1)  # (B,)\n"


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    """The student bundle, unpacked. `bash scripts/env.sh` (pip, network) is not run here: the README's
    `.venv/bin/python` commands run with this repository's environment instead (see `run`)."""
    from autograder.release import bundle

    root = tmp_path_factory.mktemp("bundle")
    names = bundle(root / "student.zip")
    with zipfile.ZipFile(root / "student.zip") as archive:
        archive.extractall(root / "student")
    return root / "student", names


def run(command: str, cwd, env):
    """A README command, with this repository's Python standing in for the bundle's own .venv/bin/python."""
    argv = command.split()
    argv[0] = sys.executable if argv[0] == ".venv/bin/python" else argv[0]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)


def readme_commands(readme: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_is_the_students_and_names_no_instructor_material(unpacked):
    student, names = unpacked
    readme = (student / "README.md").read_text()
    assert "bash scripts/env.sh" in readme and "jupyter lab" in readme and "autograder check" in readme
    assert "autograder submit" in readme
    for instructor_only in ("solutions", "grade-all", "hidden checks", "Gradescope image", "release", "instructor"):
        assert instructor_only.lower() not in readme.lower(), instructor_only
    assert not [n for n in names if n.startswith("solutions/") or "checks/hidden" in n or n.endswith("batch.py")]
    for command in readme_commands(readme):  # every command the README gives refers to a file the bundle holds
        for word in command.split():
            if "/" in word and not word.startswith("-"):
                assert (student / word.rstrip("/")).exists() or word.startswith(".venv/"), (command, word)


def test_the_readmes_check_and_submit_commands_work_inside_the_bundle(unpacked):
    student, _ = unpacked
    commands = readme_commands((student / "README.md").read_text())
    env = {**os.environ, "PRETRAINING_DEVICE": "cpu"}
    env.pop("PRETRAINING_CODE", None)
    check = next(c for c in commands if "autograder check -k" in c)
    done = run(check, student, env)
    assert done.returncode == 1 and "not implemented yet" in done.stdout, done.stdout + done.stderr
    assert subprocess.run(["bash", "-n", "scripts/env.sh"], cwd=student).returncode == 0

    # A student who finished one function, with Jupyter's clutter lying around.
    mine = student / "starter_code" / "pretraining" / LOSS
    stub = mine.read_text()
    solution = (SOLUTIONS / "pretraining" / LOSS).read_text()
    mine.write_text(solution)
    (student / "starter_code" / "pretraining" / "__pycache__").mkdir(exist_ok=True)
    (student / "starter_code" / "pretraining" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    submit = next(c for c in commands if "autograder submit" in c)
    done = run(submit, student, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "still not implemented" in done.stdout and "autoencoder.py: reconstruction_loss" not in done.stdout
    assert "never been run" in done.stdout  # the handed-out notebooks have no outputs
    with zipfile.ZipFile(student / "submission.zip") as archive:
        names = archive.namelist()
    assert "pretraining/autoencoder.py" in names and "01_autoencoders.ipynb" in names
    assert not [n for n in names if "__pycache__" in n or ".venv" in n or n.startswith("data/")]

    # A notebook that is not valid JSON stops `submit` with an error naming it; nothing is written.
    (student / "submission.zip").unlink()
    broken = student / "assignments" / "02_masked_autoencoders.ipynb"
    saved = broken.read_bytes()
    broken.write_text('{"cells": [')
    try:
        done = run(submit, student, env)
    finally:
        broken.write_bytes(saved)
        mine.write_text(stub)
    assert done.returncode == 1 and "02_masked_autoencoders.ipynb is not a valid notebook" in done.stdout, done.stdout
    assert not (student / "submission.zip").exists()


def test_a_working_folder_with_its_venv_is_graded_on_what_belongs(tmp_path, make_submission):
    from autograder.grading import grade

    folder = make_submission(name="handin")
    site = folder / ".venv" / "lib" / "python3.11" / "site-packages"
    for i in range(60):  # thousands of files in real life; the limit counts only what belongs
        (site / f"pkg{i}").mkdir(parents=True)
        for j in range(100):
            (site / f"pkg{i}" / f"m{j}.py").write_text("x = 1\n")
    (site / "pretraining").mkdir()  # an installed copy must not be taken for the student's package
    (site / "pretraining" / "__init__.py").write_text("raise ImportError('the wrong copy')\n")
    results = grade(folder, tmp_path / "out", cache=tmp_path / "cache", quiet=True, select="reconstruction_loss")
    assert results["tests"] and results["score"] == sum(t["max_score"] for t in results["tests"]), results


def test_feedback_shows_no_hidden_checks_internals(tmp_path, make_submission):
    from autograder.grading import grade

    wrong = make_submission({LOSS: (BODY, BODY.replace("pow(2)", "abs()"))})
    results = grade(wrong, tmp_path / "out", cache=tmp_path / "cache", quiet=True, select="reconstruction_loss")
    hidden = [t for t in results["tests"] if t["visibility"] != "visible"]
    public = [t for t in results["tests"] if t["visibility"] == "visible"]
    assert hidden and public
    feedback = (tmp_path / "out" / "feedback.txt").read_text()
    for test in hidden:
        assert test["name"] not in feedback and test["output"] not in feedback
    assert "hidden check 1 (autoencoder)" in feedback
    assert public[0]["name"][:50] in feedback and public[0]["output"].splitlines()[0][:60] in feedback
