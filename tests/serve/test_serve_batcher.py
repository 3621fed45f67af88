"""The micro-batcher on its own, with a fake model and tiny waits: batching, waiting, queue limits,
who gets which rows, failures and cancellation. No HTTP."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from lepton_ai.serve.batcher import MicroBatcher, QueueFullError
from lepton_ai.serve.metrics import new_metrics


class FakeModel:
    """``predict(rows) -> ["out<row>", ...]`` that records every call; a negative row raises, and with
    ``gated`` every call waits for :meth:`release`; ``max_rows`` makes bigger batches fail whole."""

    def __init__(self, *, gated: bool = False, max_rows: int | None = None) -> None:
        self.calls: list[list[int]] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        if not gated:
            self.gate.set()
        self.max_rows = max_rows

    def __call__(self, rows: list[int]) -> list[str]:
        self.calls.append(list(rows))
        self.entered.set()
        if not self.gate.wait(timeout=5):
            raise RuntimeError("the test never released the model")
        if self.max_rows is not None and len(rows) > self.max_rows:
            raise RuntimeError(f"out of memory on {len(rows)} rows")
        if any(row < 0 for row in rows):
            raise ValueError(f"row {min(rows)} is negative")
        return [f"out{row}" for row in rows]

    def release(self) -> None:
        self.gate.set()


def _run(scenario):
    """Run ``scenario`` (a coroutine) with a hard stop, so a broken batcher fails instead of hanging."""
    return asyncio.run(asyncio.wait_for(scenario, timeout=10))


def _batcher(model, *, max_batch=100, max_wait_ms=0.0, max_queue=100):
    return MicroBatcher(model, max_batch=max_batch, max_wait_ms=max_wait_ms, max_queue=max_queue,
                        metrics=new_metrics())


async def _queue(batcher, *requests):
    """Submit each request as a task and let them all reach the queue (the caller bounds the wait)."""
    tasks = [asyncio.ensure_future(batcher.submit(rows)) for rows in requests]
    await asyncio.sleep(0)
    return tasks


async def _until(event: threading.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(0.001)


def test_queued_requests_share_calls_of_at_most_max_batch_rows():
    async def scenario():
        model = FakeModel()
        batcher = _batcher(model, max_batch=3)
        tasks = await _queue(batcher, *([i] for i in range(7)))
        batcher.start()
        results = await asyncio.gather(*tasks)
        await batcher.stop()
        return model.calls, results

    calls, results = _run(scenario())
    assert calls == [[0, 1, 2], [3, 4, 5], [6]]
    assert results == [[f"out{i}"] for i in range(7)]


def test_a_request_is_never_split_across_calls():
    async def scenario():
        model = FakeModel()
        batcher = _batcher(model, max_batch=2)
        tasks = await _queue(batcher, [1], [2, 3, 4], [5])
        batcher.start()
        results = await asyncio.gather(*tasks)
        await batcher.stop()
        return model.calls, results

    calls, results = _run(scenario())
    # The batch stops growing once it holds max_batch rows; the request that crosses it stays whole.
    assert calls == [[1, 2, 3, 4], [5]]
    assert results == [["out1"], ["out2", "out3", "out4"], ["out5"]]


def test_each_caller_gets_its_own_rows_in_order():
    async def scenario():
        model = FakeModel()
        batcher = _batcher(model)
        tasks = await _queue(batcher, [3, 1, 2], [9], [5, 4])
        batcher.start()
        results = await asyncio.gather(*tasks)
        await batcher.stop()
        return model.calls, results

    calls, results = _run(scenario())
    assert calls == [[3, 1, 2, 9, 5, 4]]
    assert results == [["out3", "out1", "out2"], ["out9"], ["out5", "out4"]]


def test_a_lone_request_runs_at_once():
    async def scenario():
        batcher = _batcher(FakeModel(), max_wait_ms=5_000)
        batcher.start()
        begun = time.monotonic()
        result = await asyncio.wait_for(batcher.submit([1]), 5.0)
        elapsed = time.monotonic() - begun
        await batcher.stop()
        return result, elapsed

    result, elapsed = _run(scenario())
    assert result == ["out1"] and elapsed < 1.0


def test_a_batch_with_company_waits_for_more_up_to_max_wait():
    async def scenario():
        model = FakeModel()
        batcher = _batcher(model, max_wait_ms=400)
        tasks = await _queue(batcher, [1], [2])
        batcher.start()
        await asyncio.sleep(0.02)
        tasks += await _queue(batcher, [3])     # arrives while the batch of two still waits
        await asyncio.gather(*tasks)
        await batcher.stop()
        return model.calls

    assert _run(scenario()) == [[1, 2, 3]]


def test_the_wait_for_company_ends_at_max_wait():
    async def scenario():
        model = FakeModel()
        batcher = _batcher(model, max_wait_ms=20)
        tasks = await _queue(batcher, [1], [2])
        batcher.start()
        await asyncio.sleep(0.3)
        tasks += await _queue(batcher, [3])
        await asyncio.gather(*tasks)
        await batcher.stop()
        return model.calls

    assert _run(scenario()) == [[1, 2], [3]]


def test_a_full_queue_refuses_at_once_and_serves_what_it_holds():
    async def scenario():
        batcher = _batcher(FakeModel(), max_queue=2)
        tasks = await _queue(batcher, [1], [2])
        with pytest.raises(QueueFullError):
            await asyncio.wait_for(batcher.submit([3]), 5.0)
        batcher.start()
        results = await asyncio.gather(*tasks)
        after = await asyncio.wait_for(batcher.submit([4]), 5.0)   # room again once the worker took them
        await batcher.stop()
        return results, after

    results, after = _run(scenario())
    assert results == [["out1"], ["out2"]] and after == ["out4"]


def test_a_failing_request_fails_alone():
    async def scenario():
        model = FakeModel()
        batcher = _batcher(model)
        tasks = await _queue(batcher, [1], [-1], [2, 3])
        batcher.start()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await batcher.stop()
        return model.calls, results

    calls, (good, bad, also_good) = _run(scenario())
    assert (good, also_good) == (["out1"], ["out2", "out3"])
    assert isinstance(bad, ValueError) and "row -1" in str(bad)
    assert calls == [[1, -1, 2, 3], [1], [-1], [2, 3]]   # the batch, then each request alone


def test_a_batch_that_fails_as_a_whole_still_answers_everyone():
    async def scenario():
        model = FakeModel(max_rows=2)
        batcher = _batcher(model)
        tasks = await _queue(batcher, [1], [2], [3])
        batcher.start()
        results = await asyncio.gather(*tasks)
        await batcher.stop()
        return model.calls, results

    calls, results = _run(scenario())
    assert results == [["out1"], ["out2"], ["out3"]]
    assert calls == [[1, 2, 3], [1], [2], [3]]


def test_a_request_that_timed_out_in_the_queue_is_not_computed():
    async def scenario():
        model = FakeModel(gated=True)
        batcher = _batcher(model)
        batcher.start()
        busy = await _queue(batcher, [0])
        await _until(model.entered)               # the model is busy with [0]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(batcher.submit([1]), 0.05)
        waiting = await _queue(batcher, [2])
        model.release()
        results = await asyncio.gather(*busy, *waiting)
        await batcher.stop()
        return model.calls, results

    calls, results = _run(scenario())
    assert results == [["out0"], ["out2"]]
    assert calls == [[0], [2]]


def test_a_caller_cancelled_while_its_batch_runs_leaves_the_others_their_results():
    async def scenario():
        model = FakeModel(gated=True)
        batcher = _batcher(model)
        gone, kept = await _queue(batcher, [1], [2])
        batcher.start()
        await _until(model.entered)               # both are in the model call now
        gone.cancel()
        model.release()
        result = await kept
        after = await asyncio.wait_for(batcher.submit([3]), 5.0)   # the worker lives on
        await batcher.stop()
        return model.calls, gone.cancelled(), result, after

    calls, cancelled, result, after = _run(scenario())
    assert cancelled and result == ["out2"] and after == ["out3"]
    assert calls == [[1, 2], [3]]


def test_stop_finishes_what_is_queued():
    async def scenario():
        model = FakeModel()
        batcher = _batcher(model, max_batch=2)
        tasks = await _queue(batcher, [1], [2], [3])
        batcher.start()
        await batcher.stop()
        return [t.done() and t.result() for t in tasks], batcher.task.done()

    results, worker_done = _run(scenario())
    assert results == [["out1"], ["out2"], ["out3"]] and worker_done
