"""The worker server: an executor uses the server it is handed; a process shares one, replaced when it dies."""

from __future__ import annotations

import queue
import time

from lepton_ai.engine.executor import LocalExecutor
from lepton_ai.engine.worker import TrialSpec
from lepton_ai.engine.worker_server import WorkerServer, shared_worker_server


class FakeServer:
    """Records what an executor asks of its server; never forks, so no trial has a pid to signal."""

    def __init__(self) -> None:
        self.submitted: list[dict] = []
        self.cancelled: list[str] = []

    def submit(self, key: str, request: dict, events: queue.Queue) -> None:
        self.submitted.append(request)

    def cancel(self, key: str) -> None:
        self.cancelled.append(key)

    def exit_code(self) -> int | None:
        return 3  # the server died: the executor must see it through the server it was given


def _spec(tmp_path, trial_id: str) -> TrialSpec:
    return TrialSpec(trial_id=trial_id, index=0, family="linear", params={}, data_dir=str(tmp_path),
                     output_dir=str(tmp_path / trial_id), deadline=time.time() + 60)


def test_an_executor_runs_its_trials_on_the_server_it_was_given(tmp_path):
    server = FakeServer()
    executor = LocalExecutor(1, work_dir=tmp_path, server=server)  # type: ignore[arg-type]
    executor.start(_spec(tmp_path, "t000"), kill_at=time.time() + 60)
    assert [r["spec"]["trial_id"] for r in server.submitted] == ["t000"]
    ended = executor.poll(0.01)  # this server has died: its trials end, and the server it holds says why
    assert [o.trial_id for o in ended] == ["t000"] and "worker server exited with code 3" in ended[0].trial.error
    assert len(server.cancelled) == 1  # never forked: the server that holds it is asked to drop it


def test_searches_in_one_process_share_one_live_server():
    first = shared_worker_server()
    assert isinstance(first, WorkerServer) and first.alive()
    assert shared_worker_server() is first
