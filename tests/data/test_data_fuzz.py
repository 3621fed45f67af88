"""Property-based fuzzing of every loader: whatever the bytes, only a LeptonError escapes.

Each loader gets garbled bytes and small random but well-formed sources (tables, arrays, images);
loading must either succeed, and then preparation fits and transforms, or raise a
:class:`LeptonError` subclass. Memory stays bounded (an .npz header claiming a huge array must not
allocate it) and each example has a deadline. The default run is derandomized and small; the
``slow`` tests run many more random examples (``make test-slow``).
"""

from __future__ import annotations

import contextlib
import io
import signal
import tempfile
import tracemalloc
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lepton_ai.data import Dataset, load_data, to_input
from lepton_ai.errors import LeptonError
from lepton_ai.features import TabularPreparer

FAST = settings(max_examples=25, deadline=3000, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=600, deadline=5000, database=None, suppress_health_check=[HealthCheck.too_slow])
# Loading a few hundred bytes may allocate this much at most (pandas and pyarrow buffers included).
MAX_PEAK_BYTES = 64 * 2**20
HANG_S = 20


@contextlib.contextmanager
def _no_hang(seconds: int = HANG_S) -> Iterator[None]:
    """Fail an example that runs for ``seconds`` (Python-level loops; the deadline reports slow ones)."""
    def on_alarm(signum: int, frame: Any) -> None:
        raise AssertionError(f"the loader ran for more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _load_and_prepare(source: Any, **kwargs: Any) -> None:
    """Load ``source``; when it loads, fit preparation on train and transform every part and the raw source."""
    with warnings.catch_warnings(), _no_hang():
        warnings.simplefilter("ignore")
        tracemalloc.start()
        try:
            parts = load_data(source, **kwargs)
        except LeptonError:
            return
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < MAX_PEAK_BYTES, f"loading used {peak:,} bytes"
        parts = parts if isinstance(parts, tuple) else (parts,)
        train = parts[0]
        try:
            preparer = TabularPreparer(train.schema).fit(train)
            for part in (*parts, _as_input(source, train)):
                if part is None:
                    continue
                for view in ("dense", "codes"):
                    out = preparer.transform(part.X, view, source=part.source, unseen={})
                    assert out.shape[0] == len(part)
        except LeptonError:
            return


def _as_input(source: Any, train: Dataset) -> Dataset | None:
    """The source read again as prediction input (the path a served model takes); None if refused."""
    try:
        return to_input(source, train.schema)
    except LeptonError:
        return None


def _in_temp(write: Callable[[Path], Path]) -> None:
    with tempfile.TemporaryDirectory(prefix="lepton-fuzz-") as folder:
        _load_and_prepare(write(Path(folder)), label="y")


# ---- CSV / TSV ------------------------------------------------------------------------------------

_CSV_TEXT = st.text(alphabet=st.sampled_from(list('ab01y.,;\t\n\r" -e?\x00\ufeffé')), max_size=200)


def _check_csv_bytes(raw: bytes, suffix: str) -> None:
    def write(folder: Path) -> Path:
        path = folder / f"data{suffix}"
        path.write_bytes(raw)
        return path

    _in_temp(write)


def _check_csv_text(body: str, suffix: str) -> None:
    header = "a\tb\ty\n" if suffix == ".tsv" else "a,b,y\n"
    _check_csv_bytes((header + body).encode("utf-8"), suffix)


@FAST
@given(raw=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".tsv"]))
def test_random_bytes_as_csv_only_raise_lepton_errors(raw, suffix):
    _check_csv_bytes(raw, suffix)


@FAST
@given(body=_CSV_TEXT, suffix=st.sampled_from([".csv", ".tsv"]))
def test_garbled_csv_text_only_raises_lepton_errors(body, suffix):
    _check_csv_text(body, suffix)


@pytest.mark.slow
@SLOW
@given(raw=st.binary(max_size=2000), body=_CSV_TEXT, suffix=st.sampled_from([".csv", ".tsv"]))
def test_random_csv_many_examples(raw, body, suffix):
    _check_csv_bytes(raw, suffix)
    _check_csv_text(body, suffix)


# ---- random small tables (CSV and Parquet) ---------------------------------------------------------

_CELLS = {
    "float": st.floats(allow_nan=True, allow_infinity=True, width=64),
    "int": st.integers(-(2**62), 2**62),
    "bool": st.booleans(),
    "text": st.text(alphabet=st.sampled_from(list("ab ,\"\n?1.")), max_size=6),
}


@st.composite
def _tables(draw: st.DrawFn) -> pd.DataFrame:
    n_rows = draw(st.integers(1, 30))
    columns: dict[str, list[Any]] = {}
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(sorted(_CELLS)))
        cells = draw(st.lists(st.one_of(st.none(), _CELLS[kind]), min_size=n_rows, max_size=n_rows))
        columns[f"c{i}"] = cells
    label = draw(st.sampled_from(["int", "text", "float"]))
    columns["y"] = draw(st.lists(st.one_of(st.none(), _CELLS[label] if label != "int" else st.integers(0, 3)),
                                 min_size=n_rows, max_size=n_rows))
    return pd.DataFrame(columns)


def _check_table(frame: pd.DataFrame, suffix: str) -> None:
    def write(folder: Path) -> Path:
        path = folder / f"table{suffix}"
        if suffix == ".parquet":
            # One type per column, as Parquet stores it: a column of mixed cells becomes strings.
            typed = frame.apply(lambda c: c if c.map(type).nunique() <= 2 else c.astype(str))
            typed.to_parquet(path)
        else:
            frame.to_csv(path, index=False)
        return path

    _in_temp(write)
    _load_and_prepare(frame, label="y")


