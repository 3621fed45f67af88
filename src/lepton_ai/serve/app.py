"""The HTTP app: decode → micro-batch → predict → encode, with the model loaded in the background.

KServe V1 routes: ``POST /v1/models/{name}:predict`` with ``{"instances": [...], "proba": false}``
answers ``{"predictions": [...]}`` (labels or values; with ``"proba": true`` one list of class
probabilities per instance, in the order of ``"classes"``; ``"ids"`` beside them when the instances
carry the id column the model was trained with). ``GET /v1/models/{name}`` describes
the inputs; ``/healthz``, ``/readyz``, ``/metrics`` (Prometheus), ``/docs`` (OpenAPI).

Status codes, none of them for a client's bytes in the 5xx range but 503 and 504:

- 401 missing or wrong bearer token; 404 unknown model name;
- 413 body past ``max_body_bytes`` (``--max-body-mb``), or more than ``max_instances`` instances
  (``--max-instances``), refused before any instance is checked;
- 422 invalid request, naming each bad field in FastAPI's shape: bad JSON or UTF-8, nesting past 32
  levels, a missing, unknown or mistyped column, NaN/infinity, a number past the float32 range
  (5000-digit integers and ``1e400`` included), a lone surrogate, a wrong image shape; the checks
  stop after 20 errors and a last entry says what was left unchecked;
- 429 queue full, with ``Retry-After``;
- 503 with ``Retry-After`` from the predict and describe routes while the model loads;
- 504 past ``timeout_s`` (``--timeout-s``), which covers decoding, queueing and the model call.

A 500 is a server bug: logged with its traceback, which no response carries.

Health: ``/healthz`` answers 200 whenever the process can answer at all, the model loaded or not.
``/readyz`` answers 503 "loading the model" until it is loaded (given a :class:`DeferredModel`),
200 "ready" then, and 503 "shutting down" from a stop signal on: the runner keeps serving for
``drain_s`` (``--drain-s``) so that load balancers see it, then stops accepting connections, lets
the requests in flight finish and exits 0.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from ..data.dataset import Dataset, Records, Schema
from ..errors import InputError
from .batcher import MicroBatcher, QueueFullError
from .docs import add_offline_docs
from .lifecycle import DeferredModel, ServeState, load_in_background
from .metrics import ServeMetrics, new_metrics
from .schemas import Decoded, RequestError, decode_request, request_body_schema
from .security import Guard

__all__ = ["DeferredModel", "ServeOptions", "ServeState", "create_app"]

# Bodies above this are decoded in a worker thread, so a large request does not stall the event loop.
_DECODE_INLINE_BYTES = 64 * 1024


@dataclass(frozen=True)
class ServeOptions:
    """How ``lepton serve`` runs: bind address, micro-batching, limits, shutdown.

    ``timeout_s`` bounds a whole predict request (decode, queue, model call); ``drain_s`` is how long
    readiness answers 503 after a stop signal while requests are still served.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    max_batch: int = 64
    max_wait_ms: float = 2.0
    max_queue: int = 1024
    timeout_s: float = 10.0
    max_body_bytes: int = 8 * 2**20
    max_instances: int = 10_000
    drain_s: float = 5.0
    name: str | None = None


class Detail(BaseModel):
    detail: str


