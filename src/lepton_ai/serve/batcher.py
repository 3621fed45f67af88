"""Micro-batching: concurrent requests share one model call, run off the event loop.

Requests wait in a bounded queue. One worker takes the first and every request queued behind it;
when it found company it waits up to ``max_wait_ms`` for more (a lone request runs at once), up to
``max_batch`` rows, then runs the model once on all their rows in a thread and hands each request
its own slice. While the model runs, new requests queue up and form the next batch.
Requests are validated before they are queued, so a batch holds only well-formed rows; if the
model still fails on a batch, each request is run alone so that only the one at fault gets the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .metrics import ServeMetrics

__all__ = ["MicroBatcher", "QueueFullError"]


class QueueFullError(Exception):
    """The queue holds ``max_queue`` requests already."""


@dataclass
class _Pending:
    rows: list[Any]
    future: asyncio.Future[Any]
    queued_at: float = field(default_factory=time.monotonic)


class MicroBatcher:
    """Run ``predict(rows) -> list of outputs, one per row`` on batches gathered from concurrent requests."""

    def __init__(self, predict: Callable[[list[Any]], list[Any]], *, max_batch: int, max_wait_ms: float,
                 max_queue: int, metrics: ServeMetrics) -> None:
        self.predict = predict
        self.max_batch = max_batch
        self.max_wait_s = max_wait_ms / 1e3
        self.metrics = metrics
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=max_queue)
        # One thread: model calls run one at a time, and requests arriving meanwhile form the next batch.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lepton-predict")
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name="lepton-batcher")

    async def stop(self) -> None:
        """Finish what is queued, then stop the worker and its thread."""
        if self.task is not None:
            await self.queue.join()
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):  # the cancellation just asked for
                await self.task
        self.executor.shutdown(wait=True)

    async def submit(self, rows: list[Any]) -> list[Any]:
        """The outputs for ``rows``; raises QueueFullError. The caller bounds the wait (a timeout cancels it)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        try:
            self.queue.put_nowait(_Pending(rows, future))
        except asyncio.QueueFull:
            raise QueueFullError from None
        self.metrics.queue_depth.set(self.queue.qsize())
        # Cancelling this wait (the request's timeout) cancels the future; the worker then skips this entry.
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            n_rows = len(batch[0].rows)
            deadline = time.monotonic() + self.max_wait_s
            while n_rows < self.max_batch:
                # A lone request runs at once (no added latency at concurrency 1); when others are
                # queued with it, more are likely on their way, so the batch waits up to max_wait_ms.
                remaining = deadline - time.monotonic() if len(batch) > 1 else 0.0
                try:
                    item = self.queue.get_nowait() if remaining <= 0 or not self.queue.empty() else \
                        await asyncio.wait_for(self.queue.get(), remaining)
                except (asyncio.QueueEmpty, asyncio.TimeoutError):
                    break
                batch.append(item)
                n_rows += len(item.rows)
            self.metrics.queue_depth.set(self.queue.qsize())
            try:
                await self._serve(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _serve(self, batch: list[_Pending]) -> None:
        live = [p for p in batch if not p.future.done()]  # timed out while queued: nothing to compute
        if not live:
            return
        rows = [row for p in live for row in p.rows]
        self.metrics.batch_rows.observe(len(rows))
        loop = asyncio.get_running_loop()
        try:
            outputs = await loop.run_in_executor(self.executor, self.predict, rows)
        except Exception:  # a batch that fails as a whole: run each request alone to isolate the culprit
            for p in live:
                await self._serve_alone(p)
            return
        start = 0
        for p in live:
            if not p.future.done():
                p.future.set_result(outputs[start : start + len(p.rows)])
            start += len(p.rows)

    async def _serve_alone(self, pending: _Pending) -> None:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.executor, self.predict, pending.rows)
        except Exception as exc:  # this request's own failure, answered to it alone
            if not pending.future.done():
                pending.future.set_exception(exc)
            return
        if not pending.future.done():
            pending.future.set_result(result)
