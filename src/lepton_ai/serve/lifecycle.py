"""The server's lifecycle: a model loaded after the port is bound, then readiness and draining.

An orchestrator restarts a process whose liveness probe gets no answer, so ``lepton serve`` binds
first and loads the model in a background thread: ``/healthz`` answers 200 at once, ``/readyz``
503 until the model is in :class:`ServeState`, and the predict routes 503 with ``Retry-After``.
On a stop signal the runner sets ``draining`` (readiness 503, requests still served) for the
drain period before uvicorn closes the listener.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..data.dataset import Schema

__all__ = ["DeferredModel", "ServeState", "load_in_background"]

_log = logging.getLogger("lepton_ai.serve")


@dataclass(frozen=True)
class DeferredModel:
    """A model to load once the server listens: ``schema`` now (routes, OpenAPI), ``load()`` later in a thread."""

    schema: Schema
    load: Callable[[], Any]


@dataclass
class ServeState:
    """What the probes report. Changed on the event loop only (the loader thread hands results to it)."""

    model: Any = None  # None until loaded
    started: bool = False  # the app's lifespan has started its batcher
    draining: bool = False  # a stop signal arrived: readiness is 503, requests are still served
    load_error: BaseException | None = None

    @property
    def serving(self) -> bool:
        """Predictions can be answered."""
        return self.started and self.model is not None

    @property
    def ready(self) -> bool:
        """Traffic should be sent here."""
        return self.serving and not self.draining

    def reason(self) -> str:
        """Why the server is not ready, in a few words."""
        if self.load_error is not None:
            return "the model failed to load"
        if self.draining:
            return "shutting down"
        if not self.started:
            return "starting"
        return "loading the model" if self.model is None else "ready"


def load_in_background(state: ServeState, load: Callable[[], Any]) -> threading.Thread:
    """Run ``load()`` in a daemon thread (a stop signal need not wait for it); the model or the error
    lands in ``state`` through the running event loop."""
    loop = asyncio.get_running_loop()

    def hand_over(field: str, value: Any) -> None:
        try:
            loop.call_soon_threadsafe(setattr, state, field, value)
        except RuntimeError:  # the loop is closed: the server stopped while loading, nobody is left to tell
            _log.info("the server stopped before the model finished loading")

    def run() -> None:
        try:
            model = load()
        except Exception as exc:  # reported, not hidden: logged, shown by /readyz, re-raised by the runner
            _log.error("loading the model failed: %s", exc)
            hand_over("load_error", exc)
            return
        hand_over("model", model)

    thread = threading.Thread(target=run, name="lepton-load", daemon=True)
    thread.start()
    return thread
