"""The sequence families: lengths from zero padding, padding kept out of the model, LSTM/GRU and 1D-CNN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lepton_ai.data.sequences import sequence_lengths
from lepton_ai.errors import ConfigError
from lepton_ai.features.prepared import Prepared
from lepton_ai.models.base import Budget
from lepton_ai.models.checks import synthetic_data
from lepton_ai.models.families.sequence import CNN1DFamily, RNNFamily, SequenceLayout

VOWELS = Path("/work/shared/datasets/japanese_vowels")


def _padded(lengths: list[int], steps: int = 6, features: int = 2, seed: int = 0) -> np.ndarray:
    frames = np.random.default_rng(seed).normal(size=(len(lengths), steps, features)).astype(np.float32) + 3.0
    for row, length in enumerate(lengths):
        frames[row, length:] = 0.0
    return frames


@pytest.mark.parametrize("cls", [RNNFamily, CNN1DFamily])
def test_the_network_finds_the_same_lengths_and_ignores_the_padding(cls) -> None:
    import torch

    from lepton_ai.models.neural.sequence_nets import _frames_and_mask

    train = synthetic_data(cls, "classification", 60)
    model = cls(**cls.test_params()).fit(train)
    frames = train.X.reshape(-1, 10, 3)
    frames[0, 3] = 0.0  # an all-zero frame inside a sequence is not padding
    _, mask, lengths = _frames_and_mask(model.net_, torch.from_numpy(frames.reshape(len(frames), -1)))
    assert lengths.tolist() == sequence_lengths(frames).tolist()
    assert sorted(set(lengths.tolist())) == [6, 7, 8, 9, 10]
    assert mask.sum(dim=1).tolist() == lengths.tolist()


def test_a_short_sequence_predicts_the_same_alone_or_beside_longer_ones() -> None:
    # A short row's zeros are padding: its prediction must not depend on its neighbours' lengths.
    train = Prepared(_padded([6, 5, 4, 3] * 10).reshape(40, -1), np.arange(40) % 2, "classification", 2,
                     shape=(6, 2))
    model = RNNFamily(hidden=4, epochs=1, batch_size=8).fit(train)
    short = _padded([3], seed=5)
    alone = model.predict_proba(short.reshape(1, -1))
    batch = np.concatenate([short.reshape(1, -1), train.X[:7]])
    np.testing.assert_allclose(model.predict_proba(batch)[:1], alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("params", [{"cell": "gru"}, {"cell": "lstm", "bidirectional": False, "layers": 2}])
def test_both_cells_and_directions_fit_and_export(params: dict) -> None:
    import torch

    train = synthetic_data(RNNFamily, "classification", 60)
    model = RNNFamily(**{**RNNFamily.test_params(), **params}).fit(train)
    with torch.inference_mode():
        exported = model.export_module()(torch.from_numpy(train.X)).numpy()
    np.testing.assert_allclose(exported, model.predict_proba(train.X), rtol=1e-5, atol=1e-6)


def test_layouts_read_t_by_f_and_plain_series() -> None:
    assert SequenceLayout.from_shape((29, 12), "rnn") == SequenceLayout(29, 12)
    assert SequenceLayout.from_shape((50,), "rnn") == SequenceLayout(50, 1)
    with pytest.raises(ConfigError, match=r"the rnn family needs sequences: rows of shape \(T, F\)"):
        SequenceLayout.from_shape((), "the rnn family")


def test_a_sequence_family_refuses_a_table() -> None:
    table = synthetic_data(CNN1DFamily, "classification", 40)
    table.shape = ()
    with pytest.raises(ConfigError, match="the cnn1d family needs sequences"):
        CNN1DFamily(**CNN1DFamily.test_params()).fit(table)


@pytest.mark.parametrize(("params", "message"), [
    ({"cell": "transformer"}, r"'cell' parameter of RNNFamily must be 'lstm' or 'gru'\. Got 'transformer'"),
    ({"bidirectional": 1}, r"'bidirectional' parameter of RNNFamily must be True or False"),
    ({"label_smoothing": 1.0}, r"'label_smoothing' parameter of RNNFamily must be in \[0, 1\)"),
])
def test_bad_rnn_parameters_fail_in_fit_naming_them(params: dict, message: str) -> None:
    train = synthetic_data(RNNFamily, "classification", 40)
    with pytest.raises(ConfigError, match=message):
        RNNFamily(**{**RNNFamily.test_params(), **params}).fit(train)


@pytest.mark.skipif(not VOWELS.is_dir(), reason="needs the shared japanese_vowels dataset")
def test_the_1d_cnn_learns_japanese_vowels() -> None:
    train_file, test_file = np.load(VOWELS / "train.npz"), np.load(VOWELS / "test.npz")
    train = Prepared(train_file["x"].reshape(512, -1), train_file["y"], "classification", 9, shape=(29, 12))
    model = CNN1DFamily(width=16, depth=2, epochs=6).fit(train, budget=Budget(seed=0))
    accuracy = float(np.mean(model.predict(test_file["x"].reshape(128, -1)) == test_file["y"]))
    assert accuracy > 0.9, model.history_
