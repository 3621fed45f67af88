"""Families made from trained models, never searched: compressed variants and ensembles.

variant (the base of variants), onnx (ONNX Runtime fp32/int8), torch_variant (bf16, int8),
gbdt_fast (LightGBM's single-row path), ensemble (a weighted average of candidates).
"""
