"""The one exception hierarchy of lepton-ai.

Every class is also a builtin exception, so ``except ValueError`` in a user's code keeps working.
The CLI catches :class:`InputError` once, prints its message on one line and exits with code 2.
"""

from __future__ import annotations

__all__ = [
    "LeptonError",
    "InputError",
    "DataError",
    "ConfigError",
    "ArtifactError",
    "NotFittedError",
    "TrialError",
    "BudgetError",
    "StoreError",
    "NotBuiltError",
]


class LeptonError(Exception):
    """Base of every error lepton-ai raises on purpose."""


class InputError(LeptonError, ValueError):
    """The user's data, arguments or files are wrong."""


class DataError(InputError):
    """A data source is unusable; the message names the file, column or row."""


class ConfigError(InputError):
    """A parameter or flag has a bad value; the message names it and the valid choices."""


class ArtifactError(InputError):
    """A model directory is tampered, foreign, incomplete or of a newer format."""


class BudgetError(ConfigError):
    """The budget is too small for any candidate to finish."""


class StoreError(ConfigError):
    """The run store (a SQLite file or a database URL) cannot be reached, or is held by another node;
    the message names it (never its password) and what to do."""


class NotFittedError(LeptonError, AttributeError):
    """A model was asked to predict before it was trained."""


class TrialError(LeptonError, RuntimeError):
    """A candidate failed while training or being measured; recorded on its trial."""


class NotBuiltError(LeptonError, NotImplementedError):
    """The feature is specified but not built in this version; the message says which."""
