"""Serving: a FastAPI app (KServe V1 routes) with micro-batching, limits, metrics and graceful shutdown."""

from .app import ServeOptions, create_app

__all__ = ["ServeOptions", "create_app"]
