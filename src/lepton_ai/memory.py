"""Memory limits: what a user writes (``memory="4GB"``, ``--memory 512MiB``) and what the node has free.

The limit bounds the whole search (every process it starts): data estimated to need more is
streamed (``data.stream``), and worker processes share what is left. The default is what the
operating system says is available now (``MemAvailable``), lowered by a cgroup limit when the
process runs in a container that has one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import ConfigError

__all__ = ["parse_memory", "available_memory", "format_bytes"]

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


def parse_memory(value: str | int | float, name: str = "memory") -> int:
    """Bytes from ``value``: an int (bytes) or a text such as ``"4GB"``, ``"1.5 GiB"``, ``"800MB"``.

    GB and MB are powers of ten, GiB and MiB powers of two, as ``free --si`` and ``free`` print them.
    """
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a size such as '4GB' or a number of bytes. Got {value!r}.")
    if isinstance(value, (int, float)):
        size = float(value)
    else:
        match = _SIZE.match(str(value))
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in _UNITS:
            raise ConfigError(f"{name} must be a size such as '4GB', '512MiB' or a number of bytes. Got {value!r}.")
        size = float(match.group(1)) * _UNITS[unit]
    if not size >= 1:
        raise ConfigError(f"{name} must be at least one byte. Got {value!r}.")
    return int(size)


def available_memory() -> int:
    """Bytes this process tree may still use: ``MemAvailable``, or the cgroup's room when smaller."""
    free = _meminfo_available()
    room = _cgroup_room()
    candidates = [v for v in (free, room) if v]
    if candidates:
        return min(candidates)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        raise ConfigError("cannot tell how much memory this machine has; give memory= (CLI: --memory).") from None


def format_bytes(size: float) -> str:
    """``1.2 GB``, ``340 MB``: sizes in messages, in the units ``parse_memory`` reads."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size)} B"


def _meminfo_available() -> int | None:
    try:
        text = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    match = re.search(r"^MemAvailable:\s+(\d+)\s+kB", text, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


def _cgroup_room() -> int | None:
    """``memory.max - memory.current`` of this process's cgroup (v2), when it has a limit."""
    try:
        line = Path("/proc/self/cgroup").read_text().strip().splitlines()[0]
    except (OSError, IndexError):
        return None
    group = Path("/sys/fs/cgroup") / line.split("::", 1)[-1].lstrip("/")
    try:
        limit = (group / "memory.max").read_text().strip()
        current = int((group / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    if limit == "max":
        return None
    return max(0, int(limit) - current)
