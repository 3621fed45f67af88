"""Every model family lepton-ai ships, by name: the one place a family is registered."""

from __future__ import annotations

from ..errors import ConfigError
from .base import ModelFamily
from .gbdt import GBDTFamily
from .linear import LinearFamily
from .mlp import MLPFamily

__all__ = ["FAMILIES", "get_family", "resolve_families"]

FAMILIES: dict[str, type[ModelFamily]] = {"linear": LinearFamily, "gbdt": GBDTFamily, "mlp": MLPFamily}


def get_family(name: str) -> type[ModelFamily]:
    """Return the family class registered as ``name``."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(f"unknown model family {name!r}. Valid families: {', '.join(FAMILIES)}.") from None


def resolve_families(names: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Validate a family selection (a comma-separated string or a list); ``None`` means all."""
    if names is None:
        return list(FAMILIES)
    items = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    items = [n for n in items if n]
    if not items:
        raise ConfigError(f"families is empty. Valid families: {', '.join(FAMILIES)}.")
    for name in items:
        get_family(name)
    return list(dict.fromkeys(items))
