"""Every registered family meets the model-family contract; the contract check catches breaches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.features.prepared import Prepared
from lepton_ai.models.base import Budget
from lepton_ai.models.checks import check_family
from lepton_ai.models.families.linear import LinearFamily
from lepton_ai.models.registry import FAMILIES

# Families whose contract check takes more than a few seconds (embed encodes every text with MiniLM).
_SLOW_CONTRACT = {"embed"}


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in _SLOW_CONTRACT else n
                                  for n in sorted(n for n, cls in FAMILIES.items() if cls.searchable)])
def test_family_meets_the_contract(name: str, task: str) -> None:
    check_family(FAMILIES[name], task)


def test_check_family_refuses_an_unknown_task() -> None:
    with pytest.raises(ConfigError, match="clustering"):
        check_family(LinearFamily, "clustering")


# ---- the check itself: each broken family below must be caught, with a message saying what broke ----


class _FitReturnsNone(LinearFamily):
    def fit(self, train: Prepared, dev: Prepared | None = None, *, budget: Budget | None = None) -> Any:
        super().fit(train, dev, budget=budget)
        return None


class _ChecksInInit(LinearFamily):
    def __init__(self, *, C: float = 1.0, max_iter: int = 500) -> None:
        if C <= 0:
            raise ConfigError("C must be > 0")
        super().__init__(C=C, max_iter=max_iter)


class _AcceptsAnyC(LinearFamily):
    def _check_float(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class _WritesAPickle(LinearFamily):
    def _save_weights(self, directory: Path) -> list[Path]:
        path = directory / "weights.pkl"
        path.write_bytes(b"\x80\x04N.")
        return [*super()._save_weights(directory), path]


class _UnnormalisedProba(LinearFamily):
    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        out = super()._raw_predict(X)
        return out * 2 if self.task_ == "classification" else out


class _ForgetsWeightsOnLoad(LinearFamily):
    def _load_weights(self, directory: Path, state: dict[str, Any]) -> None:
        super()._load_weights(directory, state)
        self.intercept_ = self.intercept_ + 1.0


class _IgnoresWeights(LinearFamily):
    def fit(self, train: Prepared, dev: Prepared | None = None, *, budget: Budget | None = None) -> LinearFamily:
        import dataclasses

        return super().fit(dataclasses.replace(train, weight=None), dev, budget=budget)


@pytest.mark.parametrize(("broken", "message"), [
    (_IgnoresWeights, "ignores Prepared.weight"),
    (_FitReturnsNone, "must return self"),
    (_ChecksInInit, "only store its arguments"),
    (_AcceptsAnyC, "C=-1 must raise ConfigError naming .C.; it raised InvalidParameterError"),
    (_WritesAPickle, "not JSON/safetensors"),
    (_UnnormalisedProba, "sum to 1"),
    (_ForgetsWeightsOnLoad, "save -> load changed"),
])
def test_check_family_catches_a_broken_family(broken: type[LinearFamily], message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_family(broken, "classification")


def test_check_family_takes_the_bad_values_to_try() -> None:
    # A family whose parameter may be negative names the values it must refuse instead.
    check_family(LinearFamily, "regression", bad_params={"C": 0.0, "max_iter": 0})
    with pytest.raises(AssertionError, match="accepted the bad value C=5"):
        check_family(LinearFamily, "regression", bad_params={"C": 5})
