"""What this node has: cores, memory and GPUs, read from the operating system."""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass

__all__ = ["NodeResources", "detect_resources"]


@dataclass(frozen=True)
class NodeResources:
    """The cores this process may use, total memory in bytes, and the number of CUDA GPUs."""

    cores: int
    memory_bytes: int
    gpus: int


def detect_resources() -> NodeResources:
    """Read the node's resources; cores honour CPU affinity (containers, ``taskset``)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        memory = 0
    return NodeResources(cores=cores, memory_bytes=int(memory), gpus=_count_gpus())


def _count_gpus() -> int:
    """CUDA devices torch can use; without an NVIDIA device node, 0 without importing torch (~1 s)."""
    if not glob.glob("/dev/nvidia[0-9]*") and "torch" not in sys.modules:
        return 0
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0
