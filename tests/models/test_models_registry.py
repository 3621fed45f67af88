"""The family registry: names, lookup and the validation of a family selection."""

from __future__ import annotations

import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.models.registry import FAMILIES, get_family, resolve_families


def test_every_family_is_registered_under_its_own_name() -> None:
    assert list(FAMILIES) == ["linear", "gbdt", "mlp"]
    for name, cls in FAMILIES.items():
        assert cls.name == name
        assert get_family(name) is cls


def test_unknown_family_lists_the_valid_ones() -> None:
    message = r"unknown model family 'xgboost'\. Valid families: linear, gbdt, mlp\."
    with pytest.raises(ConfigError, match=message):
        get_family("xgboost")


def test_resolve_families_reads_strings_and_lists() -> None:
    assert resolve_families(None) == ["linear", "gbdt", "mlp"]
    assert resolve_families("gbdt, linear,gbdt") == ["gbdt", "linear"]
    assert resolve_families(("mlp",)) == ["mlp"]


@pytest.mark.parametrize(("names", "message"), [
    ("", "families is empty. Valid families: linear, gbdt, mlp"),
    (" , ", "families is empty"),
    (["linear", "cnn"], "unknown model family 'cnn'. Valid families: linear, gbdt, mlp"),
])
def test_resolve_families_refuses_bad_selections(names: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_families(names)  # type: ignore[arg-type]
