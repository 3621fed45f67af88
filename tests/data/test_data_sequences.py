"""Sequences: ragged lists and npz with lengths become zero-padded N x T x F; bad shapes are named by row."""

from __future__ import annotations

import numpy as np
import pytest

from lepton_ai.data import load_data, to_input
from lepton_ai.data import sequences as seq
from lepton_ai.errors import DataError


def _ragged(n: int = 12, n_features: int = 3, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = [rng.normal(loc=1.0, size=(int(rng.integers(2, 9)), n_features)) for _ in range(n)]
    return rows, np.arange(n) % 2


def test_ragged_list_is_padded_to_the_longest_with_lengths_kept():
    rows, y = _ragged()
    data = load_data((rows, y), split=None, drop_duplicates=False)
    longest = max(len(r) for r in rows)
    assert data.schema.modality == "sequence" and data.schema.shape == (longest, 3)
    assert data.X.dtype == np.float32
    np.testing.assert_array_equal(seq.sequence_lengths(data.X), [len(r) for r in rows])
    np.testing.assert_allclose(data.X[0, : len(rows[0])], rows[0], rtol=1e-6)
    assert (data.X[0, len(rows[0]):] == 0).all()


def test_univariate_ragged_rows_get_one_feature():
    data = load_data(([np.ones(3), np.ones(5), np.ones(2), np.ones(4)], [0, 1, 0, 1]), split=None)
    assert data.schema.shape == (5, 1)


def test_npz_concatenated_frames_with_lengths(tmp_path):
    rows, y = _ragged()
    path = tmp_path / "ragged.npz"
    np.savez(path, x=np.concatenate(rows), lengths=np.array([len(r) for r in rows]), y=y)
    data = load_data(path, split=None, drop_duplicates=False)
    np.testing.assert_array_equal(seq.sequence_lengths(data.X), [len(r) for r in rows])


def test_npz_padded_with_lengths_zeroes_the_padding(tmp_path):
    x = np.ones((6, 5, 2), dtype=np.float32)  # junk (ones) where padding should be
    lengths = np.array([5, 4, 3, 2, 1, 5], dtype=np.int32)
    path = tmp_path / "padded.npz"
    np.savez(path, x=x, lengths=lengths, y=np.arange(6) % 2)
    data = load_data(path, split=None, drop_duplicates=False)
    assert data.schema.shape == (5, 2)
    np.testing.assert_array_equal(seq.sequence_lengths(data.X), lengths)


@pytest.mark.parametrize(("lengths", "message"), [
    (np.array([5, 6, 1, 1]), r"row 1 has length 6, more than the 5 steps"),
    (np.array([5, 5, 5]), r"'lengths' has 3 entries but x has 4 sequences"),
    (np.array([1.5, 2, 3, 4]), r"'lengths' must be a 1-D array of non-negative integers"),
])
def test_bad_lengths_are_refused(tmp_path, lengths, message):
    path = tmp_path / "bad.npz"
    np.savez(path, x=np.ones((4, 5, 2)), lengths=lengths, y=[0, 1, 0, 1])
    with pytest.raises(DataError, match=message):
        load_data(path, split=None)


def test_concatenated_frames_must_match_the_lengths(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, x=np.ones((10, 2)), lengths=np.array([3, 3, 3]), y=[0, 1, 0])
    with pytest.raises(DataError, match="x holds 10 frames but 'lengths' sums to 9"):
        load_data(path, split=None)


def test_different_feature_counts_name_the_row():
    rows, y = _ragged()
    rows[2] = np.ones((4, 5))
    with pytest.raises(DataError, match="row 2 has 5 features per step, but row 0 has 3"):
        load_data((rows, y), split=None)


def test_a_row_that_is_not_a_matrix_is_named():
    rows, y = _ragged()
    rows[1] = np.ones((2, 2, 2))
    with pytest.raises(DataError, match=r"row 1 has shape \(2, 2, 2\); expected a T x F array"):
        load_data((rows, y), split=None)


def test_overlong_sequences_are_cut_with_a_warning(monkeypatch):
    monkeypatch.setattr(seq, "MAX_SEQUENCE_STEPS", 4)
    rows, y = _ragged()
    with pytest.warns(UserWarning, match="longer than 4 steps were cut to 4"):
        data = load_data((rows, y), split=None, drop_duplicates=False)
    assert data.schema.shape == (4, 3)


def test_lengths_of_rows_that_end_in_zeros():
    X = np.zeros((3, 4, 2))
    X[0, :2] = 1.0
    X[1, 3, 1] = -2.0
    np.testing.assert_array_equal(seq.sequence_lengths(X), [2, 4, 1])


# ---- predict-time input -----------------------------------------------------------------------
@pytest.fixture
def schema():
    rows, y = _ragged()
    return load_data((rows, y), split=None, drop_duplicates=False).schema


def test_predict_input_is_padded_or_cut_to_the_trained_steps(schema):
    T = schema.shape[0]
    short = to_input(np.ones((2, T - 3, 3)), schema).X
    assert short.shape == (2, T, 3) and (short[:, T - 3:] == 0).all()
    ragged = to_input([np.ones((2, 3)), np.ones((4, 3))], schema).X
    assert ragged.shape == (2, T, 3)
    with pytest.warns(UserWarning, match=f"cut to {T}"):
        assert to_input(np.ones((1, T + 5, 3)), schema).X.shape == (1, T, 3)


def test_predict_input_with_other_features_is_refused(schema):
    with pytest.raises(DataError, match=r"expected sequences of 3 features per step.*got 4"):
        to_input(np.ones((2, 5, 4)), schema)


@pytest.mark.parametrize("x", [np.array([[["a"], ["b"]], [["c"], ["d"]]]), np.array([["a"], ["b"], ["c"]])])
def test_npz_sequences_of_strings_with_lengths_are_refused_by_dtype(tmp_path, x):
    path = tmp_path / "words.npz"
    np.savez(path, x=x, lengths=np.array([2, 1] if x.ndim == 3 else [2, 1]), y=np.array([0, 1]))
    with pytest.raises(DataError, match="x has dtype <U1; sequences must be numbers"):
        load_data(path, split=None, drop_duplicates=False)
