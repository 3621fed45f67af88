"""Image folders: size and mode rules, bad files skipped and counted, bad layouts refused, predict-time input."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lepton_ai.data import load_data, to_input
from lepton_ai.data.images import MAX_IMAGE_SIDE, list_images
from lepton_ai.errors import DataError


def _image(path: Path, size: tuple[int, int] = (16, 12), mode: str = "L", value: int = 0, seed: int = 0) -> Path:
    """Write an image of ``size`` (width, height) with random pixels around ``value``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = {"L": (), "RGB": (3,), "RGBA": (4,)}[mode]
    pixels = np.clip(value + rng.integers(0, 40, size=(size[1], size[0], *channels)), 0, 255).astype(np.uint8)
    Image.fromarray(pixels, mode).save(path)
    return path


def _folder(root: Path, n_per_class: int = 3, **kwargs: object) -> Path:
    for label, value in (("cat", 20), ("dog", 200)):
        for i in range(n_per_class):
            _image(root / label / f"{i}.png", value=value, seed=i, **kwargs)  # type: ignore[arg-type]
    return root


def _bomb_png(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


# ---- reading a folder ------------------------------------------------------------------------
def test_grayscale_folder_loads_as_uint8_images(tmp_path):
    data = load_data(_folder(tmp_path / "pets"), split=None)
    assert data.schema.modality == "image" and data.task == "classification"
    assert data.schema.shape == (12, 16)  # H x W
    assert data.X.dtype == np.uint8 and data.X.shape == (6, 12, 16)
    assert data.schema.classes == ("cat", "dog")
    assert data.X[data.y == "cat"].mean() < data.X[data.y == "dog"].mean()


def test_folder_splits_like_any_dataset(tmp_path):
    train, dev, test = load_data(_folder(tmp_path / "pets", n_per_class=10))
    assert len(train) + len(dev) + len(test) == 20 and set(test.y) == {"cat", "dog"}


def test_mixed_sizes_take_the_most_common_size(tmp_path):
    root = _folder(tmp_path / "pets", size=(16, 12))
    _image(root / "cat" / "big.png", size=(40, 30), value=20, seed=9)
    data = load_data(root, split=None)
    assert data.schema.shape == (12, 16)
    assert data.cleaning.n_images_resized == 1


def test_large_images_are_scaled_down_keeping_the_aspect_ratio(tmp_path):
    data = load_data(_folder(tmp_path / "pets", n_per_class=2, size=(300, 200)), split=None)
    assert data.schema.shape == (85, MAX_IMAGE_SIDE)


def test_mixed_modes_become_rgb_with_transparency_on_white(tmp_path):
    root = _folder(tmp_path / "pets", n_per_class=2)
    _image(root / "dog" / "colour.png", mode="RGB", value=100)
    clear = np.zeros((12, 16, 4), dtype=np.uint8)  # fully transparent black
    Image.fromarray(clear, "RGBA").save(root / "cat" / "clear.png")
    Image.fromarray(np.full((12, 16), 7, dtype=np.uint8), "L").convert("P").save(root / "cat" / "palette.gif")
    data = load_data(root, split=None, drop_duplicates=False)
    assert data.schema.shape == (12, 16, 3) and data.X.shape == (7, 12, 16, 3)
    files = list_images(root)
    clear_row = data.X[[Path(f).name for f in files].index("clear.png")]
    assert (clear_row == 255).all()


def test_sixteen_bit_grayscale_is_scaled_to_eight_bits(tmp_path):
    root = _folder(tmp_path / "pets", n_per_class=2)
    Image.fromarray(np.full((12, 16), 65535, dtype=np.uint16)).save(root / "dog" / "deep.png")
    data = load_data(root, split=None)
    assert data.X.dtype == np.uint8 and data.X.max() == 255


# ---- bad files: skipped, counted and named ---------------------------------------------------
def test_corrupt_and_truncated_files_are_skipped_with_a_count(tmp_path):
    root = _folder(tmp_path / "pets")
    (root / "cat" / "garbage.png").write_bytes(b"this is not a png")
    whole = (root / "dog" / "0.png").read_bytes()
    (root / "dog" / "truncated.png").write_bytes(whole[: len(whole) // 2])
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable image file\(s\).*garbage\.png"):
        data = load_data(root, split=None)
    assert len(data) == 6
    assert data.cleaning.n_files_skipped == 2
    assert {Path(p).name for p in data.cleaning.skipped_files} == {"garbage.png", "truncated.png"}


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    root = _folder(tmp_path / "pets")
    _bomb_png(root / "dog" / "bomb.png")
    with pytest.warns(UserWarning, match="bomb.png"):
        data = load_data(root, split=None)
    assert data.cleaning.n_files_skipped == 1
    assert "decompression bomb" in data.cleaning.skipped_files[str(root / "dog" / "bomb.png")]


def test_no_readable_image_is_an_error(tmp_path):
    for label in ("cat", "dog"):
        (tmp_path / "pets" / label).mkdir(parents=True)
        (tmp_path / "pets" / label / "x.png").write_bytes(b"broken")
    with pytest.raises(DataError, match="none of the 2 image files could be read"):
        load_data(tmp_path / "pets", split=None)


def test_a_class_whose_images_are_all_unreadable_is_named(tmp_path):
    root = _folder(tmp_path / "pets")
    (root / "bird").mkdir()
    (root / "bird" / "x.jpg").write_bytes(b"broken")
    with pytest.raises(DataError, match=r"bird: no image in this class folder could be read"):
        load_data(root, split=None)


# ---- bad layouts ------------------------------------------------------------------------------
def test_one_class_folder_is_refused(tmp_path):
    _image(tmp_path / "pets" / "cat" / "0.png")
    with pytest.raises(DataError, match=r"only one class folder \('cat'\)"):
        load_data(tmp_path / "pets", split=None)


def test_empty_class_folder_is_refused_by_name(tmp_path):
    root = _folder(tmp_path / "pets")
    (root / "bird").mkdir()
    (root / "bird" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"pets/bird: class folder holds no image"):
        load_data(root, split=None)


def test_images_without_class_folders_are_refused(tmp_path):
    _image(tmp_path / "flat" / "0.png")
    with pytest.raises(DataError, match="expected one sub-folder per class"):
        load_data(tmp_path / "flat", split=None)


# ---- predict-time input -----------------------------------------------------------------------
@pytest.fixture
def schema(tmp_path):
    return load_data(_folder(tmp_path / "pets"), split=None).schema


def test_predict_input_from_an_unlabelled_folder_is_resized(tmp_path, schema):
    _image(tmp_path / "new" / "b.png", size=(32, 24))
    _image(tmp_path / "new" / "a.jpg", size=(16, 12), mode="RGB")
    data = to_input(tmp_path / "new", schema)
    assert data.X.shape == (2, 12, 16) and data.y is None


def test_predict_input_from_a_labelled_folder_and_a_file(tmp_path, schema):
    data = to_input(tmp_path / "pets", schema)
    assert data.X.shape == (6, 12, 16) and list(data.y) == ["cat"] * 3 + ["dog"] * 3
    one = to_input(tmp_path / "pets" / "dog" / "1.png", schema)
    assert one.X.shape == (1, 12, 16)


def test_predict_input_refuses_a_corrupt_file_by_name(tmp_path, schema):
    (tmp_path / "bad.png").write_bytes(b"nope")
    with pytest.raises(DataError, match="bad.png: not a readable image"):
        to_input(tmp_path / "bad.png", schema)


def test_predict_input_arrays_are_checked_against_the_trained_shape(schema):
    assert to_input(np.zeros((12, 16), dtype=np.uint8), schema).X.shape == (1, 12, 16)
    assert to_input(np.zeros((3, 12, 16, 1), dtype=np.uint8), schema).X.shape == (3, 12, 16)
    with pytest.raises(DataError, match=r"expected images of shape \(12, 16\).*got \(28, 28\)"):
        to_input(np.zeros((5, 28, 28), dtype=np.uint8), schema)


def test_npz_images_load_with_their_shape(tmp_path):
    path = tmp_path / "digits.npz"
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 17, size=(50, 8, 8), dtype=np.uint8), y=np.arange(50) % 5)
    data = load_data(path, split=None)
    assert data.schema.modality == "image" and data.schema.shape == (8, 8)
    assert to_input(path, data.schema).X.shape == (50, 8, 8)
