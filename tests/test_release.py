"""Release: solution regions become stubs; the committed release matches what solutions/ would generate."""

import json
import os
import subprocess
import sys

import pytest

from autograder.paths import ASSIGNMENTS, REPO, SOLUTIONS, STARTER
from autograder.release import ReleaseError, stub_source

SOURCE = '''def f(x):
    """Doc."""
    y = 1
    ### BEGIN SOLUTION
    ### HINT: add one.
    return x + y
    ### END SOLUTION


class Net:
    def forward(self, x):
        ### BEGIN SOLUTION
        return x
        ### END SOLUTION
'''


def test_stub_replaces_each_region_and_keeps_the_rest():
    out = stub_source(SOURCE, "m.py")
    assert "return x + y" not in out and "return x\n" not in out
    assert '    """Doc."""\n    y = 1\n' in out
    assert "raise NotImplementedError('f is not implemented yet (m.py). Hint: add one.')" in out
    assert "        raise NotImplementedError('Net.forward is not implemented yet (m.py).')" in out
    compile(out, "m.py", "exec")


@pytest.mark.parametrize("bad", [
    "def f():\n    ### BEGIN SOLUTION\n    pass\n",                                   # no END
    "def f():\n    ### END SOLUTION\n",                                               # stray END
    "### BEGIN SOLUTION\nX = 1\n### END SOLUTION\n",                                  # not in a function
    "def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    ### END SOLUTION\n",  # nested
])
def test_malformed_regions_are_refused(bad):
    with pytest.raises(ReleaseError):
        stub_source(bad, "m.py")


def test_starter_code_has_no_solution_text():
    for path in (STARTER / "pretraining").rglob("*.py"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path


def test_student_notebooks_have_no_solutions_or_hidden_tests():
    for path in ASSIGNMENTS.glob("*.ipynb"):
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "HIDDEN TESTS"):
            assert marker not in text, f"{path.name} contains {marker}"
        nb = json.loads(text)
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code"), "outputs not cleared"


def test_every_source_module_and_notebook_is_released():
    modules = {p.relative_to(SOLUTIONS) for p in (SOLUTIONS / "pretraining").rglob("*.py")}
    assert modules == {p.relative_to(STARTER) for p in (STARTER / "pretraining").rglob("*.py")}
    sources = {p.stem for p in (SOLUTIONS / "notebooks").glob("[0-9]*.py")}
    assert sources and sources == {p.stem for p in ASSIGNMENTS.glob("*.ipynb")}


def test_release_check_is_clean_and_notices_a_stale_file():
    run = [sys.executable, "-m", "autograder", "release", "--check"]
    clean = subprocess.run(run, cwd=REPO, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    stale = STARTER / "pretraining" / "autoencoder.py"
    original = stale.read_text()
    try:
        stale.write_text(original + "\n# edited by hand\n")
        dirty = subprocess.run(run, cwd=REPO, capture_output=True, text=True)
    finally:
        stale.write_text(original)
    assert dirty.returncode == 1
    assert "stale: starter_code/pretraining/autoencoder.py" in dirty.stdout


def test_student_bundle_holds_no_solution_and_no_hidden_check_and_runs_its_public_checks(tmp_path):
    import zipfile

    from autograder.release import bundle

    names = bundle(tmp_path / "student.zip")
    assert not [n for n in names if n.startswith("solutions/") or "checks/hidden" in n]
    assert "autograder/checks/public/references.json" in names and "starter_code/pretraining/autoencoder.py" in names
    with zipfile.ZipFile(tmp_path / "student.zip") as archive:
        archive.extractall(tmp_path / "student")
        assert "BEGIN SOLUTION" not in "".join(archive.read(n).decode("utf-8", "ignore")
                                               for n in names if n.endswith((".py", ".ipynb")) and "release.py" not in n)
    # A student's copy runs the public checks on its stubs: every check fails as "not implemented yet".
    done = subprocess.run([sys.executable, "-m", "autograder", "check", "-k", "reconstruction_loss"],
                          cwd=tmp_path / "student", capture_output=True, text=True)
    assert done.returncode == 1 and "not implemented yet" in done.stdout, done.stdout + done.stderr


def test_gradescope_autograder_grades_an_upload_as_gradescope_would_run_it(tmp_path):
    """The zip's run_autograder, in a copy of Gradescope's /autograder layout: full marks for the solution's
    files uploaded one by one, zero for the untouched starter folder. (setup.sh needs network: only parsed.)"""
    import shutil
    import zipfile

    from autograder.release import gradescope

    names = gradescope(tmp_path / "gradescope.zip")
    assert names[:2] == ["setup.sh", "run_autograder"]
    assert any("checks/hidden" in n for n in names) and "solutions/pretraining/autoencoder.py" in names
    assert not [n for n in names if n.startswith(("starter_code/", "assignments/", "tests/", ".venv"))]
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "gradescope.zip") as archive:
        archive.extractall(root / "source")
    assert subprocess.run(["bash", "-n", root / "source" / "setup.sh"]).returncode == 0
    (root / "source" / ".venv").symlink_to(REPO / ".venv")  # what setup.sh builds

    scores = {}
    for name, upload in [("solution, loose files", SOLUTIONS / "pretraining"), ("starter folder", STARTER)]:
        shutil.rmtree(root / "submission", ignore_errors=True)
        shutil.rmtree(root / "results", ignore_errors=True)
        shutil.copytree(upload, root / "submission", ignore=shutil.ignore_patterns("__pycache__"))
        done = subprocess.run(["bash", root / "source" / "run_autograder", "-k", "reconstruction_loss"],
                              env={**os.environ, "GRADESCOPE_ROOT": str(root)}, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        results = json.loads((root / "results" / "results.json").read_text())
        scores[name] = (results["score"], sum(t["max_score"] for t in results["tests"]))
    full = scores["solution, loose files"][1]  # the points of the selected checks, whatever they are now
    assert full > 0 and scores == {"solution, loose files": (full, full), "starter folder": (0, full)}, scores
