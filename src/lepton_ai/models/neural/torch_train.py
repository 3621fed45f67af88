"""The one training loop of every neural family (MLP, CNN, RNN, 1D-CNN, a user's own module).

Fast on a small CPU node: the whole split lives in memory as tensors and batches are index
gathers (no per-sample loader); AdamW with a one-cycle learning-rate schedule; bf16 autocast where
it is faster (``precision="auto"``: on a CPU with native bf16, AMX / AVX512-BF16, the first training
steps are timed in fp32 and, when worth it, in bf16, and the faster one kept; on a GPU, bf16); label
smoothing; early stopping
on the dev loss with the best weights restored. The deadline is checked after every batch, and the
schedule is fitted to it: once the step time is known, the one-cycle schedule is shortened so the
learning rate anneals before the deadline instead of being cut off at its peak. With a checkpoint
directory, the state after every epoch is written atomically and a new fit resumes from it.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ...errors import ConfigError
from ..base import Budget
from .checkpoint import Checkpoint
from .epochs import epoch_record

__all__ = ["TrainSettings", "TrainOutcome", "OneCycle", "train_network", "select_device", "resolve_precision",
           "Augment", "PRECISIONS", "warm_up"]

Precision = Literal["fp32", "bf16", "auto"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
Augment = Any  # Callable[[torch.Tensor (batch, n_features), torch.Generator], torch.Tensor]
_EVAL_CHUNK = 2048       # rows per forward pass when scoring dev
_PLAN_AFTER_STEPS = 8    # steps timed before the schedule is fitted to the deadline
_SKIPPED_STEPS = 3       # the first steps build kernels (oneDNN primitives): not representative


@dataclass(frozen=True)
class TrainSettings:
    """How a network trains. ``owner`` names the family in error messages."""

    epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float
    patience: int
    label_smoothing: float = 0.0
    precision: Precision = "fp32"
    warmup_share: float = 0.3
    owner: str = "model"


@dataclass
class TrainOutcome:
    """What training left besides the weights: one history row per epoch and the precision used."""

    history: list[dict[str, float]]
    epochs_run: int
    precision: str
    device: str


class OneCycle:
    """One-cycle learning rate (cosine warm-up to ``max_lr``, cosine anneal to ``max_lr / 25e4``).

    ``total`` may shrink while training (a deadline) but never exceeds ``planned``; the state is
    two plain integers, so a checkpoint holds it as JSON.
    """

    def __init__(self, max_lr: float, planned: int, warmup_share: float = 0.3) -> None:
        self.max_lr, self.planned, self.warmup_share = max_lr, max(1, planned), warmup_share
        self.total = self.planned
        self.step_count = 0

    def lr(self) -> float:
        start, end = self.max_lr / 25, self.max_lr / 25e4
        warm = max(1.0, self.warmup_share * self.total)
        if self.step_count < warm:
            return start + (self.max_lr - start) * (1 - math.cos(math.pi * self.step_count / warm)) / 2
        progress = min(1.0, (self.step_count - warm) / max(1.0, self.total - warm))
        return end + (self.max_lr - end) * (1 + math.cos(math.pi * progress)) / 2

    def apply(self, optimizer: Any) -> None:
        rate = self.lr()
        for group in optimizer.param_groups:
            group["lr"] = rate

    def done(self) -> bool:
        return self.step_count >= self.total

    def fit_to(self, steps_left: int) -> None:
        """Plan ``steps_left`` more steps (at least one, at most the planned total)."""
        self.total = int(min(self.planned, max(self.step_count + 1, self.step_count + steps_left)))


@dataclass
class _Progress:
    history: list[dict[str, float]] = field(default_factory=list)
    best_loss: float = math.inf
    best_state: dict[str, Any] | None = None
    stale: int = 0


def select_device() -> Any:
    """The first CUDA device when there is one, else the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_precision(precision: str, device: Any) -> str:
    """``auto`` → ``measure`` on a CPU with native bf16 (whether it is faster depends on the model: a
    mid-sized CNN trains ~1.3x faster, a tiny 1D-CNN pays more for bf16 kernels than it saves), bf16
    on a GPU that has it, else fp32."""
    import torch

    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    native = any(bool(getattr(torch.cpu, probe, lambda: False)()) for probe in probes)
    return "measure" if native else "fp32"


