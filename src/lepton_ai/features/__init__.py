"""Preparation fitted on train only: imputation, scaling, encoding, stored with the model."""

from .labels import decode_labels, encode_labels
from .tabular import MAX_ONE_HOT, TabularPreparer, View, check_columns

__all__ = ["MAX_ONE_HOT", "TabularPreparer", "View", "check_columns", "decode_labels", "encode_labels"]
