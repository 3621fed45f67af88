"""Shared fixtures: small tables made in the test, so every test is fast and offline."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from lepton_ai.features.plan import MAX_ONE_HOT as _MAX_ONE_HOT
from lepton_ai.models.base import Cost, Domain, ModelFamily
from lepton_ai.models.registry import FAMILIES

# Runs and the feature cache go to a scratch home, never the user's ~/.lepton.
os.environ["LEPTON_HOME"] = tempfile.mkdtemp(prefix="lepton-test-home-")


def make_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A mixed-type classification table: numeric, categorical, boolean columns, gaps, string labels."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    flag = rng.random(n) < 0.5
    score = x1 + 0.8 * x2 + (colour == "red") * 1.5 + flag * 0.5
    species = np.where(score > 1.0, "setosa", np.where(score > -0.5, "versicolor", "virginica"))
    frame = pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "flag": flag, "species": species})
    frame.loc[rng.choice(n, 10, replace=False), "x2"] = np.nan
    return frame


def make_mixed_table(n: int = 120, n_columns: int = 12, seed: int = 0, text: bool = False,
                     dates: bool = False) -> pd.DataFrame:
    """Numbers with gaps, integers, booleans, boolean words, few and many (> _MAX_ONE_HOT) categories;
    with ``dates``, day-first date text and datetimes, both with gaps."""
    rng = np.random.default_rng(seed)
    columns: dict[str, object] = {}
    for i in range(n_columns):
        kind = i % 6
        if kind == 0:
            values = rng.normal(size=n)
            values[rng.random(n) < 0.2] = np.nan
            columns[f"num{i}"] = values
        elif kind == 1:
            columns[f"int{i}"] = rng.integers(0, 1000, size=n)
        elif kind == 2:
            cities = rng.choice(["paris", "rome", "oslo", "lima"], size=n).astype(object)
            cities[rng.random(n) < 0.1] = None
            columns[f"city{i}"] = cities
        elif kind == 3:
            columns[f"flag{i}"] = rng.choice([True, False], size=n)
        elif kind == 4:
            columns[f"code{i}"] = [f"k{j}" for j in rng.integers(0, 3 * _MAX_ONE_HOT, size=n)]
        else:
            columns[f"member{i}"] = rng.choice(["yes", "no"], size=n)
    if text:
        words = ["good", "bad", "fine", "great", "awful", "slow", "fast"]
        columns["review"] = [" ".join(rng.choice(words, size=6)) + f" n{j}" for j in range(n)]
    if dates:
        stamps = pd.Timestamp("1968-12-30") + pd.to_timedelta(rng.integers(0, 60 * 365 * 1440, n), unit="min")
        day = pd.Series(stamps.strftime("%d/%m/%Y %H:%M"), dtype=object)
        day[rng.random(n) < 0.1] = None
        columns["day"] = day.to_numpy()
        columns["stamp"] = pd.Series(stamps + pd.Timedelta(seconds=17)).where(rng.random(n) > 0.1)
    columns["y"] = rng.choice(["a", "b"], size=n)
    return pd.DataFrame(columns)


def onnx_feeds(frame: pd.DataFrame, session: Any) -> dict[str, np.ndarray]:
    """The inputs of an exported ONNX graph (``lepton export --onnx``) for ``frame``, as a user builds
    them: numbers (booleans as 0/1) as double, categories as strings, "" where missing."""
    out = {}
    for spec in session.get_inputs():
        column = frame[spec.name]
        if spec.type == "tensor(string)":
            out[spec.name] = np.array([["" if pd.isna(v) else str(v)] for v in column], dtype=object)
        elif column.dtype.kind in "biuf":
            out[spec.name] = column.to_numpy(dtype=np.float64, na_value=np.nan).reshape(-1, 1)
        else:  # booleans written as words
            words = {"yes": 1.0, "no": 0.0, "true": 1.0, "false": 0.0}
            out[spec.name] = np.array([[words.get(str(v).lower(), np.nan)] for v in column])
    return out


def processes_with(marker: str) -> list[int]:
    """Pids whose environment holds ``marker`` (forked workers share their parent's environment)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def survivors(marker: str, wait_s: float = 5.0) -> list[int]:
    """Pids still holding ``marker`` after up to ``wait_s`` seconds; each is killed (SIGKILL) before
    returning, so a failing test never leaves processes behind."""
    import contextlib
    import signal
    import time

    deadline = time.monotonic() + wait_s
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = processes_with(marker)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
            os.kill(pid, signal.SIGKILL)
    return left


def write_parquet_parts(folder: Path, n_rows: int, n_files: int = 4, seed: int = 0,
                        partitions: bool = True) -> pd.DataFrame:
    """A binary task written as Spark writes it (``region=`` partitions when ``partitions``, snappy
    part files, ``_SUCCESS``); returns the rows in the order a reader of the sorted files sees them,
    partition column included."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    frames = []
    for index in range(n_files):
        n = n_rows // n_files + (1 if index < n_rows % n_files else 0)
        region = ("north", "south")[index % 2]
        x = rng.normal(size=(n, 4))
        label = np.where(x[:, 0] + x[:, 1] ** 2 - 1 + (0.5 if region == "north" else -0.5)
                         + rng.normal(scale=0.3, size=n) > 0, "yes", "no")
        frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "d": np.round(x[:, 3], 1), "label": label})
        part = folder / f"region={region}" if partitions else folder
        part.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                       part / f"part-{index:05d}-0c4b.c000.snappy.parquet", compression="snappy")
        frames.append((str(part / f"part-{index:05d}"), frame.assign(region=region) if partitions else frame))
    (folder / "_SUCCESS").write_bytes(b"")
    return pd.concat([f for _, f in sorted(frames, key=lambda p: p[0])], ignore_index=True)


@pytest.fixture
def table() -> pd.DataFrame:
    return make_table()


@pytest.fixture
def table_csv(tmp_path, table) -> str:
    path = tmp_path / "data.csv"
    table.to_csv(path, index=False)
    return str(path)


class PlanOnlyFamily(ModelFamily):
    """A family the scheduler and the sampler can plan with but nothing trains: its prior cost is
    ``cost`` seconds per thousand rows, and its starting points and search space are class data."""

    name = "plan-only"
    points: ClassVar[list[dict[str, Any]]] = [{}]
    space: ClassVar[dict[str, Domain]] = {}

    def __init__(self, *, cost: float = 1.0, depth: int = 3, lr: float = 0.1, width: int = 16,
                 kind: str = "a") -> None:
        self.cost = cost
        self.depth = depth
        self.lr = lr
        self.width = width
        self.kind = kind

    def estimate_cost(self, n_rows: int, n_features: int) -> Cost:
        return Cost(fit_seconds=self.cost * n_rows / 1000, predict_ms_per_row=0.001, memory_bytes=1)

    @classmethod
    def search_space(cls, n_rows: int, n_features: int) -> dict[str, Domain]:
        return dict(cls.space)

    @classmethod
    def starting_points(cls, n_rows: int, n_features: int) -> list[dict[str, Any]]:
        return [dict(p) for p in cls.points]

    def fit(self, train, dev=None, *, budget=None):
        raise NotImplementedError("plan-only families never train")

    def _raw_predict(self, X):
        raise NotImplementedError("plan-only families never train")

    def _save_weights(self, directory):
        raise NotImplementedError("plan-only families never train")

    def _load_weights(self, directory, state):
        raise NotImplementedError("plan-only families never train")


@pytest.fixture
def plan_only_family(monkeypatch):
    """``register(name, points=[...], space={...})``: a PlanOnlyFamily under ``name`` for this test only."""

    def register(name: str, points: list[dict[str, Any]] | None = None,
                 space: dict[str, Domain] | None = None) -> type[ModelFamily]:
        cls = type(f"PlanOnly_{name}", (PlanOnlyFamily,),
                   {"name": name, "points": points if points is not None else [{}], "space": space or {}})
        monkeypatch.setitem(FAMILIES, name, cls)
        return cls

    return register
