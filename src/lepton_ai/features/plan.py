"""The inference plan: a fitted TabularPreparer compiled into positions, lookups and vectors.

Everything a transform needs is fixed when the plan is built from the preparer's saved state (no
new manifest content): where each kind of column sits (:class:`~.columns.Layout`), the median, mean
and scale vectors, the missing-value indicators kept, one ``dict`` per categorical column from the
category's text to its code and its one-hot slot, and the text hasher. A transform then reads the
input once (:func:`~.columns.read_columns`: records, DataFrames, arrays and Arrow batches alike) and
fills the float32 matrix of a view with a handful of NumPy operations over all columns at once, so a
one-row input costs microseconds and a batch is vectorised, for any schema.

The preparer builds its plan on first use and keeps it (:meth:`TabularPreparer.plan`); a plan is never
changed after it is built, so one plan serves any number of threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .columns import Layout, RawColumns, read_columns
from .prepared import View

if TYPE_CHECKING:
    from .tabular import TabularPreparer

__all__ = ["InferencePlan", "MAX_ONE_HOT", "TEXT_HASH_FEATURES"]

# Categories beyond the most frequent MAX_ONE_HOT share one "other" slot in the dense view.
MAX_ONE_HOT = 32
TEXT_HASH_FEATURES = 1024
# A category the lookup does not hold: an object of its own, so counting it is an identity test.
_UNSEEN = float("nan")


@dataclass(frozen=True)
class InferencePlan:
    """The fitted preparation of one schema, ready to turn rows into the matrix of a view.

    ``median``/``mean``/``std``: per column of the numeric block (``layout.block_names``: numeric and
    boolean columns, then the date columns' calendar parts).
    ``indicators``: which of them get a missing-value indicator in the dense view (those with gaps
    in train). ``lookups``: per categorical column, category text → code (its rank by frequency in
    train). ``slot_starts``/``last_slots``: per categorical column, where its one-hot slots start
    in the dense view and the index of its last slot (the "other" slot when it has more than
    MAX_ONE_HOT categories). ``widths``: the number of columns of the dense and codes views.
    ``categorical``: the categorical columns' names (the keys of ``unseen`` counts).
    """

    layout: Layout
    median: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    indicators: np.ndarray
    lookups: tuple[dict[str, int], ...]
    slot_starts: np.ndarray
    last_slots: np.ndarray
    widths: dict[str, int]
    categorical: tuple[str, ...]
    hasher: Any

    @classmethod
    def of(cls, preparer: TabularPreparer) -> InferencePlan:
        """Compile the fitted state of ``preparer`` (the preparer must be fitted)."""
        state = preparer.numeric_
        assert state is not None
        layout = Layout.of(preparer.schema)
        categorical = [layout.names[j] for j in layout.others[:layout.n_categorical]]
        categories = [preparer.categories_[name] for name in categorical]
        slots = np.asarray([min(len(c), MAX_ONE_HOT) + (len(c) > MAX_ONE_HOT) for c in categories], dtype=np.int64)
        indicators = np.flatnonzero(state.missing_in_train)
        n_numeric, n_text = len(state.median), (len(layout.others) - len(categorical)) * TEXT_HASH_FEATURES
        first_slot = n_numeric + len(indicators)
        return cls(
            layout=layout, median=np.asarray(state.median, dtype=np.float64),
            mean=np.asarray(state.mean, dtype=np.float64), std=np.asarray(state.std, dtype=np.float64),
            indicators=indicators,
            lookups=tuple({str(value): code for code, value in enumerate(c)} for c in categories),
            slot_starts=first_slot + np.concatenate([[0], np.cumsum(slots)[:-1]]).astype(np.int64),
            last_slots=slots - 1,
            widths={"dense": first_slot + int(slots.sum()) + n_text,
                    "codes": n_numeric + len(categories) + n_text},
            categorical=tuple(categorical), hasher=_text_hasher() if n_text else None,
        )

    def transform(self, X: Any, view: View = "dense", *, source: str = "data",
                  unseen: dict[str, int] | None = None) -> np.ndarray:
        """The prepared matrix of ``X`` in ``view``: float32 ``(n_rows, n_features)``; for the "text"
        view an object array ``(n_rows, n_text_columns)`` of strings ("" where missing).

        ``unseen``: see :meth:`TabularPreparer.transform`.
        """
        if view == "text":
            raw = read_columns(X, self.layout, source, numeric=False)
            texts = raw.values[len(self.categorical):]
            out = np.empty((raw.n_rows, len(texts)), dtype=object)
            for k, column in enumerate(texts):
                out[:, k] = _strings(column)
            return out
        raw = read_columns(X, self.layout, source)
        codes = self._codes(raw, unseen)
        return self._dense(raw, codes) if view == "dense" else self._codes_view(raw, codes)

    # ---- internals --------------------------------------------------------------------------
    def _codes(self, raw: RawColumns, unseen: dict[str, int] | None) -> np.ndarray:
        """Category codes ``(n_rows, n_categorical)`` float64, NaN for a missing or unseen value."""
        columns = []
        for k, lookup in enumerate(self.lookups):
            get = lookup.get
            codes = [get(v, _UNSEEN) if type(v) is str else _code_of(v, get) for v in raw.values[k]]
            if unseen is not None:
                name = self.categorical[k]
                unseen[name] = unseen.get(name, 0) + codes.count(_UNSEEN)
            columns.append(codes)
        if not columns:
            return np.empty((raw.n_rows, 0))
        return np.array(columns, dtype=np.float64).T

    def _dense(self, raw: RawColumns, codes: np.ndarray) -> np.ndarray:
        out = np.zeros((raw.n_rows, self.widths["dense"]), dtype=np.float32)
        k = len(self.median)
        if k:
            missing = np.isnan(raw.numeric)
            out[:, :k] = (np.where(missing, self.median, raw.numeric) - self.mean) / self.std
            out[:, k:k + len(self.indicators)] = missing[:, self.indicators]
        if codes.shape[1]:  # one-hot: a 1 at each known code's slot, the last slot shared beyond MAX_ONE_HOT
            rows, columns = np.nonzero(~np.isnan(codes))
            slots = np.minimum(codes[rows, columns].astype(np.int64), self.last_slots[columns])
            out[rows, self.slot_starts[columns] + slots] = 1.0
        self._hash_into(out, raw, self.widths["dense"] - (len(raw.values) - len(self.categorical)) * TEXT_HASH_FEATURES)
        return out

    def _codes_view(self, raw: RawColumns, codes: np.ndarray) -> np.ndarray:
        out = np.empty((raw.n_rows, self.widths["codes"]), dtype=np.float32)
        k = len(self.median)
        out[:, :k] = raw.numeric
        out[:, k:k + codes.shape[1]] = codes
        self._hash_into(out, raw, k + codes.shape[1])
        return out

    def _hash_into(self, out: np.ndarray, raw: RawColumns, start: int) -> None:
        """Hash each text column into its TEXT_HASH_FEATURES slots of ``out`` from ``start`` on."""
        for k, column in enumerate(raw.values[len(self.categorical):]):
            offset = start + k * TEXT_HASH_FEATURES
            out[:, offset:offset + TEXT_HASH_FEATURES] = self.hasher.transform(_strings(column)).toarray()


def _code_of(value: Any, get: Any) -> Any:
    """The code of a cell that is not a ``str``: ``None`` when missing, else that of its text."""
    from .columns import is_missing

    return None if value is None or is_missing(value) else get(str(value), _UNSEEN)


def _strings(values: list[Any]) -> list[str]:
    """Text cells as strings, "" where missing (as ``fillna("").astype(str)`` gives)."""
    from .columns import is_missing

    return [v if type(v) is str else "" if is_missing(v) else str(v) for v in values]


def _text_hasher() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    # Stateless: nothing to fit or store, and the same words always land in the same slots.
    return HashingVectorizer(n_features=TEXT_HASH_FEATURES, alternate_sign=False, norm="l2")
