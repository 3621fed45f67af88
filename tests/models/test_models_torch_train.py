"""The shared training loop: one-cycle schedule, deadline, precision, checkpoints and resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.models.base import Budget
from lepton_ai.models.checks import synthetic_data
from lepton_ai.models.families.mlp import MLPFamily
from lepton_ai.models.neural.checkpoint import CHECKPOINT_STATE
from lepton_ai.models.neural.torch_train import OneCycle, _PrecisionProbe, resolve_precision


@pytest.fixture(scope="module")
def data():
    return (synthetic_data(MLPFamily, "classification", 200, seed=0),
            synthetic_data(MLPFamily, "classification", 60, seed=1))


def _mlp(**params) -> MLPFamily:
    return MLPFamily(**{"width": 8, "depth": 1, "batch_size": 32, "patience": 1000, **params})


def test_one_cycle_warms_up_then_anneals() -> None:
    schedule = OneCycle(1e-2, planned=100, warmup_share=0.3)
    rates = []
    for _ in range(100):
        rates.append(schedule.lr())
        schedule.step_count += 1
    assert rates[0] == pytest.approx(1e-2 / 25)
    assert max(rates) == pytest.approx(1e-2, rel=1e-3) and int(np.argmax(rates)) == 30
    assert rates[-1] < 1e-4 and schedule.done()


def test_one_cycle_fits_to_the_steps_left_within_the_plan() -> None:
    schedule = OneCycle(1e-2, planned=100)
    schedule.step_count = 40
    schedule.fit_to(10)
    assert schedule.total == 50
    schedule.fit_to(0)    # at least one more step
    assert schedule.total == 41
    schedule.fit_to(500)  # never past the plan
    assert schedule.total == 100


def test_a_deadline_ends_a_long_plan_with_a_usable_model(data) -> None:
    train, dev = data
    model = _mlp(epochs=100_000, batch_size=8).fit(train, dev, budget=Budget(deadline=time.monotonic() + 0.5))
    assert 1 <= model.epochs_run_ < 100_000
    assert model.predict_proba(dev.X).shape == (60, 3)


def test_history_rows_carry_losses_and_the_dev_metric(data) -> None:
    train, dev = data
    model = _mlp(epochs=3).fit(train, dev)
    assert [sorted(row) for row in model.history_] == [["dev_loss", "dev_metric", "epoch", "train_loss"]] * 3
    assert all(0.0 <= row["dev_metric"] <= 1.0 for row in model.history_)


def test_each_epoch_is_passed_to_the_budgets_on_epoch(data) -> None:
    train, dev = data
    records: list[dict] = []
    model = _mlp(epochs=3).fit(train, dev, budget=Budget(on_epoch=records.append))
    assert [(r["epoch"], r["n_epochs"]) for r in records] == [(1, 3), (2, 3), (3, 3)]
    assert [r["dev_loss"] for r in records] == pytest.approx([h["dev_loss"] for h in model.history_])
    assert model.fit_report().length == 3 and list(model.fit_report().history) == model.history_


def test_precision_auto_measures_only_where_the_cpu_has_bf16() -> None:
    import torch

    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    native = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    assert resolve_precision("auto", cpu) == ("measure" if native else "fp32")


@pytest.mark.parametrize(("bf16_s", "fp32_s", "keeps_bf16"), [(0.1, 0.2, True), (0.1, 0.105, False), (0.3, 0.1, False)])
def test_the_precision_probe_keeps_bf16_only_when_clearly_faster(bf16_s: float, fp32_s: float,
                                                                 keeps_bf16: bool) -> None:
    probe = _PrecisionProbe()
    modes, done = [], False
    while not done:
        modes.append(probe.bf16)
        slow_start = 10.0 if len(modes) % 5 in (1, 2) else 1.0  # warm-up steps are slow and not counted
        done = probe.record(slow_start * (bf16_s if modes[-1] else fp32_s), rows=64)
    assert modes == [False] * 5 + [True] * 5
    assert probe.bf16 is keeps_bf16


def test_the_precision_probe_skips_bf16_when_fp32_steps_are_already_fast() -> None:
    probe = _PrecisionProbe()
    steps = 0
    while not probe.record(0.002, rows=64):
        steps += 1
        assert not probe.bf16
    assert steps == 4 and probe.bf16 is False


def test_precision_auto_reports_what_training_ended_in(data) -> None:
    from lepton_ai.models.families.cnn import CNNFamily

    train = synthetic_data(CNNFamily, "classification", 200, seed=0)
    model = CNNFamily(width=4, depth=2, epochs=2, batch_size=16, precision="auto").fit(train)
    assert model.precision_ in ("fp32", "bf16")


def test_bf16_training_runs_and_predicts_in_float(data) -> None:
    from lepton_ai.models.families.cnn import CNNFamily

    train = synthetic_data(CNNFamily, "classification", 100, seed=0)
    model = CNNFamily(width=4, depth=2, epochs=2, batch_size=32, precision="bf16").fit(train)
    assert model.precision_ == "bf16"
    proba = model.predict_proba(train.X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)


def test_a_new_fit_resumes_from_the_checkpoint_and_continues_the_history(data, tmp_path) -> None:
    train, dev = data
    first = _mlp(epochs=2).fit(train, dev, budget=Budget(checkpoint_dir=str(tmp_path)))
    state = json.loads((tmp_path / CHECKPOINT_STATE).read_text())
    assert state["epoch"] == 2 and len(state["history"]) == 2
    resumed = _mlp(epochs=4).fit(train, dev, budget=Budget(checkpoint_dir=str(tmp_path)))
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]
    assert resumed.history_[:2] == first.history_
    assert json.loads((tmp_path / CHECKPOINT_STATE).read_text())["epoch"] == 4


def test_a_checkpoint_of_another_training_is_refused_naming_the_difference(data, tmp_path) -> None:
    train, dev = data
    _mlp(epochs=1).fit(train, dev, budget=Budget(checkpoint_dir=str(tmp_path)))
    with pytest.raises(ConfigError, match=r"another training \(param\.width: 8 there, 16 here\)"):
        _mlp(epochs=2, width=16).fit(train, dev, budget=Budget(checkpoint_dir=str(tmp_path)))


_TRAIN_SCRIPT = textwrap.dedent("""
    import sys, torch
    torch.set_num_threads(1)
    from lepton_ai.models.base import Budget
    from lepton_ai.models.checks import synthetic_data
    from lepton_ai.models.families.mlp import MLPFamily
    train = synthetic_data(MLPFamily, "classification", 3000, seed=0)
    dev = synthetic_data(MLPFamily, "classification", 300, seed=1)
    MLPFamily(width=256, depth=3, epochs=12, batch_size=16, patience=1000).fit(
        train, dev, budget=Budget(checkpoint_dir=sys.argv[1]))
