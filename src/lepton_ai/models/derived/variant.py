"""Compressed variants: a fitted model in a faster or smaller form, made from another trial's model.

A variant is a family like any other for loading, predicting and measuring (so it can join the
frontier and be chosen), but it is never searched or trained: :mod:`lepton_ai.compress` makes it
from a fitted source model. ``source_trial`` and ``source_family`` name where it came from.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from ...errors import ArtifactError
from ..base import DerivedFamily, ModelFamily

__all__ = ["VariantFamily", "SourceVariant", "SOURCE_DIR"]

SOURCE_DIR = "source"


class VariantFamily(DerivedFamily):
    """Base of the compressed variants. ``kind`` says which compression made it."""

    made_by = "compression from a trained model (lepton compress, or train's automatic compression)"
    kind: ClassVar[str]

    def __init__(self, *, source_trial: str = "", source_family: str = "") -> None:
        self.source_trial = source_trial
        self.source_family = source_family

    @property  # type: ignore[misc]
    def view(self) -> str:  # type: ignore[override]
        """The prepared view of the source family: a variant reads the same features."""
        return self.source_view_

    def _adopt(self, source: ModelFamily) -> None:
        """Take the task, classes and view of the fitted ``source``."""
        source._check_fitted()
        self.task_ = source.task_
        self.n_classes_ = source.n_classes_
        self.source_view_ = str(source.view)

    def set_threads(self, n_threads: int) -> None:
        """Predict with ``n_threads`` threads. The default does nothing: torch variants use the
        process's threads, which compression sets around measuring, and ``gbdt-fast`` always runs
        one; a runtime with its own thread pool (ONNX Runtime) overrides this."""

    def _state_json(self) -> dict[str, Any]:
        return {"view": self.source_view_}

    def _read_view(self, directory: Path, state: dict[str, Any]) -> None:
        view = state.get("view")
        if view not in ("dense", "codes"):
            raise ArtifactError(f"{directory}: {self.name} model has no valid source view (got {view!r}).")
        self.source_view_ = view


class SourceVariant(VariantFamily):
    """A variant that keeps its source model's files in ``source/`` and converts it when loaded.

    The conversion (bf16 cast, dynamic int8 quantisation, a faster prediction path) is
    deterministic, so the loaded variant predicts exactly like the one that was measured.
    """

    @classmethod
    def from_source(cls, source: ModelFamily, source_trial: str) -> SourceVariant:
        variant = cls(source_trial=source_trial, source_family=source.name)
        variant._adopt(source)
        variant.source_ = source
        variant._convert()
        return variant

    @abstractmethod
    def _convert(self) -> None:
        """Build the fast form from ``self.source_``."""

    def _save_weights(self, directory: Path) -> list[Path]:
        return self.source_.save(directory / SOURCE_DIR)

    @classmethod
    def load(cls, directory: Path, *, load_family: Callable[[Path], ModelFamily] | None = None) -> ModelFamily:
        """Load the variant and convert its source model, loaded from ``source/`` with ``load_family``."""
        if load_family is None:
            raise ArtifactError(f"{directory}: a {cls.name} model is loaded through registry.load_family, which "
                                "also loads its source model.")
        variant = super().load(directory, load_family=load_family)
        assert isinstance(variant, SourceVariant)
        source_dir = directory / SOURCE_DIR
        if not source_dir.is_dir():
            raise ArtifactError(f"{directory}: {cls.name} model has no {SOURCE_DIR}/ folder with its source model.")
        variant.source_ = load_family(source_dir)
        variant._convert()
        return variant

    def _load_weights(self, directory: Path, state: dict[str, Any]) -> None:
        self._read_view(directory, state)
