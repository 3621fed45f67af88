"""The closed schema of ``lepton.json``: every key, its type and its range, and nothing else.

A model directory is input a user can be handed, so its manifest is validated whole before any
of it is used: an unknown key, a ``format_version`` of 0, a negative count, a boolean where a
number belongs, or a trial id that could name a path outside the directory is refused with the
field's location. Pydantic does the checking (strict mode: no silent coercion); the nested
``schema`` and ``preprocessing`` objects are checked by their own readers
(``Schema.from_json``, ``TabularPreparer.from_json``), which know their layouts.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, ValidationError

from ..errors import ArtifactError

__all__ = ["TRIAL_ID", "check_manifest", "check_trial_id"]

# Every id a search gives a trial: t000, t012-refit, t005-torch-bf16, t003-onnx-int8. No separator,
# no dot, no absolute path: an id is a folder name under models/, never a path.
TRIAL_ID = re.compile(r"^t[0-9]{3,9}(-[a-z0-9]+){0,4}$")
_FAMILY = r"^[a-z][a-z0-9_-]{0,63}$"
_SHA256 = r"^[0-9a-f]{64}$"
# A file under the model directory: relative POSIX segments of safe characters, each starting with
# a letter, digit or "_" (so never "." or "..", never hidden, never absolute).
_REL_PATH = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*){0,8}$"

TrialId = Annotated[StrictStr, Field(pattern=TRIAL_ID.pattern)]
Number = StrictInt | StrictFloat
Count = Annotated[StrictInt, Field(ge=0)]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Run(_Closed):
    seed: StrictInt
    n_threads: Annotated[StrictInt, Field(ge=1)]
    budget_s: Annotated[Number, Field(ge=0)] | None
    wall_s: Annotated[Number, Field(ge=0)] | None
    price_per_core_hour: Annotated[Number, Field(ge=0)]
    price_per_gpu_hour: Annotated[Number, Field(ge=0)]
    extra: dict[StrictStr, Any] = {}


class _Trial(BaseModel):
    """A trial record: its id is checked here; its other fields by ``TrialResult.from_json``."""

    model_config = ConfigDict(extra="allow", strict=True)
    trial_id: TrialId
    family: Annotated[StrictStr, Field(pattern=_FAMILY)]


class Manifest(_Closed):
    format: Literal["lepton-ai model"]
    format_version: Annotated[StrictInt, Field(ge=1)]
    lepton_version: StrictStr
    task: Literal["classification", "regression"]
    schema_: Annotated[dict[StrictStr, Any], Field(alias="schema")]
    preprocessing: dict[StrictStr, Any]
    objective: Literal["balanced", "accuracy", "speed", "cost"]
    chosen: TrialId
    metrics: dict[StrictStr, Number | None]
    frontier: list[TrialId]
    models: Annotated[dict[TrialId, Annotated[StrictStr, Field(pattern=_FAMILY)]], Field(min_length=1)]
    trials: list[_Trial]
    run: _Run
    versions: dict[StrictStr, StrictStr]
    files: Annotated[dict[Annotated[StrictStr, Field(pattern=_REL_PATH)], Annotated[StrictStr, Field(pattern=_SHA256)]],
                     Field(min_length=1)]


def check_manifest(manifest: Any, where: str) -> None:
    """Raise :class:`ArtifactError` naming every bad field (up to five) unless ``manifest`` fits the schema."""
    try:
        Manifest.model_validate(manifest)
    except ValidationError as exc:
        problems = [_problem(e) for e in exc.errors()]
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ArtifactError(f"{where}: not a valid lepton-ai manifest: {'; '.join(problems[:5])}{more}. "
                            "Refusing to load it.") from None


def _problem(error: Any) -> str:
    """One validation error as ``field.path: what is wrong``; a refused key or id is shown as given."""
    loc = [str(p) for p in error["loc"] if p != "[key]"]
    where = ".".join(loc) or "(top level)"
    if error["type"] == "string_pattern_mismatch":
        kind = ("a relative path of safe names inside the model directory" if loc[:1] == ["files"]
                else "a trial id such as 't004' or 't004-onnx'" if "trial_id" in loc or loc[:1] in (["models"],
                ["chosen"], ["frontier"]) else "a lower-case name")
        return f"{where}: {error['input']!r} is not {kind} (a path outside the model directory is refused)"
    return f"{where}: {error['msg']}"


def check_trial_id(trial_id: object, where: str) -> str:
    """``trial_id`` when it is a well-formed trial id (a folder name, never a path), else ArtifactError."""
    if not isinstance(trial_id, str) or not TRIAL_ID.match(trial_id):
        raise ArtifactError(f"{where}: {trial_id!r} is not a trial id (expected e.g. 't004' or 't004-onnx').")
    return trial_id
