"""The guards in front of the app: bearer token, body size limit, and who may bind where.

``Guard`` is a plain ASGI middleware so that it sees the raw byte stream: it counts the bytes of
every body, chunked or not, and answers 413 as soon as the limit is passed, before the app parses
anything. It also answers 401 for a missing or wrong token (compared in constant time) and
records each request's status and latency in the metrics.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..errors import ConfigError
from .metrics import ServeMetrics

__all__ = ["Guard", "check_bind", "OPEN_PATHS"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Probes and the API description answer without a token.
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/openapi.json", "/docs/oauth2-redirect"})
# The docs page's script, stylesheet and icon (serve/docs.py) answer without a token too.
OPEN_PREFIXES = ("/docs/assets/",)


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if _is_loopback(host) or token:
        return
    raise ConfigError(f"--host {host} would expose the model beyond this machine without authentication. "
                      "Set LEPTON_TOKEN (clients then send 'Authorization: Bearer <token>'), or bind 127.0.0.1.")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Guard:
    """Token check, body limit and request metrics around ``app``.

    ``fast_routes``: POST paths the guard answers itself once the body is read and checked, by
    awaiting ``handler(body)`` for a Starlette response and sending its status, headers and body
    (the app's own handler for that route, without the app's routing around it).
    """

    def __init__(self, app: ASGIApp, *, token: str | None, max_body_bytes: int, metrics: ServeMetrics,
                 fast_routes: dict[str, Any] | None = None) -> None:
        self.app = app
        self.fast_routes = dict(fast_routes or {})
        self.token = token.encode() if token else None
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        route = _route(path)
        status = {"code": 500}
        start = time.perf_counter()

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self._guarded(scope, receive, send_recorded, path)
        finally:
            self.metrics.requests.labels(route=route, code=str(status["code"])).inc()
            self.metrics.latency.labels(route=route).observe(time.perf_counter() - start)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        if self.token is not None and not _open(path) and not self._authorised(scope):
            await _answer(send, 401, "missing or wrong bearer token", {"www-authenticate": "Bearer"})
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _answer(send, 413, f"request body of {declared} bytes exceeds the limit of {self.max_body_bytes}")
            return
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            body = await self._read_body(receive)
            if body is None:
                await _answer(send, 413, f"request body exceeds the limit of {self.max_body_bytes} bytes")
                return
            handler = self.fast_routes.get(path) if scope.get("method") == "POST" else None
            if handler is not None:
                response = await handler(body)
                await send({"type": "http.response.start", "status": response.status_code,
                            "headers": response.raw_headers})
                await send({"type": "http.response.body", "body": response.body})
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        assert self.token is not None
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, given = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.token)
        return False

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it passes the limit (chunked bodies included)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _route(path: str) -> str:
    """A bounded label for the metrics (never the raw path: clients choose paths)."""
    if path.startswith("/v1/models/"):
        return "predict" if path.endswith(":predict") else "model"
    name = path.strip("/")
    return name if name in ("healthz", "readyz", "metrics", "docs", "openapi.json") else "other"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the app the body read already, then the connection's own messages (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _open(path: str) -> bool:
    """Whether ``path`` answers without a token (probes, the API description and its page's assets)."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
