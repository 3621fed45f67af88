"""Request decoding and validation, response encoding, and the OpenAPI schema of the predict body.

A request is ``{"instances": [...], "proba": false}`` (KServe V1). Each instance is checked on its
own against the model's schema, and every problem is reported with its location, in FastAPI's
422 shape: ``{"detail": [{"loc": ["body", "instances", 3, "x1"], "msg": "...", "type": "..."}]}``.
Tables: an object keyed by column name (``null`` is a missing value, imputed as in training;
NaN, infinities, numbers past the float32 range and strings that are not valid Unicode are refused).
Images: a base64 PNG/JPEG (resized to the training size) or a nested list of exactly the training
shape. Sequences: a nested list of exactly the training shape. The body is parsed by
:func:`.body.parse_body`, which refuses deep nesting and too many instances before parsing; the
checks stop after :data:`MAX_ERRORS` errors.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
from typing import Any

import numpy as np

from ..data.dataset import Schema
from .body import OutOfRange, RequestError, parse_body
from .body import error as _error

__all__ = ["RequestError", "decode_request", "request_body_schema", "Decoded", "MAX_ERRORS"]

Loc = list[str | int]
# Features are computed in float32: larger magnitudes cannot be represented.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Validation stops after this many errors: a client needs the first few, and listing a million costs CPU.
MAX_ERRORS = 20
# Deeper JSON is refused before parsing; a table row needs 3 levels, an image or a sequence 2 + its dimensions.
_MAX_DEPTH = 32


class Decoded:
    """The validated rows of one request: ``rows`` (dicts for tables) or ``arrays`` (images, sequences);
    ``ids``: per row, the value of the model's id column (``None`` where a row has none), or ``None``
    when no row has one."""

    def __init__(self, rows: list[Any], proba: bool, ids: list[Any] | None = None) -> None:
        self.rows = rows
        self.proba = proba
        self.ids = ids

    def __len__(self) -> int:
        return len(self.rows)


def decode_request(body: bytes, schema: Schema, *, max_instances: int = 10_000) -> Decoded:
    """Parse and validate a predict body; raise :class:`RequestError` naming the bad fields.

    Past ``max_instances`` instances the request is refused (413) before any is checked; after
    :data:`MAX_ERRORS` errors the checks stop and a last entry says how much was left unchecked.
    """
    payload = parse_body(body, max_depth=max(_MAX_DEPTH, 3 + len(schema.shape)), max_items=max_instances)
    instances, proba = _check_payload(payload, schema)
    if len(instances) > max_instances:  # the scan counts all top-level lists; this is exact
        raise RequestError([_error(["body", "instances"], f"{len(instances)} instances in one request; at most "
                                   f"{max_instances} are accepted (--max-instances): split the request", "too_long")],
                           status=413)
    check = _check_row if schema.modality in ("tabular", "text") else _check_array
    errors: list[dict[str, Any]] = []
    rows = []
    for i, instance in enumerate(instances):
        rows.append(check(["body", "instances", i], instance, schema, errors))
        if len(errors) >= MAX_ERRORS:
            break
    if errors:
        shown = errors[:MAX_ERRORS]
        if len(errors) > MAX_ERRORS or len(rows) < len(instances):
            shown.append(_stopped(len(errors), len(rows), len(instances)))
        raise RequestError(shown)
    return Decoded(rows, bool(proba), _ids(instances, schema.id_column))


def _ids(instances: list[Any], column: str | None) -> list[Any] | None:
    """The id of each instance (a table row carrying the model's id column), to echo beside its prediction."""
    if column is None or not any(isinstance(row, dict) and column in row for row in instances):
        return None
    return [row.get(column) if isinstance(row, dict) else None for row in instances]


def _check_payload(payload: Any, schema: Schema) -> tuple[list[Any], bool]:
    """The instances and proba of ``{"instances": [...], "proba": false}``, or a RequestError."""
    if not isinstance(payload, dict):
        raise RequestError([_error(["body"], 'expected an object {"instances": [...]}', "dict_type")])
    errors = [_error(["body", key], "unknown field; expected instances and proba", "extra_forbidden")
              for key in payload if key not in ("instances", "proba")]
    proba = payload.get("proba", False)
    if not isinstance(proba, bool):
        errors.append(_error(["body", "proba"], "expected true or false", "bool_type"))
    instances = payload.get("instances")
    if instances is None:
        errors.append(_error(["body", "instances"], "missing: a list of instances to predict", "missing"))
    elif not isinstance(instances, list) or not instances:
        errors.append(_error(["body", "instances"], "expected a non-empty list", "list_type"))
    if errors:
        raise RequestError(errors[:MAX_ERRORS])
    assert isinstance(instances, list)
    if proba and schema.task != "classification":
        raise RequestError([_error(["body", "proba"], "this model does regression: it has no probabilities")])
    return instances, proba


def _stopped(n_errors: int, n_checked: int, n_instances: int) -> dict[str, Any]:
    """The closing entry of a cut error list: how many errors are not shown, which instances were not checked."""
    more = n_errors - MAX_ERRORS
    parts = [f"{more} more error{'s' if more > 1 else ''} not shown"] if more > 0 else []
    if n_checked < n_instances - 1:
        parts.append(f"instances {n_checked} to {n_instances - 1} were not checked")
    elif n_checked == n_instances - 1:
        parts.append(f"instance {n_checked} was not checked")
    return _error(["body", "instances"], f"validation stopped after {MAX_ERRORS} errors: {'; '.join(parts)}",
                  "too_many_errors")


# ---- tables ------------------------------------------------------------------------------------
def _check_row(loc: Loc, row: Any, schema: Schema, errors: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not isinstance(row, dict):
        errors.append(_error(loc, "expected an object keyed by column name", "dict_type"))
        return None
    known = {c.name for c in schema.columns} | set(schema.input_columns) | {schema.label, schema.id_column}
    expected = ", ".join(schema.feature_names[:20])
    for key in row:
        if key not in known:
            errors.append(_error([*loc, key], f"unknown column; expected columns: {expected}", "extra_forbidden"))
    out: dict[str, Any] = {}
    for column in schema.columns:
        if column.name not in row:
            errors.append(_error([*loc, column.name], f"missing column ({column.kind}; null for a missing value)",
                                 "missing"))
            continue
        value, problem = _convert(row[column.name], column.kind, column.format)
        if problem:
            errors.append(_error([*loc, column.name], problem, "type_error"))
        out[column.name] = value
    return out


def _convert(value: Any, kind: str, fmt: str | None = None) -> tuple[Any, str | None]:
    """The value as the preparer reads it, or a message saying what was expected (``fmt``: a date
    column's format)."""
    if value is None:
        return (math.nan if kind == "numeric" else None), None
    if (isinstance(value, float) and not math.isfinite(value)) or (isinstance(value, str) and not value.isascii()):
        problem = _unusable(value, kind)
        if problem:
            return None, problem
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "numeric":
        if not is_number:
            return None, f"expected a number or null, got {_show(value)}"
        if abs(value) > FLOAT32_MAX:
            return None, f"{float(value):g} is outside the float32 range the model computes in " \
                         f"(|x| <= {FLOAT32_MAX:.3g})"
        return float(value), None
    if kind == "boolean":
        if isinstance(value, bool) or (is_number and value in (0, 1)):
            return bool(value), None
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "t", "f", "y", "n"):
            return value, None
        return None, f"expected true or false, got {_show(value)}"
    if kind == "text":
        return (value, None) if isinstance(value, str) else (None, f"expected a string or null, got {_show(value)}")
    if kind == "date":
        return _date(value, fmt)
    if isinstance(value, (str, bool)) or not is_number:  # categorical: categories are matched as strings
        return (str(value), None) if isinstance(value, (str, bool)) else \
            (None, f"expected a category (string or number) or null, got {_show(value)}")
    # A CSV column of integer categories was read as numbers and stored as "3", not "3.0".
    return str(int(value)) if isinstance(value, int) or value.is_integer() else str(value), None


def _date(value: Any, fmt: str | None) -> tuple[Any, str | None]:
    """A date column's value: text that reads as a date (in ``fmt`` or as ISO 8601), kept as text."""
    from ..data.dates import to_datetimes
    from ..errors import DataError

    layout = f" ({fmt}, or ISO 8601)" if fmt else " (ISO 8601)"
    if not isinstance(value, str):
        return None, f"expected a date string{layout} or null, got {_show(value)}"
    try:
        to_datetimes([value], fmt, "", "")
    except DataError:
        return None, f"expected a date{layout}, got {_show(value)}"
    return value, None


def _unusable(value: float | str, kind: str) -> str | None:
    """Why a number or string no column can take is refused: beyond float64, NaN/infinity, not Unicode."""
    if isinstance(value, OutOfRange):
        limit = f"the float32 range the model computes in (|x| <= {FLOAT32_MAX:.3g})" if kind == "numeric" \
            else "the range of a JSON number here (|x| <= 1.8e308)"
        return f"{value.describe()} is outside {limit}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not allowed; send null for a missing value"
    if isinstance(value, str) and not _is_unicode(value):
        return "not valid Unicode: the string holds a lone surrogate (such as \\ud800)"
    return None


def _is_unicode(text: str) -> bool:
    """False for a string with a lone surrogate, which JSON escapes allow and UTF-8 cannot encode."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _show(value: Any) -> str:
    """A short description of a client's value for a message: never the whole of a long string or list."""
    if isinstance(value, list):
        return f"a list of {len(value)} values"
    if isinstance(value, dict):
        return f"an object of {len(value)} keys"
    text = json.dumps(value[:41] if isinstance(value, str) else value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


# ---- images and sequences ----------------------------------------------------------------------
def _check_array(loc: Loc, value: Any, schema: Schema, errors: list[dict[str, Any]]) -> np.ndarray | None:
    shape = tuple(schema.shape)
    if isinstance(value, str) and schema.modality == "image":
        try:
            return _decode_image(value, shape)
        except ValueError as exc:
            errors.append(_error(loc, str(exc), "value_error"))
            return None
    what = "a base64 PNG/JPEG string or a nested list" if schema.modality == "image" else "a nested list"
    if not isinstance(value, list):
        errors.append(_error(loc, f"expected {what} of shape {list(shape)}", "type_error"))
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        errors.append(_error(loc, f"expected a nested list of numbers of shape {list(shape)} (ragged or not numbers)",
                             "type_error"))
        return None
    if array.shape != shape:
        errors.append(_error(loc, f"wrong shape {list(array.shape)}; expected {list(shape)}", "value_error"))
        return None
    if not (np.abs(array) <= FLOAT32_MAX).all():  # False for NaN too
        errors.append(_error(loc, f"NaN, infinite or too large values are not allowed (|x| <= {FLOAT32_MAX:.3g}, "
                                  "the float32 range the model computes in)", "value_error"))
        return None
    return array


def _described(column: Any) -> dict[str, str]:
    if column.kind != "date":
        return {}
    return {"description": f"a date, as {column.format} or ISO 8601" if column.format else "a date (ISO 8601)"}


def _decode_image(text: str, shape: tuple[int, ...]) -> np.ndarray:
    from ..data.images import decode_image
    from ..errors import DataError

    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not valid base64") from None
    try:
        pixels = decode_image(io.BytesIO(raw), (int(shape[1]), int(shape[0])), 3 if len(shape) == 3 else 1)
    except DataError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise ValueError(f"undecodable image: {reason}") from None
    return pixels.astype(np.float64)


# ---- OpenAPI ------------------------------------------------------------------------------------
def request_body_schema(schema: Schema) -> dict[str, Any]:
    """The JSON schema of a predict body for this model (documentation and fuzzing)."""
    if schema.modality in ("tabular", "text"):
        number = {"type": ["number", "null"], "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX}
        types = {"numeric": ["number", "null"], "boolean": ["boolean", "null"], "text": ["string", "null"],
                 "date": ["string", "null"],
                 "categorical": ["string", "number", "boolean", "null"]}
        ignored = [n for n in (*schema.input_columns, schema.label) if n not in set(schema.feature_names)]
        instance: dict[str, Any] = {
            "type": "object",
            "properties": {**{c.name: number if c.kind == "numeric" else {"type": types[c.kind], **_described(c)}
                              for c in schema.columns},
                           **{n: {"description": "not used by the model; ignored"} for n in ignored},
                           **({schema.id_column: {"description": "the row's id, returned beside its prediction "
                                                                 "(ids)"}} if schema.id_column else {})},
            "required": [c.name for c in schema.columns],
            "additionalProperties": False,
        }
    else:
        instance = _nested_list_schema(tuple(schema.shape))
        if schema.modality == "image":
            instance = {"oneOf": [instance, {"type": "string", "contentEncoding": "base64",
                                             "description": "a PNG or JPEG file, base64-encoded"}]}
    return {
        "type": "object",
        "properties": {"instances": {"type": "array", "minItems": 1, "items": instance},
                       "proba": {"type": "boolean", "default": False}},
        "required": ["instances"],
        "additionalProperties": False,
    }


def _nested_list_schema(shape: tuple[int, ...]) -> dict[str, Any]:
    if not shape:
        return {"type": "number"}
    return {"type": "array", "minItems": shape[0], "maxItems": shape[0], "items": _nested_list_schema(shape[1:])}