def warm_up() -> None:
    """One tiny training step of each layer kind the families use, fp32 and bf16, on one thread.

    The first step in a process initialises torch's kernels (about 0.9 s on the reference node, more
    than a small network's whole training). A fork server that calls this before forking hands every
    trial an initialised torch. One thread: no OpenMP pool exists at the fork, so children can start
    their own with any thread count.
    """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        image = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Dropout(0.1), nn.Linear(16, 2))
        image = image.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        series = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1, bias=False), nn.BatchNorm1d(4), nn.ReLU(), nn.Flatten(),
                               nn.Linear(16, 2))
        recurrent = nn.ModuleList([nn.LSTM(2, 4, batch_first=True), nn.GRU(2, 4, batch_first=True), nn.Linear(8, 2)])
        table = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.GELU(), nn.Linear(4, 2))
        parameters = [*image.parameters(), *series.parameters(), *recurrent.parameters(), *table.parameters()]
        optimizer = torch.optim.AdamW(parameters)
        target = torch.tensor([0, 1, 0, 1])
        for bf16 in (False, True):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                steps = torch.randn(4, 4, 2)
                outs = [image(torch.randn(4, 1, 4, 4).contiguous(memory_format=torch.channels_last)),
                        series(torch.randn(4, 2, 4)), table(torch.randn(4, 3)),
                        recurrent[2](torch.cat([recurrent[0](steps)[0][:, -1], recurrent[1](steps)[0][:, -1]], 1))]
            loss = sum(F.cross_entropy(out.float(), target, label_smoothing=0.1) for out in outs)
            optimizer.zero_grad()
            loss.backward()  # type: ignore[union-attr]
            optimizer.step()
    finally:
        torch.set_num_threads(threads)


