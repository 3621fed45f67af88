"""Compression: bf16 and int8 variants of neural models, ONNX export run by ONNX Runtime (fp32 and
int8), and LightGBM's fastest single-row path. Every variant is measured like any candidate and
joins the frontier."""

from .apply import compress_after_search, compress_result, default_sources
from .variants import KINDS, make_variants, variant_kinds

__all__ = ["compress_after_search", "compress_result", "default_sources", "KINDS", "make_variants", "variant_kinds"]