class PredictResponse(BaseModel):
    predictions: list[Any]
    classes: list[Any] | None = None
    ids: list[Any] | None = None


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
    """The ASGI app serving ``model`` as ``name`` (token and body limit in front).

    ``model``: a trained LeptonModel, ready at once, or a :class:`DeferredModel`, loaded in a thread
    once the app starts (readiness is 503 until then). The FastAPI app itself is the returned
    object's ``fastapi`` attribute, its :class:`ServeState` is ``fastapi.state.serve``.
    """
    schema: Schema = model.schema
    metrics = new_metrics()
    state = ServeState(model=None if isinstance(model, DeferredModel) else model)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        batcher = MicroBatcher(lambda rows: _predict_rows(state.model, schema, rows, metrics),
                               max_batch=options.max_batch, max_wait_ms=options.max_wait_ms,
                               max_queue=options.max_queue, metrics=metrics)
        batcher.start()
        app.state.batcher = batcher
        state.started = True
        if isinstance(model, DeferredModel):
            load_in_background(state, model.load)
        yield
        state.started = False
        await batcher.stop()

    app = FastAPI(title=f"lepton-ai: {name}", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description=f"KServe V1 predictions from the lepton-ai model {name!r} ({schema.task}).")
    add_offline_docs(app)
    app.state.serve = state
    _add_model_routes(app, state, schema, name, options)
    _add_probes(app, state, metrics)
    guarded = Guard(app, token=token, max_body_bytes=options.max_body_bytes, metrics=metrics,
                    fast_routes=app.state.fast_routes)
    guarded.fastapi = app  # type: ignore[attr-defined]
    return guarded


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Detail, "description": "Missing or wrong bearer token"},
    404: {"model": Detail, "description": "Unknown model name"},
    503: {"model": Detail, "description": "The model is loading; retry after Retry-After seconds"},
}


def _add_model_routes(app: FastAPI, state: ServeState, schema: Schema, served: str, options: ServeOptions) -> None:
    """``POST /v1/models/{name}:predict`` and ``GET /v1/models/{name}``."""
    # A default value, not Annotated: annotations are strings here and could not see this local.
    name_param = Path(description="The model name", json_schema_extra={"enum": [served]})

    def refusal(name: str) -> Response | None:
        if name != served:
            return _detail(404, f"model {name!r} not found; this server serves {served!r}")
        if not state.serving:
            return _detail(503, f"not ready: {state.reason()}; retry shortly", {"Retry-After": "1"})
        return None

    @app.post(
        "/v1/models/{name}:predict", response_model=PredictResponse,
        responses={**_ERRORS, 413: {"model": Detail, "description": "Request body or instance count too large"},
                   429: {"model": Detail, "description": "Queue full; retry after Retry-After seconds"},
                   504: {"model": Detail, "description": "Past the per-request timeout"}},
        openapi_extra={"requestBody": {"required": True,
                                       "content": {"application/json": {"schema": request_body_schema(schema)}}}},
    )
    async def predict(request: Request, name: str = name_param) -> Response:
        """Predict labels (or values, or class probabilities) for each instance."""
        return await respond(name, await request.body())

    async def respond(name: str, body: bytes) -> Response:
        refused = refusal(name)
        if refused is not None:
            return refused
        try:
            return await asyncio.wait_for(_answer(app, schema, options, body), options.timeout_s)
        except asyncio.TimeoutError:
            return _detail(504, f"the request took longer than {options.timeout_s:g} s (--timeout-s)")

    # The served model's predict route, answered by the guard in front of FastAPI once it has read
    # the body: the same function as the route above, without FastAPI's per-request routing,
    # request object and response machinery (~0.1 ms a request, most of a one-row prediction).
    app.state.fast_routes = {f"/v1/models/{served}:predict": functools.partial(respond, served)}

    @app.get("/v1/models/{name}", response_model=ModelInfo, responses=_ERRORS)
    async def describe(name: str = name_param) -> Any:
        """The model's inputs, task, classes and chosen candidate."""
        refused = refusal(name)
        return refused if refused is not None else _model_info(state.model, name)