def train_network(net: Any, X: np.ndarray, y: np.ndarray, dev: tuple[np.ndarray, np.ndarray] | None, *,
                  task: str, n_outputs: int, settings: TrainSettings, budget: Budget,
                  augment: Augment | None = None, fingerprint: dict[str, Any] | None = None,
                  weight: np.ndarray | None = None) -> TrainOutcome:
    """Train ``net`` in place and leave it on the CPU in eval mode with the best dev weights.

    ``X``: (n_rows, n_features) float32; ``y``: class indices, or standardised float targets for
    regression (one output column). ``dev``: the same for early stopping, or ``None`` (then the
    training loss decides). ``augment`` transforms each training batch. ``fingerprint`` identifies
    the training in a checkpoint directory (``budget.checkpoint_dir``); a checkpoint of another
    training there is refused. ``weight``: one sample weight per training row; each row's loss is
    multiplied by its weight over the mean weight (the dev loss that stops early is unweighted).
    """
    import torch

    device = select_device()
    # A deterministic fit never lets a timing decide the precision (the bf16 probe measures speed).
    wanted = "fp32" if budget.deterministic and settings.precision in ("auto", "measure") else settings.precision
    precision = resolve_precision(wanted, device)
    net.to(device)
    data = _Tensors(X, y, dev, task, device, weight)
    optimizer = torch.optim.AdamW(net.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    steps_per_epoch = _steps_per_epoch(len(X), settings.batch_size)
    epochs = min(settings.epochs, budget.max_epochs or settings.epochs)
    schedule = OneCycle(settings.learning_rate, epochs * steps_per_epoch, settings.warmup_share)
    generator = torch.Generator().manual_seed(budget.seed)
    progress = _Progress()
    checkpoint = Checkpoint(Path(budget.checkpoint_dir), fingerprint or {}) if budget.checkpoint_dir else None
    epoch = checkpoint.restore(net, optimizer, schedule, generator, progress) if checkpoint else 0
    loop = _Loop(net, optimizer, schedule, data, settings, budget, precision, n_outputs, augment, generator)
    while epoch < epochs and not schedule.done() and progress.stale < settings.patience:
        train_loss, cut = loop.epoch()
        overhead_start = time.perf_counter()
        dev_loss, dev_metric = loop.evaluate() if data.dev is not None else (train_loss, None)
        epoch += 1
        row = {"epoch": epoch, "train_loss": train_loss, "dev_loss": dev_loss}
        if dev_metric is not None:
            row["dev_metric"] = dev_metric
        progress.history.append(row)
        if dev_loss < progress.best_loss - 1e-6:
            progress.best_loss, progress.stale = dev_loss, 0
            progress.best_state = copy.deepcopy(net.state_dict())
        else:
            progress.stale += 1
        if budget.on_epoch is not None:
            budget.on_epoch(epoch_record(epoch, epochs, train_loss=train_loss, dev_loss=dev_loss,
                                         dev_metric=dev_metric))
        if checkpoint is not None:
            checkpoint.save(epoch, net, optimizer, schedule, generator, progress)
        loop.overhead_s = time.perf_counter() - overhead_start
        if cut or budget.expired():
            break
    if progress.best_state is not None:
        net.load_state_dict(progress.best_state)
    net.cpu().eval()
    return TrainOutcome(history=progress.history, epochs_run=len(progress.history), precision=loop.precision,
                        device=str(device))


class _Tensors:
    """The splits as tensors on the training device (targets as int64 or float32)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, dev: tuple[np.ndarray, np.ndarray] | None, task: str,
                 device: Any, weight: np.ndarray | None = None) -> None:
        import torch

        self.X, self.y = self._pair(X, y, task, device)
        self.weight = None
        if weight is not None and float(np.mean(weight)) > 0:  # relative weights: the learning rate keeps its scale
            relative = np.asarray(weight, dtype=np.float32) / np.float32(np.mean(weight))
            self.weight = torch.from_numpy(relative).to(device)
        self.dev = self._pair(*dev, task, device) if dev is not None and len(dev[1]) else None
        self.task = task

    @staticmethod
    def _pair(X: np.ndarray, y: np.ndarray, task: str, device: Any) -> tuple[Any, Any]:
        import torch

        features = np.ascontiguousarray(X, dtype=np.float32)
        if not features.flags.writeable:  # a memory-mapped cache entry: torch wants its own buffer
            features = features.copy()
        dtype = np.int64 if task == "classification" else np.float32
        targets = np.array(y, dtype=dtype)
        return torch.from_numpy(features).to(device), torch.from_numpy(targets).to(device)


class _Loop:
    """One epoch at a time: batches, loss, optimiser and schedule steps, deadline checks."""

    def __init__(self, net: Any, optimizer: Any, schedule: OneCycle, data: _Tensors, settings: TrainSettings,
                 budget: Budget, precision: str, n_outputs: int, augment: Augment | None, generator: Any) -> None:
        self.net, self.optimizer, self.schedule, self.data = net, optimizer, schedule, data
        self.settings, self.budget, self.augment, self.generator = settings, budget, augment, generator
        self.bf16 = precision == "bf16"
        self.probe = _PrecisionProbe() if precision == "measure" else None
        self.n_outputs = n_outputs
        self.checked_output = False
        self.steps = 0               # in this process (a resumed fit starts again at 0)
        self.timed_s = 0.0           # seconds of the timed steps (augmentation included)
        self.overhead_s = 0.0        # dev scoring and checkpoint of the last epoch

    def epoch(self) -> tuple[float, bool]:
        """Train one pass over the rows; returns the mean loss and whether it was cut short."""
        import torch

        self.net.train()
        X, y = self.data.X, self.data.y
        order = torch.randperm(len(X), generator=self.generator).to(X.device)
        size = self.settings.batch_size
        total, seen, cut = 0.0, 0, False
        for start in range(0, len(X), size):
            batch = order[start : start + size]
            if len(batch) < 2 and start > 0:  # a lone row: BatchNorm cannot train on it
                break
            began = time.perf_counter()
            xb = X[batch]
            if self.augment is not None:
                xb = self.augment(xb, self.generator)
            if self.probe is not None:
                self.bf16 = self.probe.bf16
            loss = self._step(xb, y[batch], None if self.data.weight is None else self.data.weight[batch])
            step_s = time.perf_counter() - began
            if self.probe is not None and self.probe.record(step_s, len(batch)):
                self.bf16, self.probe = self.probe.bf16, None
            self._plan(step_s)
            total += loss * len(batch)
            seen += len(batch)
            if self.schedule.done() or self.budget.expired():
                cut = True
                break
        return total / max(seen, 1), cut

    @property
    def precision(self) -> str:
        """The precision training ended in (decided by the probe when it measured)."""
        return "bf16" if self.bf16 else "fp32"

    def _step(self, xb: Any, yb: Any, wb: Any = None) -> float:
        import torch

        self.schedule.apply(self.optimizer)
        with torch.autocast(xb.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            out = self.net(xb)
        if not self.checked_output:
            _check_output(out, len(xb), self.n_outputs, self.settings.owner)
            self.checked_output = True
        loss = self._loss(out.float(), yb, self.settings.label_smoothing, wb)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.schedule.step_count += 1
        return float(loss.detach())

    def _loss(self, out: Any, target: Any, smoothing: float, weight: Any = None) -> Any:
        import torch.nn.functional as F

        reduction = "mean" if weight is None else "none"
        if self.data.task == "classification":
            loss = F.cross_entropy(out, target, label_smoothing=smoothing, reduction=reduction)
        else:
            loss = F.mse_loss(out[:, 0], target, reduction=reduction)
        return loss if weight is None else (loss * weight).mean()

    def _plan(self, step_s: float) -> None:
        """Fit the schedule to the deadline from the measured step time (after a few warm-up steps)."""
        self.steps += 1
        timed = self.steps - _SKIPPED_STEPS
        if self.budget.deadline is None or timed <= 0:
            return
        self.timed_s += step_s
        if timed < _PLAN_AFTER_STEPS or self.steps % 4:
            return
        mean_step_s = self.timed_s / timed
        per_epoch = _steps_per_epoch(len(self.data.X), self.settings.batch_size)
        # Before the first epoch ends, guess dev scoring at a third of a step per batch of dev rows.
        n_dev = len(self.data.dev[0]) if self.data.dev is not None else 0
        overhead = self.overhead_s or mean_step_s * n_dev / (3 * self.settings.batch_size)
        remaining = self.budget.remaining_s() * 0.97 - overhead
        self.schedule.fit_to(int(remaining / (mean_step_s + overhead / per_epoch)))

    def evaluate(self) -> tuple[float, float]:
        """Dev loss (no label smoothing) and dev metric: accuracy, or R² of standardised targets."""
        import torch

        assert self.data.dev is not None
        X, y = self.data.dev
        self.net.eval()
        with torch.inference_mode(), torch.autocast(X.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            out = torch.cat([self.net(X[i : i + _EVAL_CHUNK]).float() for i in range(0, len(X), _EVAL_CHUNK)])
        loss = float(self._loss(out, y, 0.0))
        if self.data.task == "classification":
            return loss, float((out.argmax(dim=1) == y).float().mean())
        spread = float(((y - y.mean()) ** 2).mean())
        return loss, 1.0 - loss / spread if spread > 0 else 0.0


class _PrecisionProbe:
    """Times training steps in fp32, then, when a step is slow enough for bf16 to pay for building its
    kernels (a tiny network's bf16 warm-up costs more than it ever saves), in bf16; keeps bf16 only
    when it is clearly faster per row. The probe steps are ordinary training steps."""

    _STEPS = 5       # per precision, the first _WARMUP of them untimed (kernel creation)
    _WARMUP = 2
    _WORTH_S = 0.01  # fp32 steps faster than this stay fp32 without trying bf16
    _MARGIN = 0.9    # bf16 must save 10%: fp32 is the exact one

    def __init__(self) -> None:
        self.index = 0
        self.seconds_per_row: dict[bool, list[float]] = {True: [], False: []}
        self.fp32_step_s = float("inf")
        self.choice: bool | None = None

    @property
    def bf16(self) -> bool:
        return self.choice if self.choice is not None else self.index >= self._STEPS

    def record(self, step_s: float, rows: int) -> bool:
        """Record the step just taken; True once the choice is made (then read ``bf16``)."""
        mode = self.bf16
        if self.index % self._STEPS >= self._WARMUP:
            self.seconds_per_row[mode].append(step_s / max(rows, 1))
            if not mode:
                self.fp32_step_s = min(self.fp32_step_s, step_s)
        self.index += 1
        if self.index == self._STEPS and self.fp32_step_s < self._WORTH_S:
            self.choice = False
        elif self.index == 2 * self._STEPS:
            bf16, fp32 = (min(self.seconds_per_row[m]) for m in (True, False))
            self.choice = bf16 < self._MARGIN * fp32
        return self.choice is not None


def _steps_per_epoch(n_rows: int, batch_size: int) -> int:
    full, rest = divmod(n_rows, batch_size)
    return max(1, full + (1 if rest >= 2 or full == 0 else 0))


def _check_output(out: Any, n_rows: int, n_outputs: int, owner: str) -> None:
    if tuple(out.shape) != (n_rows, n_outputs):
        what = f"one column per class ({n_outputs})" if n_outputs > 1 else "one column for the target"
        raise ConfigError(f"{owner}: the network returned outputs of shape {tuple(out.shape)} for a batch of "
                          f"{n_rows} rows; expected ({n_rows}, {n_outputs}), {what}. Make its last layer "
                          f"return n_outputs={n_outputs} values per row.")
