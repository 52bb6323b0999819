"""scripts/notebook_profile.py (``run_notebook.py --functions``): every call of a listed function is counted once,
also where another module imported it by name, and the report line is what run_notebook.py reads back."""

import sys

import torch

from conftest import REPO

sys.path[:0] = [str(REPO / "solutions"), str(REPO / "scripts")]
import notebook_profile  # noqa: E402
import run_notebook  # noqa: E402
from pretraining import ensembles, training  # noqa: E402


def test_the_functions_are_timed_where_they_are_called_and_reported(capsys):
    saved = {m: dict(vars(m)) for m in list(sys.modules.values()) if getattr(m, "__name__", "").startswith("pretraining")}
    try:
        notebook_profile._totals.clear()
        notebook_profile.install(report_at_exit=False)
        models = [torch.nn.Linear(3, 1) for _ in range(2)]
        ensemble = ensembles.Ensemble(models)
        x = torch.ones(2, 4, 3)
        ensembles.train_ensemble(ensemble, lambda model, b: model(b).pow(2).mean(), lambda: x, steps=3,
                                 progress=False, device="cpu")  # train_ensemble calls training's _train by name
        notebook_profile._report()
    finally:
        for module, attributes in saved.items():
            vars(module).update(attributes)
    report = run_notebook.functions_s(capsys.readouterr().err)
    assert report["ensembles.train_ensemble"]["calls"] == 1
    assert report["training._train"]["calls"] == 1  # seen failing when only training's own name was wrapped
    assert report["ensembles.train_ensemble"]["seconds"] >= report["training._train"]["seconds"] > 0
    assert training._train is saved[training]["_train"]  # the test left the package as it was
