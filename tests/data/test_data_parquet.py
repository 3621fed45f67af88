"""Parquet folders as Spark writes them: partitions as typed columns, markers skipped, drift and corrupt files named."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lepton_ai import LeptonModel
from lepton_ai.data import load_data
from lepton_ai.errors import DataError

_DATES = ("2026-01-01", "2026-01-02")


def _part(folder: Path, table: pa.Table, index: int = 0) -> Path:
    """One part file with its hidden checksum, named as Spark names them."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"part-{index:05d}-6f1c2a9e-0c4b-4a8e-9f00-1d2e3f4a5b6c.c000.snappy.parquet"
    pq.write_table(table, folder / name, compression="snappy")
    (folder / f".{name}.crc").write_bytes(b"crc\x00\x01")
    return folder / name


def _rows(rng: np.random.Generator, n: int, region: str) -> pa.Table:
    x = rng.normal(size=n)
    label = np.where(x + (1.0 if region == "north" else -1.0) > 0, "yes", "no")
    return pa.table({"x": x, "z": rng.integers(0, 9, size=n), "label": label})


def spark_folder(root: Path, n: int = 20) -> Path:
    """year=/dt=/region= partitions, _SUCCESS, .crc files and a _temporary folder of a dead task attempt."""
    rng = np.random.default_rng(0)
    for year in (2025, 2026):
        for dt in _DATES:
            for region in ("north", "south"):
                _part(root / f"year={year}" / f"dt={dt}" / f"region={region}", _rows(rng, n, region))
    (root / "_SUCCESS").write_bytes(b"")
    attempt = root / "_temporary" / "0" / "_temporary" / "attempt_202601010000_0001_m_000000_0"
    attempt.mkdir(parents=True)
    (attempt / "part-00000.snappy.parquet").write_bytes(b"half-written")  # corrupt: read, it would fail
    return root


@pytest.fixture
def spark(tmp_path) -> Path:
    return spark_folder(tmp_path / "sales")


# ---- the Spark layout ----------------------------------------------------------------------------
def test_spark_folder_loads_as_one_table(spark):
    data = load_data(spark, label="label", split=None, drop_duplicates=False)
    assert len(data) == 2 * 2 * 2 * 20
    assert data.schema.modality == "tabular"
    assert data.schema.feature_names == ["x", "z", "year", "dt", "region"]


def test_fixture_writes_snappy_part_files(spark):
    files = sorted(spark.rglob("part-*.snappy.parquet"))
    real = [f for f in files if "_temporary" not in f.parts]
    assert len(real) == 8
    assert pq.ParquetFile(real[0]).metadata.row_group(0).column(0).compression == "SNAPPY"


def test_partition_columns_keep_their_types(spark):
    data = load_data(spark, label="label", split=None, drop_duplicates=False)
    kinds = {c.name: c.kind for c in data.schema.columns}
    assert kinds["year"] == "numeric" and pd.api.types.is_integer_dtype(data.X["year"])
    assert set(data.X["year"]) == {2025, 2026}
    assert kinds["region"] == "categorical" and isinstance(data.X["region"].dtype, pd.CategoricalDtype)
    assert kinds["dt"] == "date"
    assert set(data.X["dt"]) == {datetime.date(2026, 1, 1), datetime.date(2026, 1, 2)}


def test_a_string_partition_that_is_not_a_real_date_stays_a_category(tmp_path):
    rng = np.random.default_rng(1)
    for dt in ("2026-13-01", "2026-01-01"):
        _part(tmp_path / "d" / f"dt={dt}", _rows(rng, 10, "north"))
    data = load_data(tmp_path / "d", label="label", split=None)
    assert set(data.X["dt"].astype(str)) == {"2026-13-01", "2026-01-01"}
    assert isinstance(data.X["dt"].dtype, pd.CategoricalDtype)


def test_a_partition_column_can_be_the_label(tmp_path):
    rng = np.random.default_rng(2)
    for label in ("cat", "dog"):
        _part(tmp_path / "pets" / f"label={label}", pa.table({"x": rng.normal(size=15)}))
    data = load_data(tmp_path / "pets", split=None)
    assert data.schema.label == "label" and data.schema.classes == ("cat", "dog")


