"""Faults a trial can have, each recorded on the trial while the rest of the search goes on."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from lepton_ai import SinglePointTechnique
from lepton_ai.models.families.linear import LinearFamily
from lepton_ai.models.registry import FAMILIES


class HangFamily(LinearFamily):
    """Ignores its deadline and never returns."""

    name = "hang"

    def fit(self, train, dev=None, *, budget=None):
        while True:
            time.sleep(0.05)


class HogFamily(LinearFamily):
    """Allocates memory until something stops it."""

    name = "hog"

    def fit(self, train, dev=None, *, budget=None):
        blocks = []
        for _ in range(200):
            blocks.append(np.ones(64 * 2**20 // 8))  # 64 MiB, touched
            time.sleep(0.01)
        return super().fit(train, dev, budget=budget)


class SegfaultFamily(LinearFamily):
    """Dies by a signal, as a crashing native library would."""

    name = "segv"

    def fit(self, train, dev=None, *, budget=None):
        os.kill(os.getpid(), signal.SIGSEGV)


@pytest.fixture
def faulty(monkeypatch):
    for cls in (HangFamily, HogFamily, SegfaultFamily):
        monkeypatch.setitem(FAMILIES, cls.name, cls)


def _by_family(result):
    return {t.family: t for t in result.trials}


def test_a_hanging_trial_is_killed_at_the_deadline_and_the_others_finish(faulty, table):
    engine = SinglePointTechnique(budget="4s", families=["hang", "linear"], workers=2, max_trials=4)
    started = time.monotonic()
    result = engine.search(table, label="species")
    assert time.monotonic() - started < 4 + 3
    hung = [t for t in result.trials if t.family == "hang"]
    assert hung and all(t.status == "failed" and ("timed out" in t.error or "end of the budget" in t.error)
                        for t in hung)
    assert any(t.ok for t in result.trials if t.family == "linear")


def test_a_trial_past_its_memory_share_is_killed(faulty, table):
    engine = SinglePointTechnique(budget="30s", families=["hog", "linear"], workers=2, memory_gb=4.0, max_trials=3)
    result = engine.search(table, label="species")
    hog = _by_family(result)["hog"]
    assert hog.status == "failed" and "exceeded its memory share" in hog.error
    assert _by_family(result)["linear"].ok


def test_a_worker_killed_by_a_signal_is_recorded(faulty, table):
    result = SinglePointTechnique(budget="20s", families=["segv", "linear"], max_trials=4).search(
        table, label="species")
    crashed = [t for t in result.trials if t.family == "segv"]
    assert crashed and all(t.status == "failed" and "SIGSEGV" in t.error for t in crashed)
    assert any(t.ok for t in result.trials if t.family == "linear")


def test_inline_executor_runs_in_this_process(table):
    result = SinglePointTechnique(budget="10s", families=["linear"], cluster="inline", max_trials=2).search(
        table, label="species")
    assert [t.status for t in result.trials] == ["ok", "ok"]


class TorchProbeFamily(LinearFamily):
    """Fails with a message saying whether its worker process has torch imported."""

    name = "torchprobe"

    def fit(self, train, dev=None, *, budget=None):
        import sys

        raise RuntimeError(f"torch imported: {'torch' in sys.modules}")


class NeuralTorchProbeFamily(TorchProbeFamily):
    name = "torchprobe-neural"
    preload = ("torch",)


def test_only_families_that_preload_torch_run_in_the_worker_server_that_has_it(monkeypatch, table):
    for cls in (TorchProbeFamily, NeuralTorchProbeFamily):
        monkeypatch.setitem(FAMILIES, cls.name, cls)
    result = SinglePointTechnique(budget="10s", families=["torchprobe", "torchprobe-neural", "linear"],
                                  max_trials=3).search(table, label="species")
    errors = {t.family: t.error for t in result.trials if not t.ok}
    assert "torch imported: False" in errors["torchprobe"]
    assert "torch imported: True" in errors["torchprobe-neural"]
    assert any(t.ok for t in result.trials if t.family == "linear")


class NanFamily(LinearFamily):
    """Trains, then outputs NaN, as a user's module with a bad forward would."""

    name = "nan"

    def _raw_predict(self, X):
        out = super()._raw_predict(X)
        return np.full_like(out, np.nan)


def test_a_model_whose_outputs_are_not_finite_fails_and_is_never_chosen(monkeypatch, table):
    monkeypatch.setitem(FAMILIES, NanFamily.name, NanFamily)
    engine = SinglePointTechnique(budget="6s", families=["nan", "linear"], workers=1, max_trials=2, refit=False)
    result = engine.search(table, label="species")
    nan = _by_family(result)["nan"]
    assert nan.status == "failed" and "not finite" in nan.error and nan.dev_metric is None
    assert all(t.family != "nan" for t in result.trials if t.ok)
