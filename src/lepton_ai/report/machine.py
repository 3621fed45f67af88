"""The machine a report was made on: CPU, cores, memory, GPUs, and the versions of the libraries that matter."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from .._version import installed_versions

__all__ = ["machine_info"]

_PACKAGES = ("lepton-ai", "numpy", "pandas", "scikit-learn", "lightgbm", "torch", "onnxruntime", "matplotlib")


def machine_info() -> dict[str, Any]:
    """CPU model, cores this process may use, memory, GPUs, OS, Python and package versions.

    Versions come from the installed distributions' metadata, so nothing heavy is imported.
    """
    from ..engine.resources import detect_resources

    resources = detect_resources()
    versions = installed_versions(_PACKAGES)
    return {
        "cpu": _cpu_model(), "cores": resources.cores, "memory_gb": resources.memory_bytes / 2**30,
        "gpus": resources.gpus, "os": platform.platform(), "python": platform.python_version(),
        "versions": versions,
    }


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:  # not Linux: platform.processor() below
        text = ""
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