async def _answer(app: FastAPI, schema: Schema, options: ServeOptions, body: bytes) -> Response:
    """Decode, predict and encode one request; the caller bounds the whole by the timeout."""
    try:
        if len(body) <= _DECODE_INLINE_BYTES:
            decoded = decode_request(body, schema, max_instances=options.max_instances)
        else:  # an executor future, unlike a threadpool call, can be abandoned at the timeout
            decoded = await asyncio.get_running_loop().run_in_executor(
                None, functools.partial(decode_request, body, schema, max_instances=options.max_instances))
        outputs = await app.state.batcher.submit(decoded.rows)
    except RequestError as exc:
        return _detail(413, exc.errors[0]["msg"]) if exc.status == 413 else _problems(exc.errors)
    except QueueFullError:
        return _detail(429, "too many requests waiting; retry shortly", {"Retry-After": "1"})
    except InputError as exc:  # the model refused this request's rows (e.g. a value it cannot encode)
        return _problems([{"loc": ["body", "instances"], "msg": str(exc), "type": "value_error"}])
    unusable = _non_finite(outputs)
    if unusable:  # e.g. a value of 1e38 overflows the model: a bad request, not a server error
        return _problems([
            {"loc": ["body", "instances", i], "msg": "the model's output is not finite for this instance; its "
             "values are far outside what the model was trained on", "type": "value_error"} for i in unusable])
    return JSONResponse(_encode(decoded, outputs, schema))


def _add_probes(app: FastAPI, state: ServeState, metrics: ServeMetrics) -> None:
    """``/healthz``, ``/readyz`` and ``/metrics``."""

    @app.get("/healthz", response_model=Detail)
    async def healthz() -> Any:
        """The process is up (the model may still be loading)."""
        return {"detail": "ok"}

    @app.get("/readyz", response_model=Detail, responses={503: {"model": Detail, "description": "Not ready"}})
    async def readyz() -> Any:
        """Ready for traffic: 503 while starting, loading the model or shutting down."""
        return {"detail": "ready"} if state.ready else _detail(503, state.reason())

    @app.get("/metrics", responses={200: {"content": {"text/plain": {}}, "description": "Prometheus metrics"},
                                    401: _ERRORS[401]})
    async def prometheus() -> Response:
        """Prometheus metrics: request counts and latency by route, rows per model call, queue depth."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


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


def _predict_rows(model: Any, schema: Schema, rows: list[Any], metrics: ServeMetrics | None = None) -> list[Any]:
    """One model call on validated rows: per row, (label, probabilities) or a value. Categories not
    seen in training are counted into ``metrics`` (``lepton_unseen_categories_total{column}``)."""
    if schema.modality == "tabular":
        X: Any = Records(list(rows))  # the inference plan reads records as they are (no DataFrame)
    elif schema.modality == "text":
        X = pd.DataFrame.from_records(rows, columns=[c.name for c in schema.columns])
    else:
        X = np.stack(rows)
    data = Dataset(X=X, y=None, schema=schema, source="request")
    unseen: dict[str, int] = {}
    if schema.task == "classification":
        proba = model.predict_proba(data, unseen=unseen)
        labels = model.labels(proba)  # the chosen model's decision threshold, as predict applies it
        out: list[Any] = list(zip(labels.tolist(), proba.tolist(), strict=True))
    else:
        out = np.asarray(model.predict(data, unseen=unseen), dtype=np.float64).tolist()
    if metrics is not None:
        for column, n in unseen.items():
            if n:
                metrics.unseen_categories.labels(column=column).inc(n)
    return out


def _non_finite(outputs: list[Any]) -> list[int]:
    """Positions of rows whose value or probabilities are NaN or infinite."""
    values = [out[1] if isinstance(out, tuple) else [out] for out in outputs]
    return [i for i, row in enumerate(values) if not np.isfinite(np.asarray(row, dtype=np.float64)).all()]


def _encode(decoded: Decoded, outputs: list[Any], schema: Schema) -> dict[str, Any]:
    if schema.task != "classification":
        answer: dict[str, Any] = {"predictions": outputs}
    elif decoded.proba:
        answer = {"predictions": [proba for _, proba in outputs], "classes": list(schema.classes)}
    else:
        answer = {"predictions": [label for label, _ in outputs]}
    if decoded.ids is not None:  # the model's id column, as the instances gave it
        answer["ids"] = decoded.ids
    return answer


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
