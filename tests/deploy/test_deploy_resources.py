"""The resource formula, on manifests with known figures: each term of the docstring's formula is checked."""

from __future__ import annotations

import pytest

from lepton_ai.deploy.resources import MIN_CPU_MILLI, REQUEST_CPU_MS, SERVE_BASE_BYTES, estimate_resources
from lepton_ai.errors import ArtifactError, ConfigError

MIB = 2**20


def _manifest(*trials: dict, chosen: str = "t000", kept: tuple[str, ...] = ("t000",)) -> dict:
    return {"chosen": chosen, "models": {k: "gbdt" for k in kept}, "trials": list(trials)}


def _trial(trial_id: str = "t000", *, size: int = 10 * MIB, peak: int = 200 * MIB, p50: float = 2.0,
           threads: int = 1) -> dict:
    return {"trial_id": trial_id, "size_bytes": size, "peak_memory_bytes": peak, "latency_p50_ms": p50,
            "n_threads": threads}


def test_memory_request_is_the_server_base_plus_twice_the_model():
    r = estimate_resources(_manifest(_trial(size=10 * MIB)), target_rps=10)
    assert r.memory_request_bytes == SERVE_BASE_BYTES + 20 * MIB
    assert r.memory_limit_bytes == 2 * r.memory_request_bytes
    assert r.kubernetes()["requests"]["memory"] == f"{(SERVE_BASE_BYTES + 20 * MIB) // MIB}Mi"


def test_memory_limit_is_at_least_the_measured_peak():
    r = estimate_resources(_manifest(_trial(size=MIB, peak=3000 * MIB)), target_rps=10)
    assert r.memory_limit_bytes == 3000 * MIB


def test_every_kept_model_counts_toward_memory():
    trials = (_trial("t000", size=10 * MIB), _trial("t001", size=30 * MIB), _trial("t002", size=999 * MIB))
    r = estimate_resources(_manifest(*trials, kept=("t000", "t001")), target_rps=10)
    assert r.model_bytes == 40 * MIB  # t002 is not in the folder, so not loaded
    assert r.memory_request_bytes == SERVE_BASE_BYTES + 80 * MIB


def test_memory_rounds_up_to_whole_mib():
    r = estimate_resources(_manifest(_trial(size=1)), target_rps=10)
    assert r.memory_request_bytes == SERVE_BASE_BYTES + MIB


def test_cpu_request_is_requests_per_second_times_cpu_ms_per_request():
    r = estimate_resources(_manifest(_trial(p50=2.0, threads=2)), target_rps=100)
    assert r.cpu_request_milli == round(100 * (REQUEST_CPU_MS + 2.0 * 2))
    assert r.cpu_limit_milli == max(1000, 2 * r.cpu_request_milli, 2000)


def test_cpu_limit_covers_the_model_threads():
    r = estimate_resources(_manifest(_trial(p50=0.01, threads=4)), target_rps=1)
    assert r.cpu_request_milli == MIN_CPU_MILLI
    assert r.cpu_limit_milli == 4000


def test_a_slow_model_asks_for_more_cpu():
    fast = estimate_resources(_manifest(_trial(p50=0.1)), target_rps=200)
    slow = estimate_resources(_manifest(_trial(p50=20.0)), target_rps=200)
    assert slow.cpu_request_milli > 5 * fast.cpu_request_milli


@pytest.mark.parametrize("rps", [0, -1, float("nan"), float("inf"), "10"])
def test_a_bad_target_rps_is_named(rps):
    with pytest.raises(ConfigError, match="--target-rps must be a number > 0"):
        estimate_resources(_manifest(_trial()), target_rps=rps)


def test_a_manifest_without_the_chosen_trial_is_an_artifact_error():
    with pytest.raises(ArtifactError, match="chosen trial"):
        estimate_resources(_manifest(_trial("t001"), kept=("t001",)), target_rps=10)
