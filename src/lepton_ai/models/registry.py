"""Every model family lepton-ai ships, by name: the one place a family is registered."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import ArtifactError, ConfigError
from .base import FAMILY_FILE, ModelFamily
from .derived.ensemble import EnsembleFamily
from .derived.gbdt_fast import GBDTFastFamily
from .derived.onnx import OnnxFamily, OnnxInt8Family
from .derived.torch_variant import TorchBf16Family, TorchInt8Family
from .families.cnn import CNNFamily
from .families.custom import module_family
from .families.gbdt import GBDTFamily
from .families.linear import LinearFamily
from .families.mlp import MLPFamily
from .families.sequence import CNN1DFamily, RNNFamily
from .families.text import TextFamily
from .families.text_embed import EmbedFamily

__all__ = ["FAMILIES", "BUILT_IN", "register_family", "register_module", "get_family", "load_family",
           "resolve_families", "family_source", "ensure_family", "families_for_modality"]

FAMILIES: dict[str, type[ModelFamily]] = {
    "linear": LinearFamily, "gbdt": GBDTFamily, "mlp": MLPFamily, "text": TextFamily, "embed": EmbedFamily,
    "cnn": CNNFamily, "rnn": RNNFamily, "cnn1d": CNN1DFamily,
    # Compressed variants (searchable = False): made from a fitted model, loaded like any family.
    "onnx": OnnxFamily, "onnx-int8": OnnxInt8Family, "torch-bf16": TorchBf16Family, "torch-int8": TorchInt8Family,
    "gbdt-fast": GBDTFastFamily,
    # A weighted average of finished candidates (searchable = False), made by the engine after the search.
    "ensemble": EnsembleFamily,
}


_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
# The families lepton-ai ships; a user's own family may take any other name.
BUILT_IN = frozenset(FAMILIES)


def register_family(cls: type[ModelFamily]) -> type[ModelFamily]:
    """Add a user's own family (a :class:`ModelFamily` subclass) to every search, under ``cls.name``.

    Call it at the top level of an importable module: trials run in worker processes, which import
    that module again (``family_source``). Registering a name again replaces the earlier family of
    that name; the name of a built-in family is refused. Returns ``cls``, so it works as a decorator.
    """
    if not (isinstance(cls, type) and issubclass(cls, ModelFamily)):
        raise ConfigError(f"register_family needs a ModelFamily subclass. Got {cls!r}.")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"register_family({cls.__name__}): its name must be lower-case letters, digits, '-' or "
                          f"'_', starting with a letter. Got {name!r}.")
    if name in BUILT_IN:
        raise ConfigError(f"register_family({cls.__name__}): {name!r} is a built-in family; choose another name.")
    FAMILIES[name] = cls
    return cls


def register_module(name: str, factory: Callable[..., Any], **options: Any) -> type[ModelFamily]:
    """Register ``factory(n_inputs, n_outputs, **params) -> torch.nn.Module`` as the family ``name``.

    The options (``params``, ``search_space``, ``starting_points``, ``view``, ``modalities``) are
    those of :func:`lepton_ai.models.families.custom.module_family`, which documents them.
    """
    if isinstance(name, str) and name in BUILT_IN:
        raise ConfigError(f"register_module: {name!r} is a built-in family; choose another name.")
    return register_family(module_family(name, factory, **options))


def get_family(name: str) -> type[ModelFamily]:
    """Return the family class registered as ``name``."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ConfigError(f"unknown model family {name!r}. Valid families: {', '.join(_searchable())}.") from None


def load_family(directory: Path, family: str | None = None) -> ModelFamily:
    """Load the model saved in ``directory`` by the family its ``family.json`` names.

    ``family``, when given, is the family the caller expects (a manifest's record); another one in
    ``family.json`` is an error. Hashes are the store's to check, before this is called.
    """
    meta_path = directory / FAMILY_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        name = meta["family"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{meta_path}: not a readable model description ({exc!r}).") from exc
    if family is not None and name != family:
        raise ArtifactError(f"{meta_path}: holds a {name!r} model where a {family!r} one was expected.")
    if name not in FAMILIES:
        raise ArtifactError(f"{meta_path}: family {name!r} is not one this lepton-ai knows "
                            f"(known: {', '.join(FAMILIES)}).")
    return FAMILIES[name].load(directory, load_family=load_family)


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
    if name in FAMILIES:  # the module registered it as it was imported (registry.register_module)
        return FAMILIES[name]
    cls = module
    for part in source["qualname"].split("."):
        cls = getattr(cls, part)
    return register_family(cls)  # type: ignore[arg-type]
