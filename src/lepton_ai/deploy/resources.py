"""CPU and memory for one serving replica, from what the model's manifest measured.

The formula (every input is in ``lepton.json``)::

    model_bytes    = sum of size_bytes over the models the folder keeps (the server loads them all,
                     so ``lepton select`` can switch without a reload)
    memory request = SERVE_BASE_BYTES + 2 * model_bytes          (weights, plus a copy while loading)
    memory limit   = max(2 * memory request, peak_memory_bytes)  (peak of the trials' worker processes,
                     which held the same libraries and models: a limit below what was seen would OOM-kill)
    CPU ms/request = REQUEST_CPU_MS + latency_p50_ms * n_threads (the chosen model, one row per call:
                     micro-batching only lowers it, so this is the conservative side)
    CPU request    = max(MIN_CPU_MILLI, target_rps * CPU ms/request) millicores
                     (a core gives 1000 CPU-ms a second, so millicores = requests/s x CPU-ms/request)
    CPU limit      = max(1000m, 2 * CPU request, n_threads cores)

Memory is rounded up to whole MiB, CPU to whole millicores.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..errors import ArtifactError, ConfigError

__all__ = ["Resources", "estimate_resources", "SERVE_BASE_BYTES", "REQUEST_CPU_MS", "MIN_CPU_MILLI"]

# `lepton serve` of a linear model on wine peaked at 253 MiB RSS here (Python, NumPy, pandas,
# scikit-learn, torch, FastAPI, uvicorn imported); the margin covers LightGBM and ONNX Runtime sessions.
SERVE_BASE_BYTES = 320 * 2**20
# CPU time of the server process per single-row predict request, outside the model: HTTP parsing,
# validation, preparation, JSON encoding. Measured at 3.5 ms on a busy 2-core machine.
REQUEST_CPU_MS = 3.0
# Below this a pod is throttled during start-up (imports and model load take a few CPU-seconds).
MIN_CPU_MILLI = 100
_MIB = 2**20


@dataclass(frozen=True)
class Resources:
    """Requests and limits for one replica, and the measured inputs they came from."""

    cpu_request_milli: int
    cpu_limit_milli: int
    memory_request_bytes: int
    memory_limit_bytes: int
    model_bytes: int
    peak_memory_bytes: int
    latency_p50_ms: float
    n_threads: int
    target_rps: float

    def kubernetes(self) -> dict[str, dict[str, str]]:
        """The ``resources`` block of a container spec."""
        return {"requests": {"cpu": f"{self.cpu_request_milli}m", "memory": f"{self.memory_request_bytes // _MIB}Mi"},
                "limits": {"cpu": f"{self.cpu_limit_milli}m", "memory": f"{self.memory_limit_bytes // _MIB}Mi"}}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def estimate_resources(manifest: dict[str, Any], *, target_rps: float) -> Resources:
    """Apply the module's formula to a model manifest for ``target_rps`` requests per second per replica."""
    if not (isinstance(target_rps, (int, float)) and math.isfinite(target_rps) and target_rps > 0):
        raise ConfigError(f"--target-rps must be a number > 0 (requests per second per replica). Got {target_rps!r}.")
    trials = {t.get("trial_id"): t for t in manifest.get("trials", []) if isinstance(t, dict)}
    kept = [trials[k] for k in manifest.get("models", {}) if k in trials]
    chosen = trials.get(manifest.get("chosen"))
    if chosen is None or not kept:
        raise ArtifactError("lepton.json: the chosen trial or the kept models are missing from 'trials'.")
    model_bytes = sum(_count(t, "size_bytes") for t in kept)
    peak = max(_count(t, "peak_memory_bytes") for t in kept)
    latency_ms = float(chosen.get("latency_p50_ms") or 0.0)
    n_threads = max(1, int(chosen.get("n_threads") or 1))
    memory_request = _round_mib(SERVE_BASE_BYTES + 2 * model_bytes)
    cpu_request = max(MIN_CPU_MILLI, math.ceil(target_rps * (REQUEST_CPU_MS + latency_ms * n_threads)))
    return Resources(
        cpu_request_milli=cpu_request,
        cpu_limit_milli=max(1000, 2 * cpu_request, 1000 * n_threads),
        memory_request_bytes=memory_request,
        memory_limit_bytes=_round_mib(max(2 * memory_request, peak)),
        model_bytes=model_bytes, peak_memory_bytes=peak, latency_p50_ms=latency_ms, n_threads=n_threads,
        target_rps=float(target_rps),
    )


def _count(trial: dict[str, Any], key: str) -> int:
    value = trial.get(key)
    return int(value) if isinstance(value, (int, float)) and value > 0 else 0


def _round_mib(n_bytes: int) -> int:
    return math.ceil(n_bytes / _MIB) * _MIB
