"""Worker servers and their trials die with the process that started them, even on ``kill -9``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from conftest import processes_with, survivors

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


@pytest.mark.slow
def test_kill_9_of_a_search_leaves_no_worker_running(tmp_path) -> None:
    marker = f"LEPTON_TEST_MARKER={uuid.uuid4().hex}"
    script = textwrap.dedent("""
        from sklearn.datasets import make_classification
        import pandas as pd
        from lepton_ai import LeptonModel
        X, y = make_classification(n_samples=6000, n_features=40, random_state=0)
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(40)]).assign(label=y)
        LeptonModel(budget="120s", families="gbdt,mlp", verbose=0).train(frame, label="label")
    """)
    env = {**os.environ, "LEPTON_HOME": str(tmp_path), marker.split("=")[0]: marker.split("=")[1]}
    search = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        # The search process, the light server, the heavy (torch) server and at least one trial.
        while len(processes_with(marker)) < 4 and time.monotonic() < deadline and search.poll() is None:
            time.sleep(0.2)
        workers = [p for p in processes_with(marker) if p != search.pid]
        assert len(workers) >= 3, "the search never had its servers and a trial running"
    finally:
        search.send_signal(signal.SIGKILL)
        search.wait()
    assert survivors(marker) == []
