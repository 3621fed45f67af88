"""Every row of a sampled table prepared into a row file, less the rows held out of the search."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest

from conftest import write_parquet_parts
from lepton_ai.data import load_data
from lepton_ai.data.dataset import Dataset
from lepton_ai.data.stream import row_draws
from lepton_ai.features.cache import prepare
from lepton_ai.features.streamed import RowFile, load_streamed, write_streamed
from lepton_ai.features.tabular import TabularPreparer


@pytest.fixture
def sampled(tmp_path):
    """A 12,000-row table sampled for a search (train, dev) with a test part held out of it."""
    expected = write_parquet_parts(tmp_path / "t", 12_000, n_files=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        train, dev, test = load_data(tmp_path / "t", memory="3MB", split=(0.7, 0.15, 0.15))
    assert train.streamed is not None and len(train) < 6_000
    preparer = TabularPreparer(train.schema).fit(train)
    return expected, train, dev, test, preparer


def test_every_row_but_the_held_out_ones_is_prepared_as_prepare_does(tmp_path, sampled):
    expected, train, dev, test, preparer = sampled
    written = write_streamed(preparer, train, dev, "codes", tmp_path / "rows", max_rows=10**9)
    assert written.n_table_rows == 12_000
    # Held out: the sampled rows that are neither train nor dev (the test part, duplicates dropped).
    assert written.n_held_out >= len(test)
    assert written.n_rows == 12_000 - written.n_held_out
    rows = load_streamed(written.directory, prepare(preparer, train, "codes"))
    kept = np.setdiff1d(np.arange(12_000), np.setdiff1d(
        np.flatnonzero(row_draws(0, 12_000, train.streamed.seed) < train.streamed.fraction),
        np.union1d(train.streamed.positions, dev.streamed.positions)))
    assert not np.isin(test.streamed.positions, kept).any()
    rest = Dataset(X=expected.iloc[kept].reset_index(drop=True), y=expected["label"].to_numpy()[kept],
                   schema=train.schema)
    again = prepare(preparer, rest, "codes")
    np.testing.assert_array_equal(rows.X[0:len(rows.X)], again.X.astype(np.float32))
    np.testing.assert_array_equal(rows.y, again.y)


def test_the_rows_are_capped_by_the_lowest_draws(tmp_path, sampled):
    _, train, dev, _, preparer = sampled
    written = write_streamed(preparer, train, dev, "codes", tmp_path / "rows", max_rows=3_000)
    assert 2_000 < written.n_rows <= 3_000


def test_a_pass_stopped_by_its_deadline_keeps_the_rows_it_read(tmp_path, sampled):
    _, train, dev, _, preparer = sampled
    written = write_streamed(preparer, train, dev, "codes", tmp_path / "rows", max_rows=10**9, deadline=0.0)
    assert 0 < written.n_rows < 12_000 and (written.directory / "meta.json").is_file()


def test_a_failed_pass_leaves_nothing_behind(tmp_path, sampled, monkeypatch):
    _, train, dev, _, preparer = sampled
    (tmp_path / "rows").mkdir()
    (tmp_path / "rows" / "meta.json").write_text("{}")  # an earlier entry stays as it was

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("lepton_ai.features.streamed.prepare", broken)
    with pytest.raises(OSError, match="disk full"):
        write_streamed(preparer, train, dev, "codes", tmp_path / "rows", max_rows=10**9, apart=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows", "t"]
    assert (tmp_path / "rows" / "meta.json").read_text() == "{}"


def test_a_row_file_reads_slices_and_rows_and_pickles(tmp_path):
    values = np.arange(60, dtype=np.float32).reshape(20, 3)
    (tmp_path / "X.f32").write_bytes(values.tobytes())
    rows = RowFile(tmp_path / "X.f32", 20, 3)
    np.testing.assert_array_equal(rows[5:9], values[5:9])
    np.testing.assert_array_equal(rows[-1], values[-1])
    assert len(rows) == 20 and rows[18:40].shape == (2, 3)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(rows))[0:2], values[0:2])
    with pytest.raises(IndexError):
        rows[20]