def test_widths_within_one_type_kind_are_unified(tmp_path):
    _part(tmp_path / "w", pa.table({"x": pa.array([1, 2, 3], pa.int32()), "label": ["a", "b", "a"]}), 0)
    _part(tmp_path / "w", pa.table({"x": pa.array([4, 5, 6], pa.int64()), "label": ["b", "a", "b"]}), 1)
    data = load_data(tmp_path / "w", split=None)
    assert sorted(data.X["x"]) == [1, 2, 3, 4, 5, 6]


# ---- drift and broken files ----------------------------------------------------------------------
def test_a_column_missing_from_one_file_is_named_with_both_files(tmp_path):
    first = _part(tmp_path / "d", pa.table({"x": [1.0, 2.0], "w": [1, 2], "label": ["a", "b"]}), 0)
    second = _part(tmp_path / "d", pa.table({"x": [3.0, 4.0], "label": ["a", "b"]}), 1)
    with pytest.raises(DataError, match="do not share one schema") as info:
        load_data(tmp_path / "d", split=None)
    message = str(info.value)
    assert f"{second.name} lacks column 'w' (int64 in {first.name})" in message


def test_a_column_of_another_type_is_named_with_both_types(tmp_path):
    _part(tmp_path / "d", pa.table({"x": [1.0, 2.0], "label": ["a", "b"]}), 0)
    second = _part(tmp_path / "d", pa.table({"x": ["1.0", "2.0"], "label": ["a", "b"]}), 1)
    with pytest.raises(DataError, match=rf"column 'x' is string in {second.name} but double in part-00000"):
        load_data(tmp_path / "d", split=None)


def test_an_extra_column_in_one_file_is_named(tmp_path):
    _part(tmp_path / "d", pa.table({"x": [1.0, 2.0], "label": ["a", "b"]}), 0)
    second = _part(tmp_path / "d", pa.table({"x": [1.0, 2.0], "v": [0.5, 0.5], "label": ["a", "b"]}), 1)
    with pytest.raises(DataError, match=rf"{second.name} has column 'v' \(double\) that part-00000"):
        load_data(tmp_path / "d", split=None)


def test_a_column_named_like_a_partition_folder_is_explained(tmp_path):
    for year in (2025, 2026):
        _part(tmp_path / "d" / f"year={year}", pa.table({"x": [1.0, 2.0], "year": [1, 2], "label": ["a", "b"]}))
    with pytest.raises(DataError, match=r"year.*has the name of a partition folder"):
        load_data(tmp_path / "d", split=None)


def test_a_corrupt_part_file_is_named(spark):
    bad = spark / "year=2026" / "dt=2026-01-02" / "region=south" / "part-00009.snappy.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=r"year=2026/dt=2026-01-02/region=south/part-00009\.snappy\.parquet"):
        load_data(spark, label="label", split=None)


def test_a_part_file_with_damaged_pages_is_named(tmp_path):
    _part(tmp_path / "d", pa.table({"x": np.arange(2000.0), "label": ["a", "b"] * 1000}), 0)
    path = _part(tmp_path / "d", pa.table({"x": np.arange(2000.0), "label": ["a", "b"] * 1000}), 1)
    raw = bytearray(path.read_bytes())
    raw[8:4000] = b"\xff" * (4000 - 8)  # the pages, not the footer: discovery succeeds, reading fails
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=rf"{path.name} cannot be read as Parquet"):
        load_data(tmp_path / "d", split=None)


def test_a_folder_of_files_with_no_rows_is_refused(tmp_path):
    _part(tmp_path / "d", pa.table({"x": pa.array([], pa.float64()), "label": pa.array([], pa.string())}))
    with pytest.raises(DataError, match=r"1 Parquet file\(s\) hold no rows"):
        load_data(tmp_path / "d", split=None)


# ---- prediction on the same layout ---------------------------------------------------------------
def test_predict_reads_the_spark_folder_and_a_glob(spark, tmp_path):
    model = LeptonModel(budget="10s", families="linear", max_trials=1, verbose=0).train(spark, label="label")
    from_folder = model.predict(spark)
    assert len(from_folder) == 160
    frame = load_data(spark, label="label", split=None, drop_duplicates=False).X
    assert list(model.predict(frame)) == list(from_folder)
    from_glob = model.predict(str(spark / "year=*" / "dt=*" / "region=*" / "part-*.parquet"))
    assert list(from_glob) == list(from_folder)
    assert model.test(spark) > 0.7
