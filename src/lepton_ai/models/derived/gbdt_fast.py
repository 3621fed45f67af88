"""``gbdt-fast``: a LightGBM model predicted through LightGBM's single-row fast path.

``Booster.predict`` pays about 15 µs of Python-side checks and conversions per call, which is most
of a single-row prediction for a few hundred trees. LightGBM's C API keeps a prepared
configuration for one row at a time (``LGBM_BoosterPredictForMatSingleRowFast``); measured on a
2-core AVX-512 node with 200 trees, 3 classes, 30 features: p50 25 µs through ``predict``, 12 µs
through the fast path (see ``benchmarks/compress.py``). Batches still go through ``predict``.
The model file is the source's ``model.txt``, unchanged.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import Any

import numpy as np

from .variant import SourceVariant

__all__ = ["GBDTFastFamily"]


class GBDTFastFamily(SourceVariant):
    """The source GBDT model with single-row predictions through LightGBM's fast C path."""

    name = "gbdt-fast"
    kind = "lightgbm-single-row-fast"

    def _convert(self) -> None:
        from lightgbm.basic import _LIB, _safe_call

        booster = self.source_.booster_
        self.n_features_ = int(booster.num_feature())
        self.n_outputs_ = int(booster.num_model_per_iteration())
        handle = ctypes.c_void_p()
        _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster._handle, ctypes.c_int(0), ctypes.c_int(0), ctypes.c_int(-1),
            ctypes.c_int(0),  # C_API_DTYPE_FLOAT32
            ctypes.c_int32(self.n_features_), b"num_threads=1", ctypes.byref(handle),
        ))
        self.fast_config_ = handle
        weakref.finalize(self, _LIB.LGBM_FastConfigFree, handle)
        self.lock_ = threading.Lock()  # one fast configuration: its buffers are not shared between threads

    def __getstate__(self) -> dict[str, Any]:
        """Copies in memory (``copy.deepcopy``, joblib, scikit-learn's checks) leave out the C handle and
        the lock; :meth:`__setstate__` makes them again. Saved models never use this (no pickle)."""
        return {k: v for k, v in self.__dict__.items() if k not in ("fast_config_", "lock_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "source_" in state:
            self._convert()

    def _raw_predict(self, X: np.ndarray) -> np.ndarray:
        if len(X) != 1 or X.shape[1] != self.n_features_:
            return self.source_._raw_predict(X)
        from lightgbm.basic import _LIB, _safe_call

        row = np.ascontiguousarray(X, dtype=np.float32)
        out = np.empty(self.n_outputs_, dtype=np.float64)
        length = ctypes.c_int64()
        with self.lock_:
            _safe_call(_LIB.LGBM_BoosterPredictForMatSingleRowFast(
                self.fast_config_, row.ctypes.data_as(ctypes.c_void_p), ctypes.byref(length),
                out.ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
            ))
        if self.task_ == "regression":
            return out
        if self.n_outputs_ == 1:  # binary: the probability of class 1
            return np.array([[1.0 - out[0], out[0]]])
        return out.reshape(1, -1)
