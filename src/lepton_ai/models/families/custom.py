"""Bring your own network: a ``torch.nn.Module`` factory registered as a model family.

    import torch.nn as nn
    from lepton_ai.models import Domain, register_module

    def make_net(n_inputs: int, n_outputs: int, hidden: int = 64) -> nn.Module:
        return nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Linear(hidden, n_outputs))

    register_module("mynet", make_net, search_space={"hidden": Domain("choice", choices=(32, 64, 128))})

The family is then searched, measured, compared and saved like the built-in ones
(``LeptonModel(families="mynet,gbdt")``), trained by the shared loop (AdamW, one-cycle schedule,
early stopping, deadline, checkpoints) and saved as safetensors. The module receives flat float32
rows ``(batch, n_inputs)`` of the family's view (``dense``: standardised features; ``codes``: raw
values, e.g. pixels) and must return ``(batch, n_outputs)``: one logit per class, or one value for
regression. A module that returns another width fails at its first batch with a ConfigError.

Trials run in worker processes, which import the module that called :func:`register_module` again
to find the family: call it at the top level of a module (or of a script whose training code sits
under ``if __name__ == "__main__":``), and import that module before ``load_model``.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from ...errors import ConfigError
from ..base import Cost, Domain, ModelFamily
from ..neural.torch_family import TorchFamily

__all__ = ["module_family", "ModuleFamily", "TRAINING_DEFAULTS"]

# Training parameters every registered module gets; ``params`` may override their defaults.
TRAINING_DEFAULTS: dict[str, Any] = {"epochs": 30, "batch_size": 64, "learning_rate": 1e-3, "weight_decay": 1e-4,
                                     "patience": 8, "label_smoothing": 0.0, "precision": "fp32"}
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class ModuleFamily(TorchFamily):
    """The family of a registered module factory; :func:`register_module` makes one subclass per name."""

    factory: ClassVar[Callable[..., Any]]
    module_params: ClassVar[tuple[str, ...]] = ()
    space: ClassVar[dict[str, Domain]] = {}
    points: ClassVar[list[dict[str, Any]]] = [{}]

    def _network(self) -> Any:
        import torch

        params = {k: getattr(self, k) for k in self.module_params}
        try:
            net = type(self).factory(self.n_features_, self._out_width(), **params)
        except Exception as exc:  # the user's code: report it as a bad configuration of this family
            raise ConfigError(f"family {self.name!r}: the module factory failed for n_inputs={self.n_features_}, "
                              f"n_outputs={self._out_width()}, params {params}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(net, torch.nn.Module):
            raise ConfigError(f"family {self.name!r}: the factory must return a torch.nn.Module; "
                              f"it returned a {type(net).__name__}.")
        return net

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        # Dense layers cost ~6 FLOPs per weight per row to train; a module's own layout is unknown
        # before it runs, so its parameter count (on a two-class output) stands in for its size.
        weights = self._weight_count(n_features)
        steps = -(-max(n_rows, 1) // self.batch_size)
        return Cost(fit_seconds=0.5 + self.epochs * (n_rows * 6 * weights / 3e10 + steps * 2e-3),
                    predict_ms_per_row=0.05 + 2 * weights / 3e7,
                    memory_bytes=4 * n_rows * max(n_features, 1) * 2 + 16 * weights + 60 * 10**6)

    def _weight_count(self, n_features: int) -> int:
        params = {k: getattr(self, k) for k in self.module_params}
        try:
            net = type(self).factory(max(n_features, 1), 2, **params)
            return int(sum(p.numel() for p in net.parameters()))
        except Exception:  # a prior only: a factory that fails here fails again, reported, in fit
            return 100_000

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return dict(cls.space)

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        return [dict(p) for p in cls.points]

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"epochs": 2, "batch_size": 32}


def module_family(name: str, factory: Callable[..., Any], *, params: dict[str, Any] | None = None,
                    search_space: dict[str, Domain] | None = None,
                    starting_points: Sequence[dict[str, Any]] | None = None, view: str = "dense",
                    modalities: Sequence[str] = ("tabular", "image", "sequence", "text")) -> type[ModelFamily]:
    """The model family ``name`` of ``factory(n_inputs, n_outputs, **params) -> torch.nn.Module``.

    ``registry.register_module`` makes it and registers it; this builds the class only.

    ``params``: defaults of the factory's keyword arguments (and of the training parameters
    ``epochs``, ``batch_size``, ``learning_rate``, ``weight_decay``, ``patience``,
    ``label_smoothing``, ``precision``). ``search_space``: the ranges the search draws them from; a
    factory argument named there without a default starts at the first choice, the lower int bound,
    or the middle of a float range (geometric middle when log-scaled). ``starting_points``: the
    configurations tried first (default: the defaults). ``view``: ``dense`` or ``codes`` (see the
    module docstring). ``modalities``: the data it may be offered. Registering a name again replaces
    the earlier module family of that name; a built-in family's name is refused. Returns the class.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"register_module: name must be lower-case letters, digits, '-' or '_', starting with a "
                          f"letter. Got {name!r}.")
    if not callable(factory):
        raise ConfigError(f"register_module({name!r}): factory must be callable. Got {type(factory).__name__}.")
    if view not in ("dense", "codes"):
        raise ConfigError(f"register_module({name!r}): view must be 'dense' or 'codes'. Got {view!r}.")
    space = dict(search_space or {})
    for key, domain in space.items():
        if not isinstance(domain, Domain):
            raise ConfigError(f"register_module({name!r}): search_space[{key!r}] must be a Domain. Got {domain!r}.")
    defaults = {**{k: _start(d) for k, d in space.items() if k not in TRAINING_DEFAULTS}, **(params or {})}
    module_params = tuple(k for k in defaults if k not in TRAINING_DEFAULTS)
    cls = _family_class(name, factory, {**TRAINING_DEFAULTS, **defaults}, module_params)
    cls.space, cls.view, cls.modalities = space, view, tuple(modalities)  # type: ignore[misc,assignment]
    cls.points = [dict(p) for p in starting_points] if starting_points else [{}]
    for point in cls.points:
        unknown = sorted(set(point) - set(TRAINING_DEFAULTS) - set(defaults))
        if unknown:
            raise ConfigError(f"register_module({name!r}): starting point {point} names unknown parameters {unknown}.")
    return cls


