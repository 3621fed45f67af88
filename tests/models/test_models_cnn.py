"""The CNN family: image layouts, augmentation, learning real digits, flips, export, and the modality filter."""

from __future__ import annotations

import numpy as np
import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.features.prepared import Prepared
from lepton_ai.models.base import Budget
from lepton_ai.models.checks import synthetic_data
from lepton_ai.models.families.cnn import CNNFamily
from lepton_ai.models.neural.augment import ImageAugment, ImageLayout
from lepton_ai.models.registry import families_for_modality


@pytest.fixture(scope="module")
def digits() -> tuple[Prepared, Prepared]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = bunch.images.reshape(len(bunch.images), -1).astype(np.float32)  # raw 0..16 counts
    y = bunch.target.astype(np.int64)
    return (Prepared(X[:600], y[:600], "classification", 10, shape=(8, 8)),
            Prepared(X[1400:], y[1400:], "classification", 10, shape=(8, 8)))


@pytest.mark.parametrize(("shape", "expected"), [
    ((28, 28), ImageLayout(1, 28, 28, channels_last=False)),
    ((32, 24, 3), ImageLayout(3, 32, 24, channels_last=True)),
    ((3, 32, 24), ImageLayout(3, 32, 24, channels_last=False)),
])
def test_layouts_read_gray_hwc_and_chw_rows(shape: tuple[int, ...], expected: ImageLayout) -> None:
    assert ImageLayout.from_shape(shape) == expected


@pytest.mark.parametrize("shape", [(), (64,), (5, 6, 7)])
def test_a_row_that_is_no_image_is_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ConfigError, match=r"needs images: rows of shape \(H, W\)"):
        ImageLayout.from_shape(shape)


def test_hwc_rows_fold_into_channels_and_back() -> None:
    import torch

    layout = ImageLayout(3, 4, 5, channels_last=True)
    images = np.arange(2 * 4 * 5 * 3, dtype=np.float32).reshape(2, 4, 5, 3)
    folded = layout.to_images(torch.from_numpy(images.reshape(2, -1)))
    np.testing.assert_array_equal(folded.numpy(), images.transpose(0, 3, 1, 2))
    np.testing.assert_array_equal(layout.to_rows(folded).numpy(), images.reshape(2, -1))


def test_translation_moves_pixels_by_at_most_the_padding() -> None:
    import torch

    layout = ImageLayout(1, 9, 9, channels_last=False)
    image = np.zeros((9, 9), dtype=np.float32)
    image[4, 3] = 1.0  # one bright pixel left of centre
    rows = torch.from_numpy(np.repeat(image.reshape(1, -1), 200, axis=0))
    out = ImageAugment(layout, translate=0.2, flip=False)(rows, torch.Generator().manual_seed(0)).numpy()
    positions = np.argwhere(out.reshape(200, 9, 9) == 1.0)[:, 1:]
    assert len(positions) == 200  # every pixel stays inside (shift 2 < distance to the border)
    assert np.abs(positions - [4, 3]).max() == 2 and len({tuple(p) for p in positions}) > 10


def test_flips_happen_only_when_asked() -> None:
    import torch

    layout = ImageLayout(1, 4, 4, channels_last=False)
    rows = torch.arange(16, dtype=torch.float32).repeat(100, 1)
    flipped = ImageAugment(layout, translate=0.0, flip=True)(rows, torch.Generator().manual_seed(0))
    mirrored = rows.reshape(100, 4, 4).flip(-1).reshape(100, 16)
    same = (flipped == rows).all(dim=1)
    assert bool(((flipped == mirrored).all(dim=1) | same).all()) and 20 < int(same.sum()) < 80
    assert not ImageAugment(layout, translate=0.0, flip=False).active


def test_the_cnn_learns_real_digits(digits) -> None:
    train, dev = digits
    model = CNNFamily(width=8, depth=2, epochs=8, batch_size=64).fit(train, dev, budget=Budget(seed=0))
    accuracy = float(np.mean(model.predict(dev.X) == dev.y))
    assert accuracy > 0.9, model.history_
    assert model.history_[-1]["epoch"] == model.epochs_run_


