"""Serving: a FastAPI app (KServe V1 routes) with micro-batching, limits, metrics and graceful shutdown."""

from .app import DeferredModel, ServeOptions, ServeState, create_app

__all__ = ["DeferredModel", "ServeOptions", "ServeState", "create_app"]
