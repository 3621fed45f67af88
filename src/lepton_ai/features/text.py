"""The "text" view: the raw strings of a table's text columns, for the families that read words.

The dense and codes views hash text into a fixed number of slots, which suits tabular families; the
text families (TF-IDF, sentence embeddings) need the strings themselves and learn their own
vocabulary. The inference plan (features/plan.py) makes the view, an object array
``(n_rows, n_text_columns)`` of ``str`` (a missing value is ``""``); this module stores it in the
feature cache as JSON, never as a pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["save_texts", "load_texts"]


def save_texts(path: Path, texts: np.ndarray) -> Path:
    """Write a text block as JSON: ``{"n_columns": k, "rows": [[...], ...]}``."""
    path.write_text(json.dumps({"n_columns": int(texts.shape[1]), "rows": texts.tolist()}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def load_texts(path: Path) -> np.ndarray:
    """Read a text block written by :func:`save_texts`."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = np.empty((len(data["rows"]), int(data["n_columns"])), dtype=object)
    if len(data["rows"]):
        out[:] = data["rows"]
    return out
