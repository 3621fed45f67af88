"""Every model family lepton-ai ships, by name: the one place a family is registered."""

from __future__ import annotations

import importlib
import importlib.util
import inspect

from ..errors import ConfigError
from .base import ModelFamily
from .gbdt import GBDTFamily
from .linear import LinearFamily
from .mlp import MLPFamily

__all__ = ["FAMILIES", "get_family", "resolve_families", "family_source", "ensure_family"]

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


def family_source(name: str) -> dict[str, str] | None:
    """Where a worker process finds a family registered at run time (``None`` for built-in ones).

    Worker processes start from a clean interpreter, so a family a user added to ``FAMILIES`` in
    their own session is imported there again from its module (or, failing that, its file).
    """
    cls = get_family(name)
    if cls.__module__.startswith("lepton_ai."):
        return None
    return {"module": cls.__module__, "qualname": cls.__qualname__, "file": inspect.getsourcefile(cls) or ""}


def ensure_family(name: str, source: dict[str, str] | None) -> type[ModelFamily]:
    """Return family ``name``, importing it from ``source`` first when this process lacks it."""
    if name in FAMILIES or source is None:
        return get_family(name)
    try:
        module = importlib.import_module(source["module"])
    except ImportError:
        spec = importlib.util.spec_from_file_location(f"lepton_user_family_{name}", source["file"])
        if spec is None or spec.loader is None:
            raise ConfigError(f"family {name!r}: cannot import {source['module']} or {source['file']}.") from None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    cls = module
    for part in source["qualname"].split("."):
        cls = getattr(cls, part)
    FAMILIES[name] = cls  # type: ignore[assignment]
    return cls  # type: ignore[return-value]
