"""The HTTP app: load once, decode → micro-batch → predict → encode.

KServe V1 routes: ``POST /v1/models/{name}:predict`` with ``{"instances": [...], "proba": false}``
answers ``{"predictions": [...]}`` (labels or values; with ``"proba": true`` one list of class
probabilities per instance, in the order of ``"classes"``). ``GET /v1/models/{name}`` describes
the inputs; ``/healthz`` (alive), ``/readyz`` (503 while starting or draining), ``/metrics``
(Prometheus), ``/docs`` (OpenAPI).

Status codes: 401 missing/wrong token, 404 unknown model name, 413 body too large, 422 invalid
request (naming each bad field), 429 queue full (with ``Retry-After``), 504 past the per-request
timeout. No response carries a traceback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from ..data.dataset import Dataset, Schema
from ..errors import InputError
from ..features.labels import decode_labels
from .batcher import MicroBatcher, QueueFullError
from .metrics import new_metrics
from .schemas import Decoded, RequestError, decode_request, request_body_schema
from .security import Guard

__all__ = ["ServeOptions", "create_app"]

# Bodies above this are decoded in a worker thread, so a large request does not stall the event loop.
_DECODE_INLINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class ServeOptions:
    """How ``lepton serve`` runs: bind address, micro-batching, limits."""

    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 64
    max_wait_ms: float = 2.0
    max_queue: int = 1024
    timeout_s: float = 10.0
    max_body_bytes: int = 8 * 2**20
    name: str | None = None


class Detail(BaseModel):
    detail: str


class PredictResponse(BaseModel):
    predictions: list[Any]
    classes: list[Any] | None = None


class ModelInfo(BaseModel):
    name: str
    task: str
    modality: str
    label: str
    inputs: list[dict[str, str]]
    shape: list[int]
    classes: list[Any]
    model: dict[str, Any]


def create_app(model: Any, *, name: str, options: ServeOptions = ServeOptions(), token: str | None = None) -> Any:
    """The ASGI app serving the trained LeptonModel ``model`` as ``name`` (token and body limit in front).

    The FastAPI app itself is the returned object's ``fastapi`` attribute.
    """
    served = name
    schema: Schema = model.schema
    metrics = new_metrics()
    state: dict[str, Any] = {"ready": False, "draining": False}

    def predict_rows(rows: list[Any]) -> list[Any]:
        return _predict_rows(model, schema, rows)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher = MicroBatcher(predict_rows, max_batch=options.max_batch, max_wait_ms=options.max_wait_ms,
                               max_queue=options.max_queue, metrics=metrics)
        batcher.start()
        app.state.batcher = batcher
        state["ready"] = True
        yield
        state["ready"] = False
        await batcher.stop()

    app = FastAPI(title=f"lepton-ai: {name}", version="1", lifespan=lifespan,
                  description=f"KServe V1 predictions from the lepton-ai model {name!r} ({schema.task}).")
    app.state.serve = state
    # A default value, not Annotated: annotations are strings here and could not see this local.
    name_param = Path(description="The model name", json_schema_extra={"enum": [name]})
    errors: dict[int | str, dict[str, Any]] = {
        401: {"model": Detail, "description": "Missing or wrong bearer token"},
        404: {"model": Detail, "description": "Unknown model name"},
        413: {"model": Detail, "description": "Request body too large"},
    }

    @app.post(
        "/v1/models/{name}:predict", response_model=PredictResponse,
        responses={**errors, 429: {"model": Detail, "description": "Queue full; retry after Retry-After seconds"},
                   504: {"model": Detail, "description": "Past the per-request timeout"}},
        openapi_extra={"requestBody": {"required": True,
                                       "content": {"application/json": {"schema": request_body_schema(schema)}}}},
    )
    async def predict(request: Request, name: str = name_param) -> Response:
        """Predict labels (or values, or class probabilities) for each instance."""
        if name != served:
            return _detail(404, f"model {name!r} not found; this server serves {served!r}")
        body = await request.body()
        try:
            decoded = decode_request(body, schema) if len(body) <= _DECODE_INLINE_BYTES \
                else await run_in_threadpool(decode_request, body, schema)
            outputs = await app.state.batcher.submit(decoded.rows, options.timeout_s)
        except RequestError as exc:
            return _detail(413, exc.errors[0]["msg"]) if exc.status == 413 else _problems(exc.errors)
        except QueueFullError:
            return _detail(429, "too many requests waiting; retry shortly", {"Retry-After": "1"})
        except asyncio.TimeoutError:
            return _detail(504, f"the prediction took longer than {options.timeout_s:g} s")
        except InputError as exc:  # the model refused this request's rows (e.g. a value it cannot encode)
            return _problems([{"loc": ["body", "instances"], "msg": str(exc), "type": "value_error"}])
        unusable = _non_finite(outputs)
        if unusable:  # e.g. a value of 1e38 overflows the model: a bad request, not a server error
            return _problems([
                {"loc": ["body", "instances", i], "msg": "the model's output is not finite for this instance; its "
                 "values are far outside what the model was trained on", "type": "value_error"} for i in unusable])
        return JSONResponse(_encode(decoded, outputs, schema))

    @app.get("/v1/models/{name}", response_model=ModelInfo, responses=errors)
    async def describe(name: str = name_param) -> Any:
        """The model's inputs, task, classes and chosen candidate."""
        if name != served:
            return _detail(404, f"model {name!r} not found; this server serves {served!r}")
        return _model_info(model, name)

    @app.get("/healthz", response_model=Detail)
    async def healthz() -> Any:
        """The process is up."""
        return {"detail": "ok"}

    @app.get("/readyz", response_model=Detail, responses={503: {"model": Detail, "description": "Not ready"}})
    async def readyz() -> Any:
        """Ready for traffic: 503 while starting or shutting down."""
        if state["draining"]:
            return _detail(503, "shutting down")
        if not state["ready"]:
            return _detail(503, "starting")
        return {"detail": "ready"}

    @app.get("/metrics", responses={200: {"content": {"text/plain": {}}, "description": "Prometheus metrics"},
                                    401: errors[401]})
    async def prometheus() -> Response:
        """Prometheus metrics: request counts and latency by route, rows per model call, queue depth."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    guarded = Guard(app, token=token, max_body_bytes=options.max_body_bytes, metrics=metrics)
    guarded.fastapi = app  # type: ignore[attr-defined]
    return guarded


class _AsciiJSON(JSONResponse):
    """JSON with every non-ASCII character escaped.

    Error messages echo the client's keys and strings, and JSON's ``"\\ud800"`` escape gives Python a
    lone surrogate that UTF-8 cannot encode: escaped, it goes back as the client wrote it.
    """

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


def _detail(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return _AsciiJSON({"detail": detail}, status_code=status, headers=headers)


def _problems(errors: list[dict[str, Any]]) -> JSONResponse:
    """422 listing each bad field, in FastAPI's shape."""
    return _AsciiJSON({"detail": errors}, status_code=422)