""")


@pytest.mark.slow
def test_a_killed_training_resumes_from_its_last_epoch_as_if_never_stopped(tmp_path) -> None:
    import torch

    checkpoint = tmp_path / "checkpoint"
    script = tmp_path / "train.py"
    script.write_text(_TRAIN_SCRIPT)
    process = subprocess.Popen([sys.executable, str(script), str(checkpoint)], env={**os.environ})
    try:
        give_up = time.monotonic() + 120
        while not _epoch_at_least(checkpoint, 2) and process.poll() is None and time.monotonic() < give_up:
            time.sleep(0.05)
        assert process.poll() is None, "the training ended before it could be killed: make it longer"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    killed_at = json.loads((checkpoint / CHECKPOINT_STATE).read_text())["epoch"]
    assert 2 <= killed_at < 12

    torch.set_num_threads(1)
    train = synthetic_data(MLPFamily, "classification", 3000, seed=0)
    dev = synthetic_data(MLPFamily, "classification", 300, seed=1)
    params = {"width": 256, "depth": 3, "epochs": 12, "batch_size": 16, "patience": 1000}
    resumed = MLPFamily(**params).fit(train, dev, budget=Budget(checkpoint_dir=str(checkpoint)))
    assert [h["epoch"] for h in resumed.history_] == list(range(1, 13))
    straight = MLPFamily(**params).fit(train, dev)
    # Model, optimiser, schedule and RNG state all came back: the same weights as a run never killed.
    np.testing.assert_array_equal(resumed.predict_proba(dev.X), straight.predict_proba(dev.X))


def _epoch_at_least(checkpoint: Path, epoch: int) -> bool:
    try:
        return json.loads((checkpoint / CHECKPOINT_STATE).read_text())["epoch"] >= epoch
    except (FileNotFoundError, json.JSONDecodeError):
        return False


def test_warm_up_trains_every_layer_kind_and_restores_the_thread_count() -> None:
    import torch

    from lepton_ai.models.neural.torch_train import warm_up

    before = torch.get_num_threads()
    warm_up()
    assert torch.get_num_threads() == before
