"""Load, infer task and schema, clean and split data into :class:`Dataset` objects."""

from .bundled import BUNDLED
from .coerce import to_input
from .dataset import CleaningReport, Column, Dataset, Schema
from .load import build_dataset, load_data, read_source
from .split import DEFAULT_SPLIT

__all__ = ["BUNDLED", "CleaningReport", "Column", "Dataset", "Schema", "DEFAULT_SPLIT",
           "build_dataset", "load_data", "read_source", "to_input"]
