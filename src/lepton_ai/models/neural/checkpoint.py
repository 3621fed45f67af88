"""Training checkpoints: the state after an epoch, written atomically, read back to resume.

A checkpoint directory holds ``state.json`` (epoch, schedule step, history, early-stopping state,
optimizer hyper-parameters and a fingerprint of the training) and ``tensors.safetensors`` (model,
best-so-far and optimizer tensors, RNG states). No pickle. Each save builds a fresh directory and
renames it over the old one (:func:`lepton_ai.files.atomic_directory`), so a process killed
mid-save leaves the previous epoch's checkpoint intact.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...files import atomic_directory, load_arrays, save_arrays

__all__ = ["Checkpoint", "CHECKPOINT_STATE"]

CHECKPOINT_STATE = "state.json"
_TENSORS = "tensors.safetensors"
_FORMAT = 1


class Checkpoint:
    """The checkpoint in ``directory`` of the training identified by ``fingerprint`` (plain JSON)."""

    def __init__(self, directory: Path, fingerprint: dict[str, Any]) -> None:
        self.directory = Path(directory)
        self.fingerprint = json.loads(json.dumps(fingerprint, default=str))

    def save(self, epoch: int, net: Any, optimizer: Any, schedule: Any, generator: Any, progress: Any) -> None:
        """Write the state after ``epoch`` (1-based), replacing the previous checkpoint."""
        import torch

        tensors = {f"model/{k}": v for k, v in net.state_dict().items()}
        if progress.best_state is not None:
            tensors.update({f"best/{k}": v for k, v in progress.best_state.items()})
        optim = optimizer.state_dict()
        for index, values in optim["state"].items():
            tensors.update({f"optim/{index}/{name}": value for name, value in values.items()})
        tensors["rng/torch"] = torch.get_rng_state()
        tensors["rng/generator"] = generator.get_state()
        if torch.cuda.is_available():
            tensors["rng/cuda"] = torch.cuda.get_rng_state()
        state = {
            "format": _FORMAT, "fingerprint": self.fingerprint, "epoch": epoch, "step": schedule.step_count,
            "history": progress.history, "stale": progress.stale,
            "best_loss": None if math.isinf(progress.best_loss) else progress.best_loss,
            "param_groups": optim["param_groups"],
        }
        arrays = {k: v.detach().cpu().contiguous().numpy() for k, v in tensors.items()}
        if self.directory.is_dir() and not any(self.directory.iterdir()):
            self.directory.rmdir()  # an empty directory given for the checkpoints: nothing to keep
        with atomic_directory(self.directory, replace_if=CHECKPOINT_STATE) as tmp:
            save_arrays(tmp / _TENSORS, arrays)
            (tmp / CHECKPOINT_STATE).write_text(json.dumps(state))

    def restore(self, net: Any, optimizer: Any, schedule: Any, generator: Any, progress: Any) -> int:
        """Load the checkpoint into the given objects; return its epoch (0 when there is none)."""
        import torch

        path = self.directory / CHECKPOINT_STATE
        if not path.is_file():
            return 0
        state = json.loads(path.read_text())
        if state.get("format") != _FORMAT or state.get("fingerprint") != self.fingerprint:
            raise ConfigError(
                f"{self.directory}: holds the checkpoint of another training ({_difference(state, self.fingerprint)})"
                "; give another checkpoint directory or delete this one.")
        arrays = load_arrays(self.directory / _TENSORS)
        tensors = {k: torch.from_numpy(np.array(v)) for k, v in arrays.items()}
        net.load_state_dict(_prefixed(tensors, "model/"))
        optimizer.load_state_dict({"state": _optimizer_state(tensors), "param_groups": state["param_groups"]})
        torch.set_rng_state(tensors["rng/torch"])
        generator.set_state(tensors["rng/generator"])
        if "rng/cuda" in tensors and torch.cuda.is_available():
            torch.cuda.set_rng_state(tensors["rng/cuda"])
        schedule.step_count = int(state["step"])
        progress.history = list(state["history"])
        progress.stale = int(state["stale"])
        progress.best_loss = math.inf if state["best_loss"] is None else float(state["best_loss"])
        best = _prefixed(tensors, "best/")
        progress.best_state = best or None
        return int(state["epoch"])


def _prefixed(tensors: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _optimizer_state(tensors: dict[str, Any]) -> dict[int, dict[str, Any]]:
    state: dict[int, dict[str, Any]] = {}
    for key, value in _prefixed(tensors, "optim/").items():
        index, name = key.split("/", 1)
        state.setdefault(int(index), {})[name] = value
    return state


def _difference(state: dict[str, Any], fingerprint: dict[str, Any]) -> str:
    theirs = state.get("fingerprint") or {}
    keys = sorted(k for k in set(theirs) | set(fingerprint) if theirs.get(k) != fingerprint.get(k))
    return ", ".join(f"{k}: {theirs.get(k)!r} there, {fingerprint.get(k)!r} here" for k in keys) or "other format"
