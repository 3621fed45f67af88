"""Measuring a candidate as a user gets it: raw rows in, decoded labels out, the model alone beside it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lepton_ai.engine.measure as measure
from lepton_ai.data.load import build_dataset
from lepton_ai.data.split import split_dataset
from lepton_ai.engine.measure import measure_model
from lepton_ai.engine.result import predict_with
from lepton_ai.engine.worker import TrialSpec, run_trial
from lepton_ai.features.cache import RAW_ROWS, FeatureCache, load_raw_rows
from lepton_ai.models.families.linear import LinearFamily


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    from conftest import make_table

    train, dev = split_dataset(build_dataset(make_table(400), "species"), (0.75, 0.25), 0)
    return FeatureCache(tmp_path_factory.mktemp("cache")).get_or_prepare(train, dev), dev


@pytest.fixture(scope="module")
def fitted(prepared):
    data, _ = prepared
    train, dev = data.views["dense"]
    return LinearFamily(C=1.0).fit(train, dev), dev


def test_the_cache_keeps_the_first_dev_rows_as_records(prepared):
    data, dev = prepared
    rows = load_raw_rows(data.directory).rows
    assert rows == data.dev_rows and len(rows) == min(RAW_ROWS, len(dev))
    assert list(rows[0]) == list(dev.X.columns)
    gap = int(np.flatnonzero(dev.X["x2"].isna().to_numpy()[:RAW_ROWS])[0])
    assert rows[gap]["x2"] is None and isinstance(rows[0]["flag"], bool)


def test_end_to_end_timings_run_what_predict_runs_on_frames_and_records(prepared, fitted, tmp_path, monkeypatch):
    data, _ = prepared
    model, dev = fitted
    seen: list[type] = []

    def counted(model, preparer, rows):
        seen.append(type(rows))
        return predict_with(model, preparer, rows)

    monkeypatch.setattr(measure, "predict_with", counted)
    measured = measure_model(model, np.asarray(dev.X), save_to=tmp_path / "m", rows=data.raw_rows)
    assert {pd.DataFrame, dict} <= set(seen)
    # Preparing the row is extra work on top of the model: the end-to-end figures are larger.
    assert measured.latency_p50_ms > measured.model_p50_ms > 0
    assert measured.record_p50_ms is not None and measured.record_p50_ms > measured.model_p50_ms
    assert measured.latency_p99_ms >= measured.latency_p50_ms and measured.rows_per_s > 0
    assert measured.size_bytes > 0 and (tmp_path / "m" / "family.json").is_file()
    assert set(measured.breakdown()) == {"record_p50_ms", "model_p50_ms", "model_p99_ms"}


def test_predict_with_gives_the_labels_of_the_raw_rows(prepared, fitted):
    data, dev = prepared
    model, prepared_dev = fitted
    labels = predict_with(model, data.preparer, dev.X)
    expected = np.asarray(data.schema.classes)[model.predict(np.asarray(prepared_dev.X))]
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(predict_with(model, data.preparer, data.dev_rows), expected[:len(data.dev_rows)])


def test_arrays_are_timed_from_raw_array_rows(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(120, 4, 4), dtype=np.uint8)
    y = (X.reshape(120, -1).mean(axis=1) > 127).astype(int)
    train, dev = split_dataset(build_dataset((X, y)), (0.75, 0.25), 0)
    data = FeatureCache(tmp_path / "cache").get_or_prepare(train, dev)
    assert isinstance(data.dev_rows, np.ndarray) and data.dev_rows.dtype == np.uint8
    assert data.dev_rows.shape[1:] == (4, 4)
    part_train, part_dev = data.views["dense"]
    model = LinearFamily().fit(part_train, part_dev)
    measured = measure_model(model, np.asarray(part_dev.X), save_to=tmp_path / "m", rows=load_raw_rows(data.directory))
    assert measured.record_p50_ms is None and measured.latency_p50_ms > measured.model_p50_ms


def test_a_trial_records_end_to_end_and_model_only_figures(prepared, tmp_path):
    data, _ = prepared
    spec = TrialSpec(trial_id="t000", index=0, family="linear", params={"C": 1.0}, data_dir=str(data.directory),
                     output_dir=str(tmp_path / "t000"), deadline=time.time() + 60)
    record = run_trial(spec.to_json())
    assert record["status"] == "ok", record.get("error")
    assert record["latency_p50_ms"] > record["model_p50_ms"] > 0
    assert record["record_p50_ms"] > 0 and record["model_p99_ms"] >= record["model_p50_ms"]
    assert Path(spec.output_dir, "family.json").is_file()
