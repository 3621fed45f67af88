"""Bad files and unusual sources refused by ``load_data`` with messages naming the file or column."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from lepton_ai.data import load_data
from lepton_ai.errors import DataError, InputError, LeptonError


def _write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=r"nope\.csv: no such file"):
        load_data(path, label="y")


def test_missing_file_without_suffix_lists_bundled_names(tmp_path):
    with pytest.raises(DataError, match="Bundled datasets: .*wine"):
        load_data(str(tmp_path / "wines"), label="y")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        load_data(path, label="y")


def test_header_only_csv_is_refused(tmp_path):
    path = _write(tmp_path / "header.csv", "a,b,y\n")
    with pytest.raises(DataError, match=r"header\.csv: has a header \(a, b, y\) but no data rows"):
        load_data(path, label="y")


def test_blank_first_line_is_refused(tmp_path):
    path = _write(tmp_path / "blank.csv", "\n1,2,3\n")
    with pytest.raises(DataError, match=r"blank\.csv"):
        load_data(path, label="y")


def test_semicolon_file_read_as_csv_suggests_sep(tmp_path):
    path = _write(tmp_path / "semi.csv", "a;b;y\n1;2;0\n3;4;1\n5;6;0\n")
    with pytest.raises(DataError, match=r"semi\.csv: .*sep=';'"):
        load_data(path, label="y")


def test_semicolon_file_loads_with_sep(tmp_path):
    rows = "\n".join(f"{i};{i % 3};{i % 2}" for i in range(40))
    path = _write(tmp_path / "semi.csv", "a;b;y\n" + rows + "\n")
    data = load_data(path, label="y", sep=";", split=None)
    assert data.schema.feature_names == ["a", "b"]
    assert len(data) == 40


def test_non_utf8_bytes_name_the_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name,y\nabc,0\ncaf\xe9,1\n")
    with pytest.raises(DataError, match=r"latin\.csv: line 3 is not valid utf-8 \(byte 0xe9\).*encoding="):
        load_data(path, label="y")


def test_non_utf8_in_header_names_line_one(tmp_path):
    path = tmp_path / "head.csv"
    path.write_bytes(b"caf\xe9,y\n1,0\n2,1\n")
    with pytest.raises(DataError, match=r"head\.csv: line 1 is not valid utf-8"):
        load_data(path, label="y")


def test_latin1_file_loads_with_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"name,y\n" + b"".join(b"caf\xe9%d,%d\n" % (i % 4, i % 2) for i in range(20)))
    data = load_data(path, label="y", encoding="latin-1", split=None, drop_duplicates=False)
    assert str(data.X["name"].iloc[0]).startswith("caf\u00e9")


def test_label_column_absent_lists_columns(tmp_path):
    path = _write(tmp_path / "train.csv", "id,sepal_len,petal_len\n1,2,3\n4,5,6\n")
    with pytest.raises(
        DataError, match=r"train\.csv: label column 'species' not found\. Columns: id, sepal_len, petal_len"
    ):
        load_data(path, label="species")


def test_no_label_given_and_none_found(tmp_path):
    path = _write(tmp_path / "train.csv", "a,b\n1,2\n3,4\n")
    with pytest.raises(DataError, match=r"train\.csv: no label column given.*Columns: a, b"):
        load_data(path)


def test_duplicate_column_names_in_csv_header(tmp_path):
    path = _write(tmp_path / "dup.csv", "a,b,a,y\n1,2,3,0\n4,5,6,1\n")
    with pytest.raises(DataError, match=r"dup\.csv: column names repeat in the header: 'a'"):
        load_data(path, label="y")


def test_duplicate_column_names_in_dataframe():
    frame = pd.DataFrame([[1, 2, 0], [3, 4, 1]], columns=["a", "a", "y"])
    with pytest.raises(DataError, match=r"DataFrame: column names repeat: 'a'"):
        load_data(frame, label="y")


def test_dataframe_columns_that_repeat_once_made_strings():
    frame = pd.DataFrame([[1, 2, 0], [3, 4, 1]], columns=[1, "1", "y"])
    with pytest.raises(DataError, match="column names repeat: '1'"):
        load_data(frame, label="y")


@pytest.mark.parametrize("suffix", [".pkl", ".pt", ".joblib"])
def test_pickle_files_are_never_loaded(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(pickle.dumps({"x": [1, 2, 3]}))
    with pytest.raises(DataError, match=rf"model\{suffix}: .*never loads"):
        load_data(path)


def test_unsupported_suffix_lists_expected_types(tmp_path):
    path = _write(tmp_path / "data.xlsx", "not really")
    with pytest.raises(
        DataError, match=r"data\.xlsx: unsupported file type '\.xlsx'.*\.csv, \.tsv, \.parquet, \.npz"
    ):
        load_data(path)


def test_npz_with_object_arrays_is_refused(tmp_path):
    path = tmp_path / "obj.npz"
    np.savez(path, x=np.array([[1, "a"], [2, None]], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"obj\.npz: holds object arrays.*does not unpickle"):
        load_data(path)


def test_npz_without_x_names_the_arrays_it_holds(tmp_path):
    path = tmp_path / "noX.npz"
    np.savez(path, features=np.zeros((4, 2)), y=np.array([0, 1, 0, 1]))
    with pytest.raises(
        DataError, match=r"noX\.npz: expected an array named 'x'; the archive holds features, y"
    ):
        load_data(path)


def test_npz_without_y_asks_for_labels(tmp_path):
    path = tmp_path / "nolabels.npz"
    np.savez(path, x=np.zeros((4, 2)))
    with pytest.raises(DataError, match=r"nolabels\.npz: no labels were given"):
        load_data(path)


def test_corrupt_npz_is_a_data_error(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match=r"bad\.npz: cannot be read as a \.npz archive"):
        load_data(path)


def test_corrupt_parquet_is_a_data_error(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: cannot be read as Parquet"):
        load_data(path, label="y")


def test_unsupported_object_type():
    with pytest.raises(DataError, match="cannot load data from a dict"):
        load_data({"a": [1, 2]})


def test_empty_dataframe_is_refused():
    with pytest.raises(DataError, match="DataFrame: has no rows"):
        load_data(pd.DataFrame({"a": [], "y": []}), label="y")


def test_one_dimensional_x_suggests_reshape():
    with pytest.raises(DataError, match=r"X: expected a 2-D array.*reshape\(-1, 1\)"):
        load_data((np.arange(10.0), np.arange(10) % 2))


def test_errors_are_lepton_and_value_errors(tmp_path):
    with pytest.raises(ValueError) as info:
        load_data(tmp_path / "nope.csv")
    assert isinstance(info.value, InputError) and isinstance(info.value, LeptonError)


def test_comma_file_read_as_tsv_suggests_sep(tmp_path):
    path = _write(tmp_path / "commas.tsv", "a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"commas\.tsv: .*sep=','"):
        load_data(path, label="y")


def test_row_with_extra_fields_names_the_line(tmp_path):
    path = _write(tmp_path / "ragged.csv", "a,b,y\n1,2,0\n3,4,1\n5,6,7,8\n")
    with pytest.raises(DataError, match=r"ragged\.csv: line 4 has 4 fields, expected 3 \(the header's a, b, y\)"):
        load_data(path, label="y")


def test_short_row_is_refused_not_padded_with_missing_values(tmp_path):
    path = _write(tmp_path / "short.csv", "a,b,y\n1,2,0\n3,4\n5,6,1\n")
    with pytest.raises(DataError, match=r"short\.csv: line 3 has 2 fields, expected 3"):
        load_data(path, label="y")


def test_short_row_line_counts_blank_lines_and_quoted_newlines(tmp_path):
    # Line 4-5 is one row whose quoted value spans two lines; line 3 is blank; line 6 is short.
    path = _write(tmp_path / "multi.csv", 'a,b,y\n1,2,0\n\n"two\nlines",2,1\n3,4\n5,6,1\n')
    with pytest.raises(DataError, match=r"multi\.csv: line 6 has 2 fields, expected 3"):
        load_data(path, label="y")


def test_short_row_in_tsv_is_refused(tmp_path):
    path = _write(tmp_path / "short.tsv", "a\tb\ty\n1\t2\t0\n3\t4\t1\n5\n")
    with pytest.raises(DataError, match=r"short\.tsv: line 4 has 1 field, expected 3"):
        load_data(path, label="y")


def test_every_row_one_field_longer_than_the_header_is_refused(tmp_path):
    # pandas would silently take the first field of every row as the index and shift the columns.
    path = _write(tmp_path / "trailing.csv", "a,b,y\n1,2,0,\n3,4,1,\n5,6,0,\n")
    with pytest.raises(DataError, match=r"trailing\.csv: line 2 has 4 fields, expected 3"):
        load_data(path, label="y")


def test_explicit_empty_fields_are_missing_values_not_short_rows(tmp_path):
    rows = "".join(f"{i},{'' if i % 5 == 0 else i * 2},{i % 2}\n" for i in range(30))
    path = _write(tmp_path / "gaps.csv", "a,b,y\n" + rows)
    data = load_data(path, label="y", split=None)
    assert data.X["b"].isna().sum() == 6


def test_utf8_byte_order_mark_is_not_part_of_the_first_name(tmp_path):
    path = tmp_path / "excel.csv"
    rows = b"".join(b"%d,%d,%d\n" % (i % 2, i, i * 3 % 7) for i in range(20))
    path.write_bytes("\ufeffy,a,b\n".encode() + rows)
    data = load_data(path, label="y", split=None)
    assert data.schema.label == "y"
    assert data.schema.feature_names == ["a", "b"]


def test_semicolon_file_with_decimal_commas_suggests_sep(tmp_path):
    path = _write(tmp_path / "europe.csv", "a;b;y\n1;2;0\n1,5;2;1\n2,5;3;0\n")
    with pytest.raises(DataError, match=r"europe\.csv: .*sep=';'"):
        load_data(path, label="y")


def test_single_column_file_is_not_mistaken_for_another_delimiter(tmp_path):
    path = _write(tmp_path / "one.csv", "y\n0\n1\n")
    with pytest.raises(DataError, match=r"one\.csv: no usable feature column"):
        load_data(path, label="y")


def _npz_with_header(path, descr: str, shape: tuple[int, ...], data: bytes) -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", buffer.getvalue() + data)
        archive.writestr("y.npy", _npy_bytes(np.array([0, 1])))


def _npy_bytes(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_npz_header_claiming_a_huge_array_is_refused_without_allocating_it(tmp_path):
    import tracemalloc

    path = tmp_path / "huge.npz"
    _npz_with_header(path, "<f8", (10**9,), b"\0" * 16)  # claims 8 GB, holds 16 bytes
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"huge\.npz: array 'x' claims shape \(1000000000,\) of float64 "
                                            r"\(8,000,000,000 bytes\) but holds 16"):
            load_data(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20


def test_truncated_npz_array_is_not_blamed_on_object_arrays(tmp_path):
    path = tmp_path / "cut.npz"
    _npz_with_header(path, "<f8", (4, 2), b"\0" * 40)
    with pytest.raises(DataError, match=r"cut\.npz: array 'x' claims shape \(4, 2\).*truncated"):
        load_data(path)


def test_npz_member_that_is_not_an_array_is_named(tmp_path):
    import zipfile

    path = tmp_path / "junk.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", b"not an npy file at all")
    with pytest.raises(DataError, match=r"junk\.npz: member 'x\.npy' is not a NumPy array"):
        load_data(path)


def test_npz_rows_of_x_and_y_must_match(tmp_path):
    path = tmp_path / "rows.npz"
    np.savez(path, x=np.zeros((4, 2)), y=np.array([0, 1, 0]))
    with pytest.raises(DataError, match=r"rows\.npz: x has 4 rows but y has 3"):
        load_data(path)
