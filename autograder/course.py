"""An nbgrader course directory for this assignment, set up in one command, and the autograde step that fits it.

``python -m autograder course --dir DIR`` writes::

    DIR/nbgrader_config.py    course id, exchange, the assignment, the roster, per-cell time limits
    DIR/source/reconstruction/ the notebooks (built from solutions/notebooks), pretraining/ (the stubbed package)
                               and autograder/ (its public part, as in the student bundle: check() works)
    DIR/autograder, DIR/data   links to this repository's grader and shipped data: the notebooks' setup cell
                               finds them above the folder they run in (autograded/<student>/<assignment>/)
    DIR/exchange/             nbgrader's exchange (students fetch and submit through it)
    DIR/roster.csv            student id, name, email (edit it; rerun the command to load it)

The assignment is called ``reconstruction``, not ``pretraining``: a folder named like the package would be taken
for the package by the grader's package finder. Then, in order (docs/INSTRUCTORS.md)::

    nbgrader generate_assignment reconstruction      # release/: solutions stubbed, hidden tests stripped
    nbgrader release_assignment reconstruction       # into the exchange; students `nbgrader fetch_assignment`
    nbgrader collect reconstruction                  # submitted/<student>/reconstruction/
    python -m autograder course --dir DIR --autograde   # = repair unreadable notebooks, then nbgrader autograde
    nbgrader formgrader / generate_feedback / export

Autograde runs each student's notebooks in ``autograded/<student>/reconstruction/``, against the ``pretraining/``
package the student handed in next to them (``autograder.student.code_folder`` finds it there) and the shipped
data (``DIR/data``). A notebook that is not valid JSON would make nbgrader drop the student's whole submission:
it is set aside (``NAME.ipynb.unreadable``) and replaced by the released notebook, so it alone scores nothing.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .notebooks import build as build_notebook
from .paths import PACKAGE, REPO, SOURCE_NOTEBOOKS
from .release import BUNDLE_EXCLUDE, NBGRADER_ASSIGNMENT, collect, starter_files

ASSIGNMENT = NBGRADER_ASSIGNMENT
COURSE_ID = "pretraining-lecture"
CELL_TIMEOUT = 1800  # seconds per cell: the notebooks train models for minutes on a CPU (nbgrader's default: 30)

CONFIG = '''\
# nbgrader configuration of the course directory (written by `python -m autograder course`; edit freely).
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
c = get_config()  # noqa: F821 — nbgrader defines it
c.CourseDirectory.root = str(HERE)
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = str(HERE / "exchange")
# The roster (roster.csv: id,name,email) is loaded into the gradebook by `python -m autograder course --autograde`.
# Per-cell limit; a notebook that runs past it fails that cell only (the rest still run and are graded).
c.Execute.timeout = int(os.environ.get("AUTOGRADER_CELL_TIMEOUT", {timeout}))
c.Execute.interrupt_on_timeout = True
# nbgrader's autograde copies every non-notebook file of source/ over the student's: not the package the students
# write (each student's notebooks must run against that student's own code).
c.Autograde.exclude_overwriting = {{{assignment!r}: sorted(
    p.relative_to(HERE / "source" / {assignment!r}).as_posix()
    for p in (HERE / "source" / {assignment!r} / {package!r}).rglob("*") if p.is_file())}}
# What is not part of a submission.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".venv", "venv", "*.unreadable"]
'''


def init(directory: Path, sources: list[Path] | None = None, package: dict[str, bytes] | None = None) -> Path:
    """Write (or update) the course directory; return it. ``sources``: percent-format notebooks (default: the
    course's, ``solutions/notebooks/NN_*.py``); ``package``: the student package's files (default: the stubbed
    starter package, as the release makes it)."""
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nbgrader_config.py").write_text(CONFIG.format(course_id=COURSE_ID, assignment=ASSIGNMENT,
                                                                timeout=CELL_TIMEOUT, package=PACKAGE))
    if not (directory / "roster.csv").exists():
        (directory / "roster.csv").write_text("id,name,email\n")
    source = directory / "source" / ASSIGNMENT
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    for src in sources or sorted(SOURCE_NOTEBOOKS.glob("[0-9]*.py")):
        build_notebook(Path(src), source / f"{Path(src).stem}.ipynb")
    for rel, data in (package or starter_files()).items():  # rel: "pretraining/…"
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_bytes(data)
    # The public part of the grader goes out with the assignment (as in the student bundle: no hidden check):
    # the notebooks' set-up cell and `check()` then work in the folder students fetch, wherever it is.
    for rel in collect(["autograder"], BUNDLE_EXCLUDE):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / rel, source / rel)
    for name in ("autograder", "data"):
        link = directory / name
        if not link.exists() and not link.is_symlink():
            link.symlink_to(REPO / name, target_is_directory=True)
    (directory / "exchange").mkdir(exist_ok=True)
    os.chmod(directory / "exchange", 0o777)
    return directory


def nbgrader(directory: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real nbgrader CLI in the course directory (it calls ``alembic`` through PATH: ours comes first)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PRETRAINING_CODE", None)  # every notebook must use its own student's package
    env.pop("PRETRAINING_DATA", None)
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=directory, env=env, capture_output=True,
                          text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def repair(directory: Path) -> list[Path]:
    """Set aside every submitted notebook that is not a readable notebook, putting the released one in its place
    (so only that notebook scores nothing); return the set-aside files."""
    directory = Path(directory)
    released = directory / "release" / ASSIGNMENT
    repaired = []
    for notebook in sorted((directory / "submitted").glob(f"*/{ASSIGNMENT}/*.ipynb")):
        try:
            nbformat.validate(nbformat.read(notebook, as_version=4))
        except Exception:  # noqa: BLE001 — any reason it cannot be read: not JSON, not a notebook, not UTF-8
            aside = notebook.with_suffix(".ipynb.unreadable")
            os.replace(notebook, aside)
            shutil.copyfile(released / notebook.name, notebook)
            repaired.append(aside)
    return repaired


def import_roster(directory: Path) -> None:
    """roster.csv (id,name,email) into nbgrader's gradebook, in the columns ``nbgrader db student import`` reads."""
    rows = roster(directory)
    if not rows:
        return
    converted = Path(directory) / ".roster-nbgrader.csv"
    with open(converted, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "first_name", "last_name", "email"])
        for r in rows:
            first, _, last = r.get("name", "").strip().partition(" ")
            writer.writerow([r["id"].strip(), first, last, r.get("email", "").strip()])
    nbgrader(directory, "db", "student", "import", str(converted))