def test_test_time_flip_makes_predictions_mirror_invariant() -> None:
    train = synthetic_data(CNNFamily, "classification", 120, seed=0)
    model = CNNFamily(width=4, depth=2, epochs=1, flip=True, test_flip=True, precision="fp32").fit(train)
    mirrored = train.X.reshape(-1, 8, 8)[:, :, ::-1].reshape(len(train.X), -1)
    np.testing.assert_allclose(model.predict_proba(mirrored), model.predict_proba(train.X), rtol=1e-5, atol=1e-6)


def test_rgb_rows_fit_and_the_exported_module_predicts_the_same() -> None:
    import torch

    rng = np.random.default_rng(0)
    X = rng.integers(0, 255, size=(80, 6, 6, 3)).astype(np.float32)
    y = (X[:, :, :, 0].mean(axis=(1, 2)) > X[:, :, :, 2].mean(axis=(1, 2))).astype(np.int64)
    train = Prepared(X.reshape(80, -1), y, "classification", 2, shape=(6, 6, 3))
    model = CNNFamily(width=4, depth=2, epochs=2, batch_size=16).fit(train)
    with torch.inference_mode():
        exported = model.export_module()(torch.from_numpy(train.X)).numpy()
    np.testing.assert_allclose(exported, model.predict_proba(train.X), rtol=1e-5, atol=1e-6)


def test_the_cnn_refuses_a_table() -> None:
    table = synthetic_data(CNNFamily, "classification", 50)
    table.shape = ()
    with pytest.raises(ConfigError, match="the cnn family needs images"):
        CNNFamily(**CNNFamily.test_params()).fit(table)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("flip", "yes", r"'flip' parameter of CNNFamily must be True or False"),
    ("translate", 0.9, r"'translate' parameter of CNNFamily must be in \[0, 0.5\]"),
    ("precision", "fp16", r"'precision' parameter of CNNFamily must be one of auto, fp32, bf16"),
])
def test_bad_parameters_fail_in_fit_naming_them(name: str, value: object, message: str) -> None:
    train = synthetic_data(CNNFamily, "classification", 50)
    with pytest.raises(ConfigError, match=message):
        CNNFamily(**{**CNNFamily.test_params(), name: value}).fit(train)


def test_the_engine_offers_image_families_only_for_images() -> None:
    every = ["linear", "gbdt", "mlp", "cnn", "rnn", "cnn1d"]
    assert families_for_modality(every, "image", named=False) == ["linear", "gbdt", "mlp", "cnn"]
    assert families_for_modality(every, "sequence", named=False) == ["linear", "gbdt", "mlp", "rnn", "cnn1d"]
    assert families_for_modality(every, "tabular", named=False) == ["linear", "gbdt", "mlp"]
    with pytest.raises(ConfigError, match=r"the data is tabular, which family cnn cannot learn from \(cnn reads "
                                          r"image\)\. Families for tabular data: .*linear"):
        families_for_modality(["gbdt", "cnn"], "tabular", named=True)


def test_asking_for_a_cnn_on_a_table_fails_before_any_trial(table, tmp_path) -> None:
    from lepton_ai import SinglePointTechnique

    engine = SinglePointTechnique(home=tmp_path, budget="5s", families="cnn")
    with pytest.raises(ConfigError, match="which family cnn cannot learn from"):
        engine.search(table, label="species")


def test_folding_batchnorm_into_the_convolutions_keeps_the_outputs() -> None:
    import torch

    from lepton_ai.models.neural.torch_family import fold_batchnorm

    model = CNNFamily(width=4, depth=2)
    model.layout_, model.n_classes_, model.task_ = ImageLayout(1, 8, 8, channels_last=False), 3, "classification"
    model.pixel_mean_, model.pixel_std_ = [8.0], [4.0]
    net = model._network()
    with torch.no_grad():  # BatchNorm statistics of a trained network, not the identity defaults
        for layer in net.modules():
            if isinstance(layer, torch.nn.BatchNorm2d):
                layer.running_mean.uniform_(-1, 1)
                layer.running_var.uniform_(0.5, 2)
    rows = torch.rand(16, 64) * 16
    with torch.inference_mode():
        before = net.eval()(rows)
        folded = fold_batchnorm(net)
        after = folded(rows)
    assert not any(isinstance(layer, torch.nn.BatchNorm2d) for layer in folded.modules())
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)
