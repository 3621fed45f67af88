"""lepton-ai: train, compare, compress and serve ML models on one machine.

Picks the model that balances speed and cost from the measured frontier of every candidate.
"""

from .data import Dataset, load_data
from .engine import SinglePointTechnique
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
from .model import LeptonModel
from .sklearn import LeptonAI
from .store import load_model, save_model

__version__ = "0.1.0"

__all__ = [
    "LeptonModel", "LeptonAI", "SinglePointTechnique", "load_data", "save_model", "load_model", "Dataset",
    "LeptonError", "InputError", "DataError", "ConfigError", "ArtifactError", "NotFittedError", "TrialError",
    "NotBuiltError", "__version__",
]
