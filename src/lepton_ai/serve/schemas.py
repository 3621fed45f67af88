"""Request decoding and validation, response encoding, and the OpenAPI schema of the predict body.

A request is ``{"instances": [...], "proba": false}`` (KServe V1). Each instance is checked on its
own against the model's schema, and every problem is reported with its location, in FastAPI's
422 shape: ``{"detail": [{"loc": ["body", "instances", 3, "x1"], "msg": "...", "type": "..."}]}``.
Tables: an object keyed by column name (``null`` is a missing value, imputed as in training;
NaN and infinities are refused). Images: a base64 PNG/JPEG (resized to the training size) or a
nested list of exactly the training shape. Sequences: a nested list of exactly the training shape.
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

__all__ = ["RequestError", "decode_request", "request_body_schema", "Decoded"]

Loc = list[str | int]
# Features are computed in float32: larger magnitudes cannot be represented.
FLOAT32_MAX = float(np.finfo(np.float32).max)


class RequestError(Exception):
    """A request that cannot be predicted; ``errors`` are FastAPI-style ``{loc, msg, type}`` dicts."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors


def _error(loc: Loc, msg: str, kind: str = "value_error") -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


class Decoded:
    """The validated rows of one request: ``rows`` (dicts for tables) or ``arrays`` (images, sequences)."""

    def __init__(self, rows: list[Any], proba: bool) -> None:
        self.rows = rows
        self.proba = proba

    def __len__(self) -> int:
        return len(self.rows)


def decode_request(body: bytes, schema: Schema) -> Decoded:
    """Parse and validate a predict body; raise :class:`RequestError` naming every bad field."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError([_error(["body"], f"not valid JSON: {exc}", "json_invalid")]) from None
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
        raise RequestError(errors)
    assert isinstance(instances, list)
    if proba and schema.task != "classification":
        raise RequestError([_error(["body", "proba"], "this model does regression: it has no probabilities")])
    check = _check_row if schema.modality in ("tabular", "text") else _check_array
    rows = [check(["body", "instances", i], instance, schema, errors) for i, instance in enumerate(instances)]
    if errors:
        raise RequestError(errors[:20])
    return Decoded(rows, bool(proba))


# ---- tables ------------------------------------------------------------------------------------
def _check_row(loc: Loc, row: Any, schema: Schema, errors: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not isinstance(row, dict):
        errors.append(_error(loc, "expected an object keyed by column name", "dict_type"))
        return None
    known = {c.name for c in schema.columns} | set(schema.input_columns) | {schema.label}
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
        value, problem = _convert(row[column.name], column.kind)
        if problem:
            errors.append(_error([*loc, column.name], problem, "type_error"))
        out[column.name] = value
    return out


def _convert(value: Any, kind: str) -> tuple[Any, str | None]:
    """The value as the preparer reads it, or a message saying what was expected."""
    if value is None:
        return (math.nan if kind == "numeric" else None), None
    if isinstance(value, float) and not math.isfinite(value):
        return None, f"{value} is not allowed; send null for a missing value"
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "numeric":
        if not is_number:
            return None, f"expected a number or null, got {_show(value)}"
        if abs(value) > FLOAT32_MAX:
            return None, f"{value:g} is outside the float32 range the model computes in (|x| <= {FLOAT32_MAX:.3g})"
        return float(value), None
    if kind == "boolean":
        if isinstance(value, bool) or (is_number and value in (0, 1)):
            return bool(value), None
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "t", "f", "y", "n"):
            return value, None
        return None, f"expected true or false, got {_show(value)}"
    if kind == "text":
        return (value, None) if isinstance(value, str) else (None, f"expected a string or null, got {_show(value)}")
    if isinstance(value, (str, bool)) or is_number:  # categorical: categories are matched as strings
        return (str(value) if not is_number or not float(value).is_integer() else _category_number(value)), None
    return None, f"expected a category (string or number) or null, got {_show(value)}"


def _category_number(value: float) -> str:
    # A CSV column of integer categories was read as numbers and stored as "3", not "3.0".
    return str(int(value))


def _show(value: Any) -> str:
    text = json.dumps(value)
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
    if not np.isfinite(array).all():
        errors.append(_error(loc, "NaN or infinite values are not allowed", "value_error"))
        return None
    return array


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
                 "categorical": ["string", "number", "boolean", "null"]}
        ignored = [n for n in (*schema.input_columns, schema.label) if n not in set(schema.feature_names)]
        instance: dict[str, Any] = {
            "type": "object",
            "properties": {**{c.name: number if c.kind == "numeric" else {"type": types[c.kind]}
                              for c in schema.columns},
                           **{n: {"description": "not used by the model; ignored"} for n in ignored}},
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
