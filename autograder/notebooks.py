"""Source notebooks are readable ``.py`` files in the percent format; this builds the ``.ipynb``.

    # %% [markdown]                      a markdown cell; every line starts with "# "
    # %%                                 a plain code cell
    # %% [solution id=train-ae]          code the student writes: ### BEGIN/END SOLUTION inside
    # %% [answer id=q1 points=2]         a written answer, graded by hand (markdown)
    # %% [tests id=t1 points=1]          an nbgrader test cell; ### BEGIN/END HIDDEN TESTS inside

Why: a notebook's JSON is hard to review and to diff; the ``.py`` source reads in one sitting, and the
nbgrader metadata (ids, points, locks) is generated the same way every time.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

CELL = re.compile(r"^# %%(?: \[(?P<kind>\w+)(?P<attrs>[^\]]*)\])?\s*$")
KERNEL = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _attrs(text: str) -> dict:
    return dict(re.findall(r"(\w+)=(\S+)", text))


def parse(source: str, name: str) -> nbformat.NotebookNode:
    """Percent-format text → an nbformat v4 notebook with nbgrader metadata and stable cell ids."""
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}})
    blocks: list[tuple[str, dict, list[str]]] = []
    for line in source.splitlines():
        match = CELL.match(line)
        if match:
            blocks.append((match["kind"] or "code", _attrs(match["attrs"] or ""), []))
        elif blocks:
            blocks[-1][2].append(line)
    for index, (kind, attrs, lines) in enumerate(blocks):
        while lines and not lines[-1].strip():
            lines.pop()
        cell_id = attrs.get("id", f"{name}-{index:02d}")
        if kind in ("markdown", "answer"):
            text = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines)
            cell = nbformat.v4.new_markdown_cell(text)
        elif kind in ("code", "solution", "tests"):
            cell = nbformat.v4.new_code_cell("\n".join(lines))
        else:
            raise ValueError(f"{name}: unknown cell kind {kind!r}")
        cell["id"] = cell_id
        if kind in ("solution", "answer", "tests"):
            if "id" not in attrs:
                raise ValueError(f"{name}: a [{kind}] cell needs an id=…")
            cell.metadata["nbgrader"] = {
                "grade_id": cell_id, "schema_version": 3, "locked": kind == "tests",
                "solution": kind in ("solution", "answer"), "grade": kind in ("answer", "tests"),
                **({"points": float(attrs["points"])} if kind in ("answer", "tests") else {}),
                **({"task": False} if kind != "tests" else {}),
            }
        nb.cells.append(cell)
    return nb


def build(source: Path, target: Path) -> None:
    """``solutions/notebooks/NN_name.py`` → ``NN_name.ipynb``."""
    nb = parse(source.read_text(), source.stem)
    nbformat.validate(nb)
    target.write_text(nbformat.writes(nb) + "\n")
