"""The single-point engine: runs and measures trials on this node."""

from .callbacks import Callback, CallbackRunner, LogCallback
from .resources import NodeResources, detect_resources
from .result import SearchResult
from .technique import SinglePointTechnique

__all__ = ["Callback", "CallbackRunner", "LogCallback", "NodeResources", "detect_resources", "SearchResult",
           "SinglePointTechnique"]
