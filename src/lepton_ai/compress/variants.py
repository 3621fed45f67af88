"""Make the compressed variants of one fitted model.

Which variants a model gets is its family's declaration, ``ModelFamily.variant_kinds``: the neural
families (those with :meth:`ModelFamily.export_module`) declare ``torch-bf16``, ``torch-int8``,
``onnx`` (fp32) and ``onnx-int8``; LightGBM declares ``gbdt-fast``, LightGBM's single-row fast
path. Every variant is then measured like any candidate (see :mod:`lepton_ai.compress.apply`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np

from ..errors import ConfigError, NotBuiltError, TrialError
from ..models.base import ModelFamily
from ..models.derived.gbdt_fast import GBDTFastFamily
from ..models.derived.onnx import OnnxFamily, OnnxInt8Family
from ..models.derived.torch_variant import TorchBf16Family, TorchInt8Family
from ..models.derived.variant import VariantFamily
from .onnx_export import export_onnx, quantize_onnx_int8

__all__ = ["KINDS", "variant_kinds", "make_variants"]

# The variants make_variants knows how to make, in the order they are made and listed.
KINDS = ("torch-bf16", "torch-int8", "onnx", "onnx-int8", "gbdt-fast")
# An fp32 ONNX export must give the module's outputs to within this, relative to their scale
# (float32 rounding and operator order differ; a wrong graph is off by far more).
_EXPORT_TOLERANCE = 1e-3


def variant_kinds(source: ModelFamily | type[ModelFamily], requested: Sequence[str] | None = None) -> list[str]:
    """The variant kinds ``source`` (a model or a family class) declares (``variant_kinds``) among
    ``requested`` (default: all of them), in the order of ``KINDS``."""
    wanted = list(KINDS if requested is None else requested)
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise ConfigError(f"unknown variant kind(s) {', '.join(unknown)}. Valid kinds: {', '.join(KINDS)}.")
    # ModelFamily derives from an untyped base (sklearn), so isinstance cannot narrow ``source`` here.
    cls = cast(type[ModelFamily], source if isinstance(source, type) else type(source))
    return [k for k in wanted if k in cls.variant_kinds]


def make_variants(source: ModelFamily, source_trial: str, kinds: Sequence[str], X_sample: np.ndarray) -> \
        dict[str, VariantFamily]:
    """The variants of the fitted ``source`` of each kind in ``kinds``, by kind.

    ``X_sample``: prepared rows ``(n, n_features)`` used to fix the input width and to check that
    the fp32 ONNX export reproduces the source. A kind that fails raises :class:`TrialError`.
    """
    variants: dict[str, VariantFamily] = {}
    onnx_fp32: bytes | None = None
    for kind in kinds:
        if kind == "gbdt-fast":
            variants[kind] = GBDTFastFamily.from_source(source, source_trial)
        elif kind == "torch-bf16":
            variants[kind] = TorchBf16Family.from_source(source, source_trial)
        elif kind == "torch-int8":
            variants[kind] = TorchInt8Family.from_source(source, source_trial)
        elif kind in ("onnx", "onnx-int8"):
            if onnx_fp32 is None:
                onnx_fp32 = _export_checked(source, X_sample)
            if kind == "onnx":
                variants[kind] = OnnxFamily.from_bytes(onnx_fp32, source, source_trial)
            else:
                variants[kind] = OnnxInt8Family.from_bytes(quantize_onnx_int8(onnx_fp32), source, source_trial)
        else:
            raise ConfigError(f"unknown variant kind {kind!r}. Valid kinds: {', '.join(KINDS)}.")
    return variants


def _export_checked(source: ModelFamily, X_sample: np.ndarray) -> bytes:
    try:
        module = source.export_module()
    except NotBuiltError as exc:
        raise TrialError(f"{source.name}: {exc}") from exc
    data = export_onnx(module, int(X_sample.shape[1]))
    rows = np.ascontiguousarray(X_sample[:64], dtype=np.float32)
    probe = OnnxFamily.from_bytes(data, source, "")
    if not len(rows):
        return data
    expected = source._raw_predict(rows)
    gap = float(np.max(np.abs(probe._raw_predict(rows) - expected)))
    if not gap <= _EXPORT_TOLERANCE * (1.0 + float(np.max(np.abs(expected)))):
        raise TrialError(f"{source.name}: the ONNX export differs from the model by {gap:.3g} on dev rows.")
    return data