def _family_class(name: str, factory: Callable[..., Any], defaults: dict[str, Any],
                  module_params: tuple[str, ...]) -> type[ModuleFamily]:
    """A ModuleFamily subclass whose ``__init__`` takes exactly ``defaults`` as keyword arguments.

    The explicit signature is what scikit-learn's ``get_params``/``clone`` read.
    """

    def __init__(self: ModuleFamily, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - set(defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected parameters {unknown}; "
                            f"it takes {', '.join(defaults)}.")
        for key, default in defaults.items():
            setattr(self, key, kwargs.get(key, default))

    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=v) for k, v in defaults.items()]
    __init__.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    title = "".join(part.capitalize() for part in re.split(r"[-_]", name))
    namespace = {"__init__": __init__, "name": name, "factory": staticmethod(factory),
                 "module_params": module_params, "__module__": getattr(factory, "__module__", __name__),
                 "__doc__": f"The registered module family {name!r} ({getattr(factory, '__qualname__', factory)})."}
    return type(f"{title}Family", (ModuleFamily,), namespace)


def _start(domain: Domain) -> Any:
    if domain.kind == "choice":
        if not domain.choices:
            raise ConfigError("register_module: a choice Domain needs at least one choice.")
        return domain.choices[0]
    assert domain.low is not None and domain.high is not None
    if domain.kind == "int":
        return int(domain.low)
    if domain.log and domain.low > 0:
        return float(math.sqrt(domain.low * domain.high))
    return float((domain.low + domain.high) / 2)
