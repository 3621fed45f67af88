"""Bring your own torch module: registered, searched, trained, saved and re-imported in workers."""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import numpy as np
import pytest
from sklearn.base import clone

from lepton_ai.errors import ConfigError
from lepton_ai.models import register_module
from lepton_ai.models.base import Domain
from lepton_ai.models.checks import check_family, synthetic_data
from lepton_ai.models.families.custom import ModuleFamily
from lepton_ai.models.registry import FAMILIES, family_source

USER_MODULE = textwrap.dedent("""
    import torch.nn as nn

    from lepton_ai.models import Domain, register_module


    class TwoLayer(nn.Module):
        def __init__(self, n_inputs, n_outputs, hidden):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs))

        def forward(self, x):
            return self.body(x)


    register_module("usernet", lambda n_inputs, n_outputs, hidden=16: TwoLayer(n_inputs, n_outputs, hidden),
                    search_space={"hidden": Domain("choice", choices=(8, 16))},
                    params={"epochs": 20, "learning_rate": 1e-2})
""")


def _two_layer(n_inputs: int, n_outputs: int, hidden: int = 8):
    import torch.nn as nn

    return nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs))


@pytest.fixture
def registered():
    names: list[str] = []

    def register(name: str, factory, **kwargs):
        cls = register_module(name, factory, **kwargs)
        names.append(name)  # only what was registered: a refused "mlp" must stay the built-in one
        return cls

    yield register
    for name in names:
        FAMILIES.pop(name, None)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_registered_module_meets_the_family_contract(registered, task: str) -> None:
    cls = registered("tiny", _two_layer, search_space={"hidden": Domain("int", 4, 32)},
                     params={"learning_rate": 3e-3})
    assert FAMILIES["tiny"] is cls and issubclass(cls, ModuleFamily)
    assert cls().get_params() == {"epochs": 30, "batch_size": 64, "learning_rate": 3e-3, "weight_decay": 1e-4,
                                  "patience": 8, "label_smoothing": 0.0, "precision": "fp32", "hidden": 4}
    check_family(cls, task, bad_params={"epochs": 0, "learning_rate": -1.0, "hidden": -1})


def test_parameters_start_in_the_search_space_and_clone(registered) -> None:
    cls = registered("spaced", _two_layer, search_space={
        "hidden": Domain("choice", choices=(32, 64)), "scale": Domain("float", 1e-4, 1e-2, log=True),
        "learning_rate": Domain("float", 1e-4, 1e-2, log=True)})
    model = cls(hidden=64)
    assert model.hidden == 64 and model.scale == pytest.approx(1e-3) and model.learning_rate == 1e-3
    assert clone(model).get_params() == model.get_params()
    assert cls.search_space(100, 5)["hidden"].choices == (32, 64)
    with pytest.raises(TypeError, match=r"unexpected parameters \['width'\]"):
        cls(width=3)


def test_a_module_with_the_wrong_output_width_fails_at_the_first_batch(registered) -> None:
    cls = registered("wrongwidth", lambda n_inputs, n_outputs: _two_layer(n_inputs, n_outputs + 1))
    train = synthetic_data(cls, "classification", 50)
    with pytest.raises(ConfigError, match=r"wrongwidth.*returned outputs of shape \(32, 4\) for a batch of 32 rows; "
                                          r"expected \(32, 3\), one column per class"):
        cls(epochs=1, batch_size=32).fit(train)


def test_a_factory_that_returns_no_module_is_refused(registered) -> None:
    cls = registered("notamodule", lambda n_inputs, n_outputs: "a string")
    with pytest.raises(ConfigError, match="must return a torch.nn.Module; it returned a str"):
        cls(epochs=1).fit(synthetic_data(cls, "classification", 30))


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("mlp", {}, "'mlp' is a built-in family"),
    ("My Net", {}, "name must be lower-case letters"),
    ("okname", {"view": "text"}, "view must be 'dense' or 'codes'"),
    ("okname", {"search_space": {"hidden": (1, 2)}}, r"search_space\['hidden'\] must be a Domain"),
    ("okname", {"starting_points": [{"depth": 2}]}, r"unknown parameters \['depth'\]"),
])
def test_bad_registrations_are_refused(registered, name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        registered(name, _two_layer, **kwargs)


@pytest.mark.slow
def test_a_module_registered_in_a_user_file_is_searched_in_worker_processes(tmp_path) -> None:
    from lepton_ai import SinglePointTechnique

    path = tmp_path / "user_nets.py"
    path.write_text(USER_MODULE)
    spec = importlib.util.spec_from_file_location("user_nets_for_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        assert family_source("usernet")["file"] == str(path)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(300, 4))
        y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
        engine = SinglePointTechnique(home=tmp_path / "home", budget="20s", families="usernet", max_trials=2,
                                      refit=False)
        result = engine.search((X, y))
        assert [t.status for t in result.trials] == ["ok", "ok"], [t.error for t in result.trials]
        best = max(result.trials, key=lambda t: t.dev_metric)
        assert best.dev_metric > 0.85 and best.fit_length == 20
        assert type(result.models[best.trial_id]) is FAMILIES["usernet"]
    finally:
        FAMILIES.pop("usernet", None)
        sys.modules.pop("user_nets_for_test", None)
