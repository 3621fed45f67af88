"""Folders are read by what they hold; globs of Parquet or CSV files are one table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from lepton_ai.data import load_data
from lepton_ai.errors import DataError


def _frame(n: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n), "label": rng.choice(["a", "b"], size=n)})


# ---- what a folder holds -------------------------------------------------------------------------
def test_an_empty_folder_says_it_is_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: the folder holds no data file\. Expected Parquet files"):
        load_data(tmp_path / "empty", split=None)


def test_a_folder_with_only_spark_markers_names_them(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "_SUCCESS").write_bytes(b"")
    with pytest.raises(DataError, match=r"holds no data file \(skipped as Spark/Hadoop markers or hidden: _SUCCESS\)"):
        load_data(tmp_path / "out", split=None)


def test_a_folder_of_text_files_says_what_it_found(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    for name in ("a.txt", "b.txt", "c.md"):
        (notes / name).write_text("hello")
    with pytest.raises(DataError, match=r"only 3 other file\(s\) \(2 \.txt, 1 \.md\)") as info:
        load_data(notes, split=None)
    assert f"pass a glob such as '{notes}/*.csv'" in str(info.value)


def test_a_folder_of_csv_files_suggests_a_glob(tmp_path):
    (tmp_path / "logs").mkdir()
    _frame().to_csv(tmp_path / "logs" / "a.csv", index=False)
    with pytest.raises(DataError, match=r"1 \.csv.*pass a glob such as '.*logs/\*\.csv'"):
        load_data(tmp_path / "logs", split=None)


def test_a_folder_with_parquet_and_images_is_refused(tmp_path):
    mixed = tmp_path / "mixed"
    (mixed / "cat").mkdir(parents=True)
    Image.new("L", (4, 4)).save(mixed / "cat" / "0.png")
    _frame().to_parquet(mixed / "part-0.parquet")
    with pytest.raises(DataError, match=r"holds both Parquet files \(1\) and images \(1\)"):
        load_data(mixed, split=None)


def test_an_image_folder_is_still_an_image_folder(tmp_path):
    for label, value in (("cat", 0), ("dog", 255)):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for i in range(6):
            Image.new("L", (8, 8), color=(value + i * 3) % 256).save(tmp_path / "pets" / label / f"{i}.png")
    data = load_data(tmp_path / "pets", split=None)
    assert data.schema.modality == "image" and data.schema.classes == ("cat", "dog")


def test_hidden_and_underscore_parquet_files_are_skipped(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    _frame().to_parquet(folder / "part-0.parquet")
    (folder / ".part-0.parquet.crc").write_bytes(b"x")
    (folder / "_committed_123").write_text("{}")
    (folder / "_temporary").mkdir()
    (folder / "_temporary" / "part-9.parquet").write_bytes(b"broken")
    assert len(load_data(folder, split=None, drop_duplicates=False)) == 30


# ---- globs ---------------------------------------------------------------------------------------
def test_a_parquet_glob_reads_the_files_it_matches(tmp_path):
    for i in range(3):
        _frame(seed=i).to_parquet(tmp_path / f"part-{i}.parquet")
    _frame(seed=9).to_parquet(tmp_path / "other.parquet")
    data = load_data(str(tmp_path / "part-*.parquet"), split=None, drop_duplicates=False)
    assert len(data) == 90


def test_a_parquet_glob_reads_partitions_below_its_fixed_prefix(tmp_path):
    for region in ("north", "south"):
        folder = tmp_path / "d" / f"region={region}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(_frame(seed=len(region))), folder / "p.parquet")
    data = load_data(str(tmp_path / "d" / "*" / "*.parquet"), split=None, drop_duplicates=False)
    assert set(data.X["region"]) == {"north", "south"}


def test_a_csv_glob_stacks_the_files_it_matches(tmp_path):
    (tmp_path / "logs").mkdir()
    for month in ("2025-12", "2026-01", "2026-02"):
        _frame(seed=int(month[-2:])).to_csv(tmp_path / "logs" / f"{month}.csv", index=False)
    data = load_data(str(tmp_path / "logs" / "2026-*.csv"), split=None, drop_duplicates=False)
    assert len(data) == 60
    assert data.source == str(tmp_path / "logs" / "2026-*.csv")


def test_a_csv_glob_with_a_missing_column_names_the_file(tmp_path):
    _frame().to_csv(tmp_path / "a.csv", index=False)
    _frame().assign(extra=1).to_csv(tmp_path / "b.csv", index=False)
    _frame().drop(columns="x").to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(DataError, match=r"b\.csv has 'extra' that a\.csv lacks"):
        load_data(str(tmp_path / "[ab].csv"), split=None)
    with pytest.raises(DataError, match=r"c\.csv lacks 'x'"):
        load_data(str(tmp_path / "[ac].csv"), split=None)


def test_a_csv_glob_accepts_columns_in_another_order(tmp_path):
    _frame().to_csv(tmp_path / "a.csv", index=False)
    _frame(seed=1)[["label", "x"]].to_csv(tmp_path / "b.csv", index=False)
    data = load_data(str(tmp_path / "*.csv"), split=None, drop_duplicates=False)
    assert len(data) == 60 and data.schema.feature_names == ["x"]


def test_a_glob_that_matches_nothing_is_named(tmp_path):
    with pytest.raises(DataError, match=r"data/\*\.parquet: the pattern matches no file"):
        load_data(str(tmp_path / "data" / "*.parquet"), split=None)


def test_a_glob_of_mixed_kinds_is_refused(tmp_path):
    _frame().to_csv(tmp_path / "a.csv", index=False)
    _frame().to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match=r"files of several kinds \(1 \.csv, 1 \.parquet\)"):
        load_data(str(tmp_path / "*"), split=None)
