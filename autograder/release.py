"""Release: generate the student version from ``solutions/``, the single source.

- ``solutions/pretraining/*.py`` → ``starter_code/pretraining/*.py``: every region

      ### BEGIN SOLUTION
      ### HINT: one line for the student
      ...reference code...
      ### END SOLUTION

  becomes ``raise NotImplementedError("<function> is not implemented yet … Hint: …")``; everything else is
  copied as is.
- ``solutions/notebooks/NN_*.py`` (percent format, see ``notebooks.py``) → ``assignments/NN_*.ipynb``
  through nbgrader's ``generate_assignment``
  (solution cells stubbed, hidden tests stripped, outputs cleared).
- The public checks' reference values → ``autograder/checks/public/references.json``, recorded by running
  the public checks on the solutions (which must pass them all).

``--check`` writes nothing and lists every file that differs from what a release would write.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import codec
from .notebooks import build as build_notebook
from .paths import ASSIGNMENTS, PACKAGE, PUBLIC_REFERENCES, REPO, SOLUTIONS, SOURCE_NOTEBOOKS, STARTER

BEGIN, END, HINT = "### BEGIN SOLUTION", "### END SOLUTION", "### HINT:"
NBGRADER_ASSIGNMENT = "reconstruction"  # not "pretraining": the package finder would take it for the package


class ReleaseError(ValueError):
    pass


def _enclosing(lines: list[str], index: int, indent: int) -> str:
    """Name of the function (and class) that line ``index`` sits in, e.g. 'Encoder.forward'."""
    names, kinds = [], []
    for line in reversed(lines[:index]):
        match = re.match(r"(\s*)(?:async\s+)?(def|class)\s+(\w+)", line)
        if match and len(match.group(1)) < indent:
            names.append(match.group(3))
            kinds.append(match.group(2))
            indent = len(match.group(1))
    if not kinds or kinds[0] != "def":
        raise ReleaseError(f"solution region at line {index + 1} is not inside a function")
    return ".".join(reversed(names))


def stub_source(text: str, filename: str) -> str:
    """Replace each solution region of a Python module with a ``NotImplementedError`` stub."""
    lines, out, i = text.splitlines(keepends=True), [], 0
    while i < len(lines):
        line = lines[i]
        if line.strip() != BEGIN:
            if END in line or (BEGIN in line):
                raise ReleaseError(f"{filename}:{i + 1}: stray or malformed solution marker")
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        name = _enclosing(lines, i, indent)
        j, hint = i + 1, ""
        while j < len(lines) and lines[j].strip() != END:
            if lines[j].strip().startswith(HINT):
                hint = lines[j].strip()[len(HINT):].strip()
            if BEGIN in lines[j]:
                raise ReleaseError(f"{filename}:{j + 1}: nested {BEGIN}")
            j += 1
        if j == len(lines):
            raise ReleaseError(f"{filename}:{i + 1}: {BEGIN} without {END}")
        message = f"{name} is not implemented yet ({filename})." + (f" Hint: {hint}" if hint else "")
        out.append(" " * indent + f"raise NotImplementedError({message!r})\n")
        i = j + 1
    return "".join(out)


def starter_files() -> dict[str, bytes]:
    """``starter_code/`` as the release would write it: relative path → bytes."""
    files = {}
    for path in sorted((SOLUTIONS / PACKAGE).rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        rel = path.relative_to(SOLUTIONS).as_posix()
        data = path.read_bytes()
        files[rel] = stub_source(data.decode(), rel).encode() if path.suffix == ".py" else data
    return files


def assignment_files() -> dict[str, bytes]:
    """``assignments/`` as the release would write it, through ``nbgrader generate_assignment``."""
    sources = sorted(SOURCE_NOTEBOOKS.glob("[0-9]*.py"))
    if not sources:
        return {}
    with tempfile.TemporaryDirectory() as course:
        source = Path(course) / "source" / NBGRADER_ASSIGNMENT
        source.mkdir(parents=True)
        notebooks = [source / f"{src.stem}.ipynb" for src in sources]
        for src, nb in zip(sources, notebooks):
            build_notebook(src, nb)
        result = subprocess.run(
            [sys.executable, "-m", "nbgrader", "generate_assignment", NBGRADER_ASSIGNMENT, "--no-db", "--force",
             f"--CourseDirectory.root={course}", "--log-level=WARN"],
            capture_output=True, text=True, cwd=course,
        )
        if result.returncode != 0:
            raise ReleaseError(f"nbgrader generate_assignment failed:\n{result.stdout}\n{result.stderr}")
        release = Path(course) / "release" / NBGRADER_ASSIGNMENT
        return {nb.name: (release / nb.name).read_bytes() for nb in notebooks}


def record_public_references() -> str:
    """Run the public checks on the solutions, recording every reference value; all must pass."""
    from .client import Worker
    from .grading import run_checks, table
    from .oracle import LiveReference, SnapshotReference

    snapshot = SnapshotReference(PUBLIC_REFERENCES, record_from=LiveReference())
    with Worker(SOLUTIONS) as student:
        try:
            results, errors = run_checks(student, snapshot, visibilities=("public",))
        finally:
            snapshot.close()
    failed = [r for r in results if not r.passed]
    if errors or failed:
        raise ReleaseError("the solutions fail their own public checks:\n" + "\n".join(errors) + table(failed))
    return snapshot.dumps()


def _same_references(old: bytes, new: str) -> bool:
    """Recorded references agree up to float round-off: another CPU's float32 kernels differ in the last bits
    (2026-12-03: up to 2e-5 relative, 5e-6 absolute between two course machines, so rtol 1e-4, atol 1e-6)."""
    try:
        a, b = json.loads(old), json.loads(new)
    except ValueError:
        return False
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = codec.from_plain(a[key]), codec.from_plain(b[key])
        flat_x, flat_y = _flatten(x), _flatten(y)
        if len(flat_x) != len(flat_y):
            return False
        for u, v in zip(flat_x, flat_y):
            if isinstance(u, codec.Array) and isinstance(v, codec.Array):
                if u.shape != v.shape or u.dtype != v.dtype or not np.allclose(u.values, v.values, rtol=1e-4, atol=1e-6, equal_nan=True):
                    return False
            elif isinstance(u, float) and isinstance(v, float):
                if not np.isclose(u, v, rtol=1e-4, atol=1e-6, equal_nan=True):
                    return False
            elif u != v:
                return False
    return True


def _flatten(x) -> list:
    if isinstance(x, list):
        return [y for v in x for y in _flatten(v)]
    if isinstance(x, dict):
        return [y for k in sorted(x) for y in [k, *_flatten(x[k])]]
    return [x]


def release(check: bool = False) -> list[str]:
    """Write the student release, or with ``check`` only compare; return the stale paths (repo-relative)."""
    wanted: dict[Path, bytes] = {}
    wanted.update({STARTER / rel: data for rel, data in starter_files().items()})
    wanted.update({ASSIGNMENTS / rel: data for rel, data in assignment_files().items()})
    references = record_public_references()
    stale = []
    for path, data in wanted.items():
        if not path.is_file() or path.read_bytes() != data:
            stale.append(path)
    for folder in (STARTER, ASSIGNMENTS):
        for path in sorted(folder.rglob("*")) if folder.exists() else []:
            if path.is_file() and path not in wanted and "__pycache__" not in path.parts \
                    and ".ipynb_checkpoints" not in path.parts:
                stale.append(path)  # a file the solutions no longer have
    if not PUBLIC_REFERENCES.is_file() or not _same_references(PUBLIC_REFERENCES.read_bytes(), references):
        stale.append(PUBLIC_REFERENCES)
    if not check:
        for path in stale:
            if path in wanted:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(wanted[path])
            elif path == PUBLIC_REFERENCES:
                path.write_text(references)
            else:
                path.unlink()
    return [p.relative_to(REPO).as_posix() for p in stale]


# What students receive: everything they need to work and to run the public checks — never solutions/ or the
# hidden checks. (The repository itself holds both, so it is for instructors.)
BUNDLE_INCLUDE = ["requirements.txt", "constraints.txt", "environment.yml", "scripts/env.sh",
                  "assignments", "starter_code", "data", "autograder"]
BUNDLE_README = "docs/STUDENT_README.md"  # the bundle's README.md: set-up, Jupyter, check, submit — nothing else
# Instructor-only: hidden checks, the Gradescope and course tooling, release, batch grading and grade merging.
BUNDLE_EXCLUDE = ("autograder/checks/hidden", "autograder/gradescope", "__pycache__", ".ipynb_checkpoints",
                  "autograder/release.py", "autograder/batch.py", "autograder/course.py", "autograder/grades.py")

# What Gradescope receives: the grader with every check, the solutions (for the reference values), the data,
# the pins — and, at the zip's root where Gradescope looks for them, its two scripts.
GRADESCOPE_INCLUDE = ["requirements.txt", "constraints.txt", "scripts/env.sh", "autograder", "solutions/pretraining",
                      "data"]
GRADESCOPE_EXCLUDE = ("autograder/gradescope", "__pycache__", ".ipynb_checkpoints")
GRADESCOPE_SCRIPTS = {"setup.sh": "autograder/gradescope/setup.sh",
                      "run_autograder": "autograder/gradescope/run_autograder"}


def collect(include: list[str], exclude: tuple[str, ...]) -> list[str]:
    """The repository-relative paths of every file under ``include``, minus those containing an ``exclude``."""
    names = []
    for item in include:
        path = REPO / item
        for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
            rel = file.relative_to(REPO).as_posix()
            if not any(part in rel for part in exclude):
                names.append(rel)
    return names


def write_zip(out: Path, members: dict[str, str]) -> list[str]:
    """Write ``out`` holding each repository file ``members[name]`` as ``name``; return the names, in order.
    Fixed dates, so the same files give the same bytes; scripts keep their executable bit."""
    import zipfile

    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rel in members.items():
            source = REPO / rel
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(source, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return list(members)


def bundle(out: Path) -> list[str]:
    """Write the student bundle (a .zip) to ``out``; return the paths it holds, in order."""
    return write_zip(out, {"README.md": BUNDLE_README, **{rel: rel for rel in collect(BUNDLE_INCLUDE, BUNDLE_EXCLUDE)}})


def gradescope(out: Path) -> list[str]:
    """Write the Gradescope autograder (a .zip: setup.sh and run_autograder at its root) to ``out``."""
    members = {**GRADESCOPE_SCRIPTS, **{rel: rel for rel in collect(GRADESCOPE_INCLUDE, GRADESCOPE_EXCLUDE)}}
    return write_zip(out, members)
