"""Every model family lepton-ai ships, by name: the one place a family is registered."""

from __future__ import annotations

import importlib
import importlib.util
import inspect

from ..errors import ConfigError
from .base import ModelFamily
from .cnn import CNNFamily
from .ensemble import EnsembleFamily
from .gbdt import GBDTFamily
from .gbdt_fast import GBDTFastFamily
from .linear import LinearFamily
from .mlp import MLPFamily
from .onnx import OnnxFamily, OnnxInt8Family
from .sequence import CNN1DFamily, RNNFamily
from .text import TextFamily
from .text_embed import EmbedFamily
from .torch_variant import TorchBf16Family, TorchInt8Family

__all__ = ["FAMILIES", "get_family", "resolve_families", "family_source", "ensure_family", "families_for_modality"]

FAMILIES: dict[str, type[ModelFamily]] = {
    "linear": LinearFamily, "gbdt": GBDTFamily, "mlp": MLPFamily, "text": TextFamily, "embed": EmbedFamily,
    "cnn": CNNFamily, "rnn": RNNFamily, "cnn1d": CNN1DFamily,
    # Compressed variants (searchable = False): made from a fitted model, loaded like any family.
    "onnx": OnnxFamily, "onnx-int8": OnnxInt8Family, "torch-bf16": TorchBf16Family, "torch-int8": TorchInt8Family,
    "gbdt-fast": GBDTFastFamily,
    # A weighted average of finished candidates (searchable = False), made by the engine after the search.
    "ensemble": EnsembleFamily,
}


def get_family(name: str) -> type[ModelFamily]:
    """Return the family class registered as ``name``."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(f"unknown model family {name!r}. Valid families: {', '.join(_searchable())}.") from None


def resolve_families(names: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Validate a family selection (a comma-separated string or a list); ``None`` means every searchable one."""
    if names is None:
        return _searchable()
    items = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
    items = [n for n in items if n]
    if not items:
        raise ConfigError(f"families is empty. Valid families: {', '.join(_searchable())}.")
    for name in items:
        if not get_family(name).searchable:
            raise ConfigError(f"family {name!r} is made from trained models (a compressed variant or an "
                              f"ensemble); it cannot be searched. Valid families: {', '.join(_searchable())}.")
        reason = get_family(name).unavailable_reason()
        if reason is not None:
            raise ConfigError(reason)
    return list(dict.fromkeys(items))


def _searchable() -> list[str]:
    """Families a search may run: not compressed variants, and not those missing an optional package."""
    return [name for name, cls in FAMILIES.items() if cls.searchable and cls.unavailable_reason() is None]


def families_for_modality(names: list[str], modality: str, *, named: bool) -> list[str]:
    """The families of ``names`` that accept data of ``modality`` (``ModelFamily.modalities``).

    ``named``: the user chose ``names``; asking for a family that cannot read this data (a CNN on a
    table) is then an error rather than a silent omission.
    """
    fits = [n for n in names if modality in get_family(n).modalities]
    wrong = [n for n in names if n not in fits]
    if named and wrong:
        accepted = "; ".join(f"{n} reads {', '.join(get_family(n).modalities)}" for n in wrong)
        raise ConfigError(f"the data is {modality}, which famil{'y' if len(wrong) == 1 else 'ies'} "
                          f"{', '.join(wrong)} cannot learn from ({accepted}). "
                          f"Families for {modality} data: {', '.join(_for_modality(modality))}.")
    if not fits:
        raise ConfigError(f"no family in {', '.join(names)} learns from {modality} data. "
                          f"Families for {modality} data: {', '.join(_for_modality(modality))}.")
    return fits


def _for_modality(modality: str) -> list[str]:
    return [n for n in _searchable() if modality in FAMILIES[n].modalities]


def family_source(name: str) -> dict[str, str] | None:
    """Where a worker process finds a family registered at run time (``None`` for built-in ones).

    Worker processes start from a clean interpreter, so a family a user added to ``FAMILIES`` in
    their own session is imported there again from its module (or, failing that, its file).
    """
    cls = get_family(name)
    if cls.__module__.startswith("lepton_ai."):
        return None
    try:
        file = inspect.getsourcefile(cls) or ""
    except TypeError:  # defined in an interactive session: no file to import it from
        file = ""
    return {"module": cls.__module__, "qualname": cls.__qualname__, "file": file}


def ensure_family(name: str, source: dict[str, str] | None) -> type[ModelFamily]:
    """Return family ``name``, importing it from ``source`` first when this process lacks it."""
    if name in FAMILIES or source is None:
        return get_family(name)
    module = None
    if source["module"] != "__main__":  # this process's __main__ is not the user's
        try:
            module = importlib.import_module(source["module"])
        except ImportError:
            module = None
    if module is None:
        spec = importlib.util.spec_from_file_location(f"lepton_user_family_{name}", source["file"]) \
            if source["file"] else None
        if spec is None or spec.loader is None:
            raise ConfigError(f"family {name!r}: cannot import {source['module']} or {source['file'] or 'its file'}; "
                              "define it in an importable module or a script file.")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    if name in FAMILIES:  # the module registered it as it was imported (models.custom.register_module)
        return FAMILIES[name]
    cls = module
    for part in source["qualname"].split("."):
        cls = getattr(cls, part)
    FAMILIES[name] = cls  # type: ignore[assignment]
    return cls  # type: ignore[return-value]
