"""Re-exports of the data and store functions under ``lepton_ai.utils``."""

from .data import load_data
from .model import load_model, save_model

__all__ = ["load_data", "save_model", "load_model"]
