"""lepton-ai: train, compare, compress and serve ML models on one machine.

Picks the model that balances speed and cost from the measured frontier of every candidate.
Public names load on first use (PEP 562), so ``import lepton_ai`` and ``lepton --help`` stay
instant and pandas, scikit-learn, LightGBM and torch load only when needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    ArtifactError,
    ConfigError,
    DataError,
    InputError,
    LeptonError,
    NotBuiltError,
    NotFittedError,
    TrialError,
)

_LAZY = {
    "LeptonModel": ".model",
    "LeptonAI": ".sklearn",
    "SinglePointTechnique": ".engine",
    "load_data": ".data",
    "Dataset": ".data",
    "save_model": ".model",
    "load_model": ".model",
    "make_metric": ".models.metrics",
    "Metric": ".models.metrics",
}

__all__ = [
    "LeptonModel", "LeptonAI", "SinglePointTechnique", "load_data", "save_model", "load_model", "Dataset",
    "make_metric", "Metric",
    "LeptonError", "InputError", "DataError", "ConfigError", "ArtifactError", "NotFittedError", "TrialError",
    "NotBuiltError", "__version__",
]

if TYPE_CHECKING:
    from .data import Dataset, load_data
    from .engine import SinglePointTechnique
    from .model import LeptonModel, load_model, save_model
    from .models.metrics import Metric, make_metric
    from .sklearn import LeptonAI


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lepton_ai' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