def autograde(directory: Path, *extra: str) -> subprocess.CompletedProcess:
    """Load the roster, repair unreadable notebooks, then ``nbgrader autograde`` every collected submission."""
    import_roster(directory)
    for aside in repair(directory):
        print(f"{aside.parent.parent.name}: {aside.name[:-len('.unreadable')]} is not a readable notebook; "
              "graded as handed out (0 points for it); the original is kept as " + aside.name)
    return nbgrader(directory, "autograde", ASSIGNMENT, "--create", *extra)


def roster(directory: Path) -> list[dict]:
    with open(Path(directory) / "roster.csv", newline="") as f:
        return list(csv.DictReader(f))


def next_steps(directory: Path) -> str:
    return f"""course directory ready: {directory}
  1. list your students in {directory / 'roster.csv'} (id,name,email; id = their nbgrader/JupyterHub login)
  2. cd {directory} && nbgrader generate_assignment {ASSIGNMENT} && nbgrader release_assignment {ASSIGNMENT}
  3. after the deadline: nbgrader collect {ASSIGNMENT}
  4. python -m autograder course --dir {directory} --autograde
  5. nbgrader formgrader (written answers), then nbgrader generate_feedback {ASSIGNMENT}; nbgrader export
  6. python -m autograder grade-all {directory}/submitted --out {directory}/module-grades --jobs 8
  7. python -m autograder grades --config grading.toml   (one grade per student: docs/INSTRUCTORS.md)
(put {Path(sys.executable).parent} on PATH for nbgrader: it runs `alembic` from there)"""
