"""Save and load model directories: a JSON manifest with SHA-256 of every file, no pickle, atomic writes."""

from .io import load_model, save_model
from .manifest import FORMAT_VERSION

__all__ = ["load_model", "save_model", "FORMAT_VERSION"]
