"""``lepton serve``: load the model, check the bind address, run uvicorn with a graceful shutdown.

On SIGTERM (or Ctrl-C) readiness turns 503 at once, uvicorn stops accepting connections, the
requests in flight finish (up to the per-request timeout plus a margin), the batcher drains, and
the process exits 0.
"""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from ..config import Settings
from ..errors import ConfigError
from .app import ServeOptions, create_app
from .security import check_bind

__all__ = ["run_server", "ServeOptions"]


def run_server(model_dir: Path, options: ServeOptions) -> None:
    """Serve the model directory ``model_dir`` until SIGTERM/SIGINT."""
    from ..model import load_model

    _check_options(options)
    token = Settings().token or None
    check_bind(options.host, token)
    model = load_model(model_dir)
    name = options.name or Path(model_dir).resolve().name
    app = create_app(model, name=name, options=options, token=token)
    config = uvicorn.Config(app, host=options.host, port=options.port, log_level="info", access_log=False,
                            lifespan="on", timeout_graceful_shutdown=int(options.timeout_s) + 5)
    server = _Server(config, app.fastapi.state.serve)
    # uvicorn re-raises the signal that stopped it once it has shut down; after a graceful drain
    # SIGTERM should end the process with status 0, not kill it.
    signal.signal(signal.SIGTERM, _already_handled)
    print(f"lepton: serving {model_dir} as {name!r} on http://{options.host}:{options.port} "
          f"(POST /v1/models/{name}:predict; docs at /docs)", flush=True)
    server.run()


class _Server(uvicorn.Server):
    """uvicorn's server, marking the app as draining (readiness 503) as soon as a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, serve_state: dict[str, Any]) -> None:
        super().__init__(config)
        self.serve_state = serve_state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.serve_state["draining"] = True
        super().handle_exit(sig, frame)


def _already_handled(sig: int, frame: FrameType | None) -> None:
    return None


def _check_options(options: ServeOptions) -> None:
    checks = [("--port", options.port, 0 <= options.port <= 65535, "between 0 and 65535"),
              ("--max-batch", options.max_batch, options.max_batch >= 1, ">= 1"),
              ("--max-wait-ms", options.max_wait_ms, options.max_wait_ms >= 0, ">= 0"),
              ("--max-queue", options.max_queue, options.max_queue >= 1, ">= 1"),
              ("--timeout-s", options.timeout_s, options.timeout_s > 0, "> 0"),
              ("--max-body-mb", options.max_body_bytes, options.max_body_bytes > 0, "> 0")]
    for flag, value, ok, expected in checks:
        if not ok:
            raise ConfigError(f"{flag} must be {expected}. Got {value!r}.")
