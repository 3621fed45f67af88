"""Families for the Dask tests, in a module of their own so workers can import them (no pytest here)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, ClassVar

from lepton_ai.models.families.linear import LinearFamily


class SlowFamily(LinearFamily):
    """A linear model that first sleeps ``sleep_s`` seconds, after writing its pid to a file in
    ``marker_dir`` (when set): long enough to kill its worker or stop it while it runs, and found by pid.

    Its one starting point is ``SlowFamily.config``, read where the search plans its trials (the
    test's process); workers get the values as the trial's parameters.
    """

    name = "slow"
    config: ClassVar[dict[str, Any]] = {"sleep_s": 3.0, "marker_dir": ""}

    def __init__(self, *, C: float = 1.0, sleep_s: float = 3.0, marker_dir: str = "") -> None:
        super().__init__(C=C)
        self.sleep_s = sleep_s
        self.marker_dir = marker_dir

    def fit(self, train, dev=None, *, budget=None):
        if self.marker_dir:
            Path(self.marker_dir, f"{os.getpid()}.pid").write_text(str(os.getpid()))
        time.sleep(self.sleep_s)
        return super().fit(train, dev, budget=budget)

    @classmethod
    def search_space(cls, n_rows, n_features):
        return {}

    @classmethod
    def starting_points(cls, n_rows, n_features):
        return [dict(cls.config)]


class HogFamily(LinearFamily):
    """Allocates memory (64 MiB a step, touched) until something stops it."""

    name = "hog"

    def fit(self, train, dev=None, *, budget=None):
        import numpy as np

        blocks = []
        for _ in range(400):
            blocks.append(np.ones(64 * 2**20 // 8))
            time.sleep(0.02)
        return super().fit(train, dev, budget=budget)

    @classmethod
    def starting_points(cls, n_rows, n_features):
        return [{"C": 1.0}]
