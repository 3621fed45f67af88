"""The family registry: names, lookup and the validation of a family selection."""

from __future__ import annotations

import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.models.base import DerivedFamily
from lepton_ai.models.registry import FAMILIES, get_family, resolve_families

# Read from the registry, so a new family needs no edit here: what may be searched on this machine.
SEARCHABLE = [n for n, cls in FAMILIES.items() if cls.searchable and cls.unavailable_reason() is None]
VALID = ", ".join(SEARCHABLE)


def test_every_family_is_registered_under_its_own_name() -> None:
    assert SEARCHABLE and any(not cls.searchable for cls in FAMILIES.values())
    for name, cls in FAMILIES.items():
        assert cls.name == name
        assert get_family(name) is cls
        # Families made from fitted models (variants, ensembles) are loaded and chosen, never searched.
        assert cls.searchable is not issubclass(cls, DerivedFamily), name


def test_declared_variants_are_registered_derived_families() -> None:
    declared = {kind for cls in FAMILIES.values() for kind in cls.variant_kinds}
    assert declared, "some family should declare compressed variants"
    for kind in declared:
        assert kind in FAMILIES and issubclass(FAMILIES[kind], DerivedFamily), kind
    assert all(cls.variant_kinds == () for cls in FAMILIES.values() if issubclass(cls, DerivedFamily))


def test_the_length_param_is_a_parameter_of_its_family() -> None:
    for name, cls in FAMILIES.items():
        if cls.length_param is not None:
            assert cls.length_param in cls().get_params(), name


def test_unknown_family_lists_the_valid_ones() -> None:
    message = rf"unknown model family 'xgboost'\. Valid families: {VALID}\."
    with pytest.raises(ConfigError, match=message):
        get_family("xgboost")


def test_resolve_families_reads_strings_and_lists() -> None:
    assert resolve_families(None) == SEARCHABLE
    assert resolve_families("gbdt, linear,gbdt") == ["gbdt", "linear"]
    assert resolve_families(("mlp",)) == ["mlp"]


@pytest.mark.parametrize(("names", "message"), [
    ("", f"families is empty. Valid families: {VALID}"),
    (" , ", "families is empty"),
    (["linear", "xgboost"], f"unknown model family 'xgboost'. Valid families: {VALID}"),
    (["onnx"], "onnx"),
])
def test_resolve_families_refuses_bad_selections(names: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve_families(names)  # type: ignore[arg-type]
