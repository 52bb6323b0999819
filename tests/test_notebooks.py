"""Every solution notebook runs top to bottom; every student notebook stops cleanly at its first stub."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.notebooks import build
from autograder.paths import ASSIGNMENTS, SOLUTIONS, SOURCE_NOTEBOOKS

SOURCES = sorted(SOURCE_NOTEBOOKS.glob("[0-9]*.py"))


def execute(nb, code: Path, timeout: int = 600):
    os.environ["PRETRAINING_CODE"] = str(code)  # the kernel inherits it: which package the notebook imports
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(ASSIGNMENTS)}}).execute()
    finally:
        del os.environ["PRETRAINING_CODE"]


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_solution_notebook_runs_top_to_bottom(source, tmp_path):
    target = tmp_path / f"{source.stem}.ipynb"
    build(source, target)
    nb = nbformat.read(target, as_version=4)
    execute(nb, SOLUTIONS)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    nbformat.write(nb, tmp_path / "executed.ipynb")


@pytest.mark.slow
@pytest.mark.parametrize("notebook", sorted(ASSIGNMENTS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_student_notebook_stops_at_the_first_stub(notebook):
    from autograder.paths import STARTER

    nb = nbformat.read(notebook, as_version=4)
    with pytest.raises(CellExecutionError) as info:
        execute(nb, STARTER)
    assert "NotImplementedError" in str(info.value) and "not implemented yet" in str(info.value)
    executed = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    failing = executed[-1]
    assert all(o.output_type != "error" for c in executed[:-1] for o in c.outputs), "an earlier cell failed"
    assert any(o.output_type == "error" and o.ename == "NotImplementedError" for o in failing.outputs)
