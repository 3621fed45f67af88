"""``lepton serve``: check the bind address, listen at once, load the model behind it, drain on SIGTERM.

The manifest's schema is read before binding (milliseconds; a directory that is no model fails
here, exit 2); the model itself loads in a background thread while ``/healthz`` answers 200 and
``/readyz`` 503, so a slow load never fails a liveness probe. A load that fails stops the server
and its error is raised as if it had happened before binding.

On SIGTERM (or Ctrl-C) readiness turns 503 and the server keeps listening and serving for
``drain_s``, so that load balancers stop sending traffic before connections are refused; then
uvicorn stops accepting connections, closes idle keep-alive ones, lets the requests in flight
finish (up to the per-request timeout plus a margin), the batcher drains, and the process exits 0.
A second signal ends the drain at once.
"""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path
from types import FrameType

import uvicorn

from ..config import Settings
from ..data.dataset import Schema
from ..errors import ArtifactError, ConfigError
from .app import ServeOptions, create_app
from .lifecycle import DeferredModel, ServeState
from .security import check_bind

__all__ = ["run_server", "ServeOptions"]

_log = logging.getLogger("uvicorn.error")


def run_server(model_dir: Path, options: ServeOptions) -> None:
    """Serve the model directory ``model_dir`` until SIGTERM/SIGINT."""
    from ..model import load_model

    _check_options(options)
    token = Settings().token or None
    check_bind(options.host, token)
    schema = _read_schema(Path(model_dir))
    name = options.name or Path(model_dir).resolve().name
    app = create_app(DeferredModel(schema, lambda: load_model(model_dir)), name=name, options=options, token=token)
    config = uvicorn.Config(app, host=options.host, port=options.port, log_level="info", access_log=False,
                            lifespan="on", timeout_graceful_shutdown=int(options.timeout_s) + 5)
    state: ServeState = app.fastapi.state.serve
    server = _Server(config, state, drain_s=options.drain_s)
    # uvicorn re-raises a signal that stopped it at once (no drain, or a second signal) once it has
    # shut down; after a graceful drain SIGTERM should end the process with status 0, not kill it.
    signal.signal(signal.SIGTERM, _already_handled)
    print(f"lepton: serving {model_dir} as {name!r} on http://{options.host}:{options.port} "
          f"(POST /v1/models/{name}:predict; docs at /docs); loading the model", flush=True)
    server.run()
    if state.load_error is not None:
        raise state.load_error


def _read_schema(model_dir: Path) -> Schema:
    from ..store.manifest import MANIFEST, read_manifest

    manifest = read_manifest(model_dir)
    try:
        return Schema.from_json(manifest["schema"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{model_dir / MANIFEST}: incomplete or inconsistent manifest ({exc!r}).") from exc


class _Server(uvicorn.Server):
    """uvicorn's server with a drain before its graceful shutdown, and a stop when the model fails to load."""

    def __init__(self, config: uvicorn.Config, serve_state: ServeState, *, drain_s: float) -> None:
        super().__init__(config)
        self.serve_state = serve_state
        self.drain_s = drain_s
        self.drain_until: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.serve_state.draining = True
        if self.drain_until is None and self.drain_s > 0:
            # Not uvicorn's should_exit yet: that closes the listener at once. main_loop ticks every
            # 0.1 s and on_tick sets it when the drain is over.
            self.drain_until = time.monotonic() + self.drain_s
            _log.info("Draining for %g s: /readyz answers 503, requests are still served", self.drain_s)
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain_until is not None and time.monotonic() >= self.drain_until:
            self.should_exit = True
        if self.serve_state.load_error is not None:
            self.should_exit = True
        return await super().on_tick(counter)


def _already_handled(sig: int, frame: FrameType | None) -> None:
    return None


def _check_options(options: ServeOptions) -> None:
    checks = [("--port", options.port, 0 <= options.port <= 65535, "between 0 and 65535"),
              ("--max-batch", options.max_batch, options.max_batch >= 1, ">= 1"),
              ("--max-wait-ms", options.max_wait_ms, options.max_wait_ms >= 0, ">= 0"),
              ("--max-queue", options.max_queue, options.max_queue >= 1, ">= 1"),
              ("--timeout-s", options.timeout_s, options.timeout_s > 0, "> 0"),
              ("--max-body-mb", options.max_body_bytes, options.max_body_bytes > 0, "> 0"),
              ("--max-instances", options.max_instances, options.max_instances >= 1, ">= 1"),
              ("--drain-s", options.drain_s, options.drain_s >= 0, ">= 0")]
    for flag, value, ok, expected in checks:
        if not ok:
            raise ConfigError(f"{flag} must be {expected}. Got {value!r}.")
