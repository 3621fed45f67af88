"""Save and load model directories: a JSON manifest with SHA-256 of every file, no pickle, atomic writes.

The store reads and writes a :class:`StoredModel` (a search result and its choice); the public
``save_model``/``load_model`` in :mod:`lepton_ai.model` wrap it in a ``LeptonModel``.
"""

from .io import StoredModel, load_result, save_result
from .manifest import FORMAT_VERSION

__all__ = ["StoredModel", "load_result", "save_result", "FORMAT_VERSION"]
