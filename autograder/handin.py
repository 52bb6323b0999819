"""``python -m autograder submit``: check a student's work and build the zip to hand in.

What is checked: every graded module is there; which functions are still stubs (a warning: partial work may be
handed in); every notebook is valid notebook JSON (an unreadable notebook would score nothing) and was saved
after running; the size. What goes in the zip: ``pretraining/`` (its ``.py`` files and any small data it reads)
and the notebooks, at the zip's top — never environments, caches, checkpoints or the shipped data.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .paths import ASSIGNMENTS, PACKAGE, PUBLIC_CHECKS, STARTER

MAX_BYTES = 20 * 2**20  # far above any honest submission; the grader refuses 200 MiB
SKIP = {"__pycache__", ".ipynb_checkpoints", ".venv", "venv", ".git", ".pytest_cache", ".mypy_cache"}
STUB = re.compile(r"raise NotImplementedError\(['\"](?P<name>[\w.]+) is not implemented yet")


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)  # name in the zip → file


def graded_modules() -> list[str]:
    """The modules the checks grade: ``test_<module>.py`` → ``<module>.py``."""
    return sorted(p.name.removeprefix("test_") for p in PUBLIC_CHECKS.glob("test_*.py"))


def inspect(code: Path = STARTER, notebooks: Path = ASSIGNMENTS) -> Report:
    report = Report()
    package = Path(code) / PACKAGE
    if not package.is_dir():
        report.errors.append(f"no {PACKAGE}/ folder in {code}")
        return report
    for module in graded_modules():
        if not (package / module).is_file():
            report.errors.append(f"{PACKAGE}/{module} is missing")
    stubs = []
    for path in sorted(package.rglob("*")):
        if any(part in SKIP for part in path.relative_to(package).parts) or not path.is_file():
            continue
        report.files[f"{PACKAGE}/{path.relative_to(package).as_posix()}"] = path
        if path.suffix == ".py":
            stubs += [f"{path.name}: {m['name']}" for m in STUB.finditer(path.read_text(errors="replace"))]
    if stubs:
        report.warnings.append(f"{len(stubs)} function(s) still not implemented (they will score 0): "
                               + ", ".join(stubs))
    for path in sorted(Path(notebooks).glob("*.ipynb")):
        try:
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
        except Exception as exc:  # noqa: BLE001 — whatever makes it unreadable, the student must know
            report.errors.append(f"{path.name} is not a valid notebook ({type(exc).__name__}): open it in Jupyter "
                                 "and save it again, or start again from a fresh copy")
            continue
        code_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
        if code_cells and not any(c.get("execution_count") for c in code_cells):
            report.warnings.append(f"{path.name} has never been run and saved (no outputs): run it, then save")
        report.files[path.name] = path
    total = sum(p.stat().st_size for p in report.files.values())
    if total > MAX_BYTES:
        big = sorted(report.files.items(), key=lambda kv: -kv[1].stat().st_size)[:3]
        report.errors.append(f"the submission is {total >> 20} MiB (limit {MAX_BYTES >> 20} MiB); largest: "
                             + ", ".join(f"{n} ({p.stat().st_size >> 20} MiB)" for n, p in big))
    return report


def build(report: Report, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in sorted(report.files.items()):
            archive.write(path, name)
    return out
