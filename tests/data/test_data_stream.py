"""Parquet tables bigger than memory: sized from their footers, sampled by position, read in batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import write_parquet_parts
from lepton_ai.data import load_data
from lepton_ai.data.stream import open_stream, row_draws, sample_rows
from lepton_ai.errors import ConfigError, DataError


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "events"


def test_a_table_is_sized_without_being_read(folder):
    write_parquet_parts(folder, 10_000, n_files=4)
    stream = open_stream(folder)
    assert stream is not None and stream.n_rows == 10_000 and len(stream.files) == 4
    whole = load_data(folder, split=None, memory="10GB").X
    # The in-memory size per row, from the first rows, is what the whole table takes within a quarter.
    true = whole.memory_usage(deep=True, index=False).sum() / len(whole)
    assert 0.75 * true <= stream.bytes_per_row <= 1.35 * true


def test_other_sources_are_not_streamed(tmp_path, table_csv, table):
    assert open_stream(table_csv) is None and open_stream(table) is None and open_stream("iris") is None


def test_batches_are_every_row_in_order_with_typed_partitions(folder):
    expected = write_parquet_parts(folder, 3_000, n_files=3)
    stream = open_stream(folder)
    batches = list(stream.batches(batch_rows=700))
    firsts = [first for first, _ in batches]
    assert firsts == sorted(firsts) and firsts[0] == 0
    whole = pd.concat([frame for _, frame in batches], ignore_index=True)
    pd.testing.assert_frame_equal(whole[["a", "b", "label"]], expected[["a", "b", "label"]])
    assert all(isinstance(frame["region"].dtype, pd.CategoricalDtype) for _, frame in batches)


def test_draws_are_uniform_seeded_and_depend_on_the_position_alone():
    draws = row_draws(0, 200_000, seed=3)
    assert draws.min() >= 0 and draws.max() < 1 and abs(draws.mean() - 0.5) < 0.005
    np.testing.assert_array_equal(row_draws(1_000, 50, seed=3), draws[1_000:1_050])
    assert not np.array_equal(row_draws(0, 100, seed=4), draws[:100])
    # A smaller share is inside a larger one.
    assert set(np.flatnonzero(draws < 0.1)) <= set(np.flatnonzero(draws < 0.3))


def test_a_sample_holds_the_rows_at_its_positions(folder):
    expected = write_parquet_parts(folder, 5_000, n_files=4)
    frame, positions = sample_rows(open_stream(folder), 0.2, seed=0)
    assert 800 < len(frame) < 1_200
    np.testing.assert_array_equal(positions, np.flatnonzero(row_draws(0, 5_000, 0) < 0.2))
    np.testing.assert_array_equal(frame["a"].to_numpy(), expected["a"].to_numpy()[positions])
    assert isinstance(frame["region"].dtype, pd.CategoricalDtype)


def test_a_table_too_big_for_the_limit_is_sampled_with_a_warning(folder):
    write_parquet_parts(folder, 20_000, n_files=4)
    with pytest.warns(UserWarning, match=r"20,000 rows take about .* not read whole.*sample of about"):
        train, dev, test = load_data(folder, memory="8MB", split=(0.7, 0.15, 0.15))
    total = len(train) + len(dev) + len(test)
    assert 1_000 < total < 20_000
    every = np.concatenate([part.streamed.positions for part in (train, dev, test)])
    assert len(np.unique(every)) == total  # each sampled row in one part, named by its table position
    assert train.schema.label == "label" and "region" in train.schema.feature_names


def test_a_table_that_fits_is_read_whole(folder):
    write_parquet_parts(folder, 2_000, n_files=2)
    data = load_data(folder, split=None, memory="1GB")
    assert len(data) == 2_000 and data.streamed is None


def test_a_limit_smaller_than_any_model_can_use_is_refused_with_the_least_that_works(folder):
    write_parquet_parts(folder, 20_000, n_files=2)
    with pytest.raises(ConfigError, match=r"memory limit of 100 kB is smaller than any model can use.*at least"):
        load_data(folder, split=None, memory="100kB")


def test_a_file_that_breaks_half_way_through_the_pass_is_named(folder):
    write_parquet_parts(folder, 4_000, n_files=2, partitions=False)
    stream = open_stream(folder)
    broken = sorted(folder.glob("*.parquet"))[1]
    raw = bytearray(broken.read_bytes())
    raw[8:2000] = b"\xff" * (2000 - 8)  # its pages, not its footer: sized fine, broken when read
    broken.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=rf"{broken.name} cannot be read as Parquet"):
        list(stream.batches())


def test_a_broken_file_met_by_the_sampling_child_is_named_here(folder):
    write_parquet_parts(folder, 4_000, n_files=2, partitions=False)
    stream = open_stream(folder)
    broken = sorted(folder.glob("*.parquet"))[1]
    raw = bytearray(broken.read_bytes())
    raw[8:2000] = b"\xff" * (2000 - 8)
    broken.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=rf"{broken.name} cannot be read as Parquet"):
        sample_rows(stream, 0.5, seed=0)  # the pass runs in a child process; its DataError comes back as it was
