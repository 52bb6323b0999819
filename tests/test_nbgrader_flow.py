"""nbgrader end to end with the real CLI, on a tiny two-notebook assignment and three students: complete,
partial, and one with an unreadable notebook. The course directory is set up by the same code as the course's
(``python -m autograder course``); only the notebooks are small, to keep the test fast.

Points (hand-computed): notebook 01 — loss value 3 (autograded) + written answer 2 (by hand); notebook 02 —
the student's package and the shipped data found 2 (autograded).
- alice: her package and notebooks are complete; answer given 2 → 3 + 2 + 2 = 7
- bob: notebooks complete but his package still stubbed (so 01 fails: his own code is what runs); answer 1 → 0 + 1 + 2 = 3
- carol: complete package, notebook 01 not valid JSON (costs only that notebook) → 0 + 0 + 2 = 2
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.paths import REPO, SOLUTIONS, STARTER

NB1 = '''# %% [markdown]
# # A tiny notebook: the reconstruction loss
# %%
import sys
from pathlib import Path

sys.path.insert(0, str(next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "autograder").is_dir())))
from autograder.student import setup  # noqa: E402

DEVICE = setup()
import torch  # noqa: E402

from pretraining.autoencoder import reconstruction_loss  # noqa: E402

# %% [solution id=loss-value]
x = torch.ones(2, 3, dtype=torch.float64)
### BEGIN SOLUTION
value = float(reconstruction_loss(x, torch.zeros_like(x)))
### END SOLUTION

# %% [tests id=loss-test points=3]
assert abs(value - 3.0) < 1e-9, value

# %% [answer id=why-sum points=2]
# Why is the loss summed over pixels and averaged over the batch?
'''

NB2 = '''# %% [markdown]
# # A tiny notebook: the shipped data
# %%
import sys
from pathlib import Path

sys.path.insert(0, str(next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "autograder").is_dir())))
from autograder.student import setup  # noqa: E402

DEVICE = setup()
from pretraining.corpus import data_dir  # noqa: E402
import pretraining  # noqa: E402

# %% [solution id=where]
### BEGIN SOLUTION
found = (data_dir() / "README.md").is_file()
### END SOLUTION

# %% [tests id=where-test points=2]
assert found, data_dir()
assert Path(pretraining.__file__).resolve().parent.parent == Path.cwd().resolve(), pretraining.__file__
'''

ASSIGNMENT = "reconstruction"
COURSE_ID = "pretraining-lecture"
EXPECTED = {"alice": 7.0, "bob": 3.0, "carol": 2.0}


def cli(*args, cwd=REPO, env=None, check=True):
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # nbgrader runs `alembic` from PATH
    done = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PATH": path, "AUTOGRADER_CELL_TIMEOUT": "300", **(env or {})})
    assert not check or done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def nbgrader(*args, cwd):
    return cli("-m", "nbgrader", *args, cwd=cwd)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The course taken through release → fetch → submit → collect → autograde → manual grades → feedback → export."""
    root = tmp_path_factory.mktemp("nbgrader")
    sources = []
    for name, text in (("01_tiny_loss", NB1), ("02_tiny_data", NB2)):
        sources.append(root / f"{name}.py")
        sources[-1].write_text(text)
    course = root / "course"
    done = cli("-m", "autograder", "course", "--dir", str(course), "--notebooks", *map(str, sources))
    assert "course directory ready" in done.stdout
    (course / "roster.csv").write_text("id,name,email\nalice,Alice Liddell,alice@example.org\n"
                                       "bob,Bob Marley,bob@example.org\ncarol,Carol Danvers,carol@example.org\n")
    nbgrader("generate_assignment", ASSIGNMENT, cwd=course)
    nbgrader("release_assignment", ASSIGNMENT, cwd=course)

    exchange = ["--course", COURSE_ID, f"--Exchange.root={course / 'exchange'}"]
    for student in EXPECTED:
        home = root / "home" / student
        home.mkdir(parents=True)
        nbgrader("fetch_assignment", ASSIGNMENT, *exchange, cwd=home)
        work = home / ASSIGNMENT
        assert (work / "pretraining" / "autoencoder.py").read_text() == (STARTER / "pretraining" / "autoencoder.py").read_text()
        # The public grader comes with it (no hidden check), so the notebooks' set-up cell works where students are.
        assert (work / "autograder" / "student.py").is_file() and not (work / "autograder" / "checks" / "hidden").exists()
        if student == "alice":
            setup_cell = NB1.split("# %%\n", 1)[1].split("# %%", 1)[0].split("import torch")[0]
            done = cli("-c", setup_cell, cwd=work)
            assert f"your code: {work}" in done.stdout, done.stdout + done.stderr
        # Each student's work: the notebooks as the instructor's source (solutions filled in), and a package.
        for src in sources:
            shutil.copyfile(course / "source" / ASSIGNMENT / f"{src.stem}.ipynb", work / f"{src.stem}.ipynb")
        if student != "bob":
            shutil.rmtree(work / "pretraining")
            shutil.copytree(SOLUTIONS / "pretraining", work / "pretraining", ignore=shutil.ignore_patterns("__pycache__"))
        if student == "carol":
            (work / "01_tiny_loss.ipynb").write_text('{"cells": [ this is not json')
        nbgrader("submit", ASSIGNMENT, *exchange, cwd=home)
        # One machine account plays three students: give the submission its student's name, as nbgrader would.
        inbound = course / "exchange" / COURSE_ID / "inbound"
        mine = next(p for p in inbound.iterdir() if not p.name.split("+")[0] in EXPECTED)
        mine.rename(inbound / ("+".join([student] + mine.name.split("+")[1:])))
    nbgrader("collect", ASSIGNMENT, cwd=course)
    autograde = cli("-m", "autograder", "course", "--dir", str(course), "--autograde")
    assert "carol: 01_tiny_loss.ipynb is not a readable notebook" in autograde.stdout, autograde.stdout

    # The formgrader's part, through nbgrader's own API: the written answer graded by hand.
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, points in (("alice", 2.0), ("bob", 1.0)):
            gradebook.find_grade("why-sum", "01_tiny_loss", ASSIGNMENT, student).manual_score = points
        gradebook.db.commit()
    nbgrader("generate_feedback", ASSIGNMENT, cwd=course)
    nbgrader("export", cwd=course)
    return course