@FAST
@given(frame=_tables(), suffix=st.sampled_from([".csv", ".parquet"]))
def test_random_tables_only_raise_lepton_errors(frame, suffix):
    _check_table(frame, suffix)


@pytest.mark.slow
@SLOW
@given(frame=_tables(), suffix=st.sampled_from([".csv", ".parquet"]))
def test_random_tables_many_examples(frame, suffix):
    _check_table(frame, suffix)


@FAST
@given(raw=st.binary(max_size=300), magic=st.booleans())
def test_random_bytes_as_parquet_only_raise_lepton_errors(raw, magic):
    data = b"PAR1" + raw + b"PAR1" if magic else raw

    def write(folder: Path) -> Path:
        path = folder / "data.parquet"
        path.write_bytes(data)
        return path

    _in_temp(write)


# ---- .npz --------------------------------------------------------------------------------------

_DESCRS = ["<f8", "<f4", "|u1", "<i8", "|b1", "<U3", "|O", "<c16", "<M8[s]", ">f8", "|V4", "<f2"]


@st.composite
def _npy_members(draw: st.DrawFn) -> bytes:
    """An .npy member: a header of any dtype, order and (possibly huge) shape, then its bytes or a few random ones."""
    sides = st.one_of(st.integers(0, 6), st.integers(10**6, 10**12))
    shape = tuple(draw(st.lists(sides, max_size=3)))
    descr = draw(st.sampled_from(_DESCRS))
    header = {"descr": descr, "fortran_order": draw(st.booleans()), "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    n_bytes = int(np.prod(shape, dtype=object)) * np.dtype(descr).itemsize
    exact = n_bytes <= 512 and draw(st.booleans())
    return buffer.getvalue() + draw(st.binary(min_size=n_bytes, max_size=n_bytes) if exact else st.binary(max_size=64))


def _write_zip(folder: Path, members: dict[str, bytes], compress: bool) -> Path:
    path = folder / "data.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _check_npz_members(members: dict[str, bytes], compress: bool) -> None:
    _in_temp(lambda folder: _write_zip(folder, members, compress))


@FAST
@given(x=_npy_members(), y=_npy_members(), compress=st.booleans())
def test_npz_with_hostile_headers_only_raises_lepton_errors_in_bounded_memory(x, y, compress):
    _check_npz_members({"x.npy": x, "y.npy": y}, compress)


_ARRAY_DTYPES = st.sampled_from([np.float64, np.float32, np.uint8, np.int64, np.bool_, np.dtype("<U2")])


@st.composite
def _array_pairs(draw: st.DrawFn) -> dict[str, np.ndarray]:
    dtype = draw(_ARRAY_DTYPES)
    x = draw(hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5)))
    n = draw(st.integers(0, 6))
    arrays = {"x": x, "y": draw(hnp.arrays(draw(_ARRAY_DTYPES), (n,)))}
    if draw(st.booleans()):
        arrays["lengths"] = draw(hnp.arrays(np.int64, (draw(st.integers(0, 6)),), elements=st.integers(-2, 8)))
    return arrays


def _check_npz_arrays(arrays: dict[str, np.ndarray]) -> None:
    def write(folder: Path) -> Path:
        path = folder / "data.npz"
        np.savez(path, **arrays)
        return path

    _in_temp(write)


@FAST
@given(arrays=_array_pairs())
def test_random_npz_arrays_only_raise_lepton_errors(arrays):
    _check_npz_arrays(arrays)


@FAST
@given(raw=st.binary(max_size=300))
def test_random_bytes_as_npz_only_raise_lepton_errors(raw):
    def write(folder: Path) -> Path:
        path = folder / "data.npz"
        path.write_bytes(raw)
        return path

    _in_temp(write)


@pytest.mark.slow
@SLOW
@given(x=_npy_members(), y=_npy_members(), compress=st.booleans(), arrays=_array_pairs())
def test_npz_many_examples(x, y, compress, arrays):
    _check_npz_members({"x.npy": x, "y.npy": y}, compress)
    _check_npz_arrays(arrays)


# ---- image folders --------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@st.composite
def _image_files(draw: st.DrawFn) -> bytes:
    """A small valid image of a random mode and size, or random bytes (some behind a PNG signature)."""
    kind = draw(st.sampled_from(["valid", "random", "signature", "truncated"]))
    if kind in ("random", "signature"):
        return (_PNG_SIGNATURE if kind == "signature" else b"") + draw(st.binary(max_size=200))
    from PIL import Image

    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I;16", "LA"]))
    size = (draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    pixels = draw(hnp.arrays(np.uint8, (size[1], size[0], 4)))
    image = Image.fromarray(pixels, "RGBA").convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data = buffer.getvalue()
    return data[: draw(st.integers(0, len(data)))] if kind == "truncated" else data


def _check_image_folder(classes: list[list[bytes]]) -> None:
    with tempfile.TemporaryDirectory(prefix="lepton-fuzz-") as folder:
        root = Path(folder) / "images"
        for c, files in enumerate(classes):
            (root / f"class{c}").mkdir(parents=True)
            for i, data in enumerate(files):
                (root / f"class{c}" / f"{i}.png").write_bytes(data)
        _load_and_prepare(root)


_FOLDERS = st.lists(st.lists(_image_files(), min_size=0, max_size=4), min_size=1, max_size=3)


@FAST
@given(classes=_FOLDERS)
def test_random_image_folders_only_raise_lepton_errors(classes):
    _check_image_folder(classes)


@pytest.mark.slow
@SLOW
@given(classes=_FOLDERS)
def test_image_folders_many_examples(classes):
    _check_image_folder(classes)