def _predict_rows(model: Any, schema: Schema, rows: list[Any]) -> list[Any]:
    """One model call on validated rows: per row, (label, probabilities) or a value."""
    if schema.modality in ("tabular", "text"):
        X: Any = pd.DataFrame.from_records(rows, columns=[c.name for c in schema.columns])
    else:
        X = np.stack(rows)
    data = Dataset(X=X, y=None, schema=schema, source="request")
    if schema.task == "classification":
        proba = model.predict_proba(data)
        labels = decode_labels(proba.argmax(axis=1), schema)
        return list(zip(labels.tolist(), proba.tolist(), strict=True))
    return np.asarray(model.predict(data), dtype=np.float64).tolist()


def _non_finite(outputs: list[Any]) -> list[int]:
    """Positions of rows whose value or probabilities are NaN or infinite."""
    values = [out[1] if isinstance(out, tuple) else [out] for out in outputs]
    return [i for i, row in enumerate(values) if not np.isfinite(np.asarray(row, dtype=np.float64)).all()]


def _encode(decoded: Decoded, outputs: list[Any], schema: Schema) -> dict[str, Any]:
    if schema.task != "classification":
        return {"predictions": outputs}
    if decoded.proba:
        return {"predictions": [proba for _, proba in outputs], "classes": list(schema.classes)}
    return {"predictions": [label for label, _ in outputs]}


def _model_info(model: Any, name: str) -> dict[str, Any]:
    schema: Schema = model.schema
    chosen = model.chosen
    return {
        "name": name, "task": schema.task, "modality": schema.modality, "label": schema.label,
        "inputs": [{"name": c.name, "kind": c.kind} for c in schema.columns], "shape": list(schema.shape),
        "classes": list(schema.classes),
        "model": {"trial": chosen.trial_id, "family": chosen.family, "metric": chosen.metric_name,
                  "dev_metric": chosen.dev_metric, "latency_p50_ms": chosen.latency_p50_ms},
    }