def test_each_student_is_autograded_against_their_own_package_and_the_shipped_data(course):
    rows = {r["student_id"]: r for r in csv.DictReader(open(course / "grades.csv"))}
    assert {s: float(r["score"]) for s, r in rows.items()} == EXPECTED, rows
    assert {s: float(r["max_score"]) for s, r in rows.items()} == {s: 7.0 for s in EXPECTED}
    assert rows["bob"]["email"] == "bob@example.org" and rows["bob"]["last_name"] == "Marley"  # the roster, loaded


def test_an_unreadable_notebook_costs_only_that_notebook_and_is_kept(course):
    carol = course / "submitted" / "carol" / ASSIGNMENT
    assert (carol / "01_tiny_loss.ipynb.unreadable").read_text().startswith('{"cells": [ this')
    assert (course / "autograded" / "carol" / ASSIGNMENT / "02_tiny_data.ipynb").is_file()
    assert (course / "feedback" / "carol" / ASSIGNMENT / "02_tiny_data.html").is_file()


def test_feedback_is_written_for_every_student(course):
    for student in EXPECTED:
        html = (course / "feedback" / student / ASSIGNMENT / "01_tiny_loss.html").read_text()
        assert "loss-test" in html or "Test cell" in html or "points" in html.lower()


@pytest.fixture(scope="module")
def modules(course, tmp_path_factory):
    out = tmp_path_factory.mktemp("modules") / "module-grades"
    done = cli("-m", "autograder", "grade-all", str(course / "submitted"), "--out", str(out), "-k",
               "reconstruction_loss", "--no-preflight")
    return out, done


def test_grade_all_over_nbgraders_submitted_folder_finds_each_students_package(modules):
    """The assignment folder is not named like the package, so the package finder takes the student's package."""
    out, done = modules
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    full = float(rows["alice"]["max_score"])
    assert full > 0 and {s: float(r["score"]) for s, r in rows.items()} == {"alice": full, "bob": 0.0, "carol": full}, \
        done.stdout + done.stderr


def test_one_grade_per_student_matches_the_hand_computed_totals(course, modules, tmp_path):
    """Weights 0.5 modules, 0.3 autograded cells, 0.2 written answers; 10% a day late, carol 1.5 days late:
    alice 100·(0.5·1 + 0.3·5/5 + 0.2·2/2) = 100; bob 100·(0 + 0.3·2/5 + 0.2·1/2) = 22;
    carol 100·(0.5·1 + 0.3·2/5 + 0) · (1 − 2·0.10) = 49.6."""
    (tmp_path / "timestamps.csv").write_text("id,submitted_at\ncarol,2030-01-02T12:00:00+00:00\n")
    (tmp_path / "grading.toml").write_text(f"""
roster = "{course / 'roster.csv'}"
assignment = "{ASSIGNMENT}"
out = "final"
[modules]
results = "{modules[0]}"
weight = 0.5
[notebooks]
gradebook = "{course / 'gradebook.db'}"
weight = 0.3
written_weight = 0.2
[late]
due = "2030-01-01T00:00:00+00:00"
grace_minutes = 15
penalty_per_day = 0.10
max_days = 5
timestamps = "timestamps.csv"
""")
    done = cli("-m", "autograder", "grades", "--config", str(tmp_path / "grading.toml"))
    rows = {r["id"]: r for r in csv.DictReader(open(tmp_path / "final" / "grades.csv"))}
    assert {s: float(r["total_percent"]) for s, r in rows.items()} == {"alice": 100.0, "bob": 22.0, "carol": 49.6}, \
        done.stdout
    assert rows["carol"]["days_late"] == "2" and rows["bob"]["email"] == "bob@example.org"
    assert (rows["bob"]["notebooks"], rows["bob"]["notebooks_max"], rows["bob"]["written"]) == ("2", "5", "1")
    gradescope = list(csv.DictReader(open(tmp_path / "final" / "gradescope.csv")))
    assert gradescope[2] == {"Name": "Carol Danvers", "SID": "carol", "Email": "carol@example.org", "Total Score": "49.6"}
    lms = list(csv.reader(open(tmp_path / "final" / "lms.csv")))
    assert lms[0][:3] == ["Student", "ID", "SIS User ID"] and lms[1][2] == "alice" and lms[1][-1] == "100"
