"""Bounded JSON parsing of a request body: nesting and list lengths are checked before parsing.

``json.loads`` alone lets a client's bytes reach failures that are no fault of the server: a 10 KB
body of ``[[[[...`` exhausts the recursion limit, an integer of 5,000 digits passes Python's
int/str limit, and one of 400 digits overflows ``float()``. So :func:`parse_body` first scans the
bytes with NumPy (brackets outside strings, in chunks of bounded memory) for their deepest nesting
and the number of values in the body's top-level lists (at least the number of instances), and
refuses either above its limit before any Python object is built; then it parses with number
hooks that turn every number beyond the float64 range into an :class:`OutOfRange` (an infinite
float that keeps the client's text), which the field checks refuse by name.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any, NamedTuple

import numpy as np

from ..errors import InputError

__all__ = ["OutOfRange", "RequestError", "error", "parse_body"]

Loc = list[str | int]

_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
# +1 for an opening bracket, -1 for a closing one, 0 for any other byte.
_NESTING = np.zeros(256, dtype=np.int8)
_NESTING[[ord("["), ord("{")]] = 1
_NESTING[[ord("]"), ord("}")]] = -1
_SCAN_CHUNK_BYTES = 1 << 18  # the scan's arrays stay under ~3 MB whatever the body size
_FLOAT64_DIGITS = 309  # an integer with more digits is beyond the float64 range
# Any number past float64 (|x| > 1.8e308) has 300 digits in a row or an exponent of 3 digits.
_HUGE_RUN = 300
_E = np.zeros(256, dtype=bool)
_E[[ord("e"), ord("E")]] = True
_SIGN = np.zeros(256, dtype=bool)
_SIGN[[ord("+"), ord("-")]] = True


class _Shape(NamedTuple):
    depth: int  # deepest nesting of lists and objects
    n_items: int  # values in the top-level object's lists, all together
    maybe_huge: bool  # a number may be past float64


class RequestError(InputError):
    """A request that cannot be predicted; ``errors`` are FastAPI-style ``{loc, msg, type}`` dicts.

    ``status`` is the HTTP answer: 422 for a bad field, 413 for a request past a size limit.
    """

    def __init__(self, errors: list[dict[str, Any]], status: int = 422) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors
        self.status = status


def error(loc: Loc, msg: str, kind: str = "value_error") -> dict[str, Any]:
    """One FastAPI-style error entry."""
    return {"loc": loc, "msg": msg, "type": kind}


class OutOfRange(float):
    """A JSON number beyond the float64 range: an infinite float that remembers the client's text."""

    text: str

    def __new__(cls, text: str) -> OutOfRange:
        number = super().__new__(cls, -math.inf if text.startswith("-") else math.inf)
        number.text = text
        return number

    def describe(self) -> str:
        """The number as the client wrote it, shortened: ``99999999999999999999... (5000 characters)``."""
        return self.text if len(self.text) <= 24 else f"{self.text[:20]}... ({len(self.text)} characters)"


def parse_body(body: bytes, *, max_depth: int, max_items: int) -> Any:
    """The JSON value of ``body``; raise :class:`RequestError` for bad JSON or a body past the limits.

    ``max_depth``: deepest nesting of lists and objects allowed (``{"instances": [{...}]}`` is 3).
    ``max_items``: most values allowed in the top-level object's lists, all together (413 past it).
    """
    try:
        encoding = json.detect_encoding(body)
        text = body.decode(encoding)  # strict, unlike json.loads(bytes): no lone surrogates from raw bytes
    except UnicodeDecodeError as exc:
        raise RequestError([error(["body"], f"not valid UTF-8 JSON: {exc.reason} at byte {exc.start}",
                                  "json_invalid")]) from None
    shape = _scan(body if encoding == "utf-8" else text.encode("utf-8"))
    if shape.depth > max_depth:
        raise RequestError([error(["body"], f"lists and objects nested {shape.depth} levels deep; at most "
                                            f"{max_depth} are accepted", "json_invalid")])
    if shape.n_items > max_items:
        raise RequestError([error(["body", "instances"], f"{shape.n_items} instances in one request; at most "
                                  f"{max_items} are accepted (--max-instances): split the request", "too_long")],
                           status=413)
    # The hooks cost a Python call per number (+130% parse time): only bodies that may need them get them.
    hooks: dict[str, Any] = {"parse_int": _parse_int, "parse_float": _parse_float} if shape.maybe_huge else {}
    try:
        return json.loads(text, **hooks)
    except json.JSONDecodeError as exc:
        raise RequestError([error(["body"], f"not valid JSON: {exc}", "json_invalid")]) from None


def _parse_int(text: str) -> int | float:
    if len(text) - text.startswith("-") > _FLOAT64_DIGITS:  # never call int() on it: past ~4300 digits it raises
        return OutOfRange(text)
    value = int(text)
    return value if abs(value) <= sys.float_info.max else OutOfRange(text)


def _parse_float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else OutOfRange(text)


def _scan(data: bytes) -> _Shape:
    """The :class:`_Shape` of JSON text, ignoring brackets and commas in strings.

    Invalid JSON gives some answer and then fails to parse; valid JSON gets the exact depth, and a
    count that is exact for ``{"instances": [...]}``.
    """
    view = np.frombuffer(data, dtype=np.uint8)
    depth = deepest = n_commas = 0
    in_string = maybe_huge = False
    backslashes = digits = 0  # the runs of backslashes and of digits that end the previous chunk
    for start in range(0, len(view), _SCAN_CHUNK_BYTES):
        chunk = view[start : start + _SCAN_CHUNK_BYTES]
        quotes = chunk == _QUOTE
        quotes &= ~_escaped(chunk, backslashes)
        inside = (np.cumsum(quotes, dtype=np.int32) + in_string) % 2 == 1  # in a string after this byte
        level = np.cumsum(np.where(inside, 0, _NESTING[chunk]), dtype=np.int32) + depth
        deepest = max(deepest, int(level.max()))
        n_commas += int(np.count_nonzero((chunk == _COMMA) & ~inside & (level == 2)))
        depth, in_string = int(level[-1]), bool(inside[-1])
        backslashes = _trailing_run(chunk == _BACKSLASH, backslashes)
        huge, digits = _huge_numbers(chunk, digits)
        maybe_huge |= huge
    # Commas at depth 2 separate the values of the top-level lists (all of them: a request has one).
    return _Shape(deepest, n_commas + 1 if deepest >= 2 else 0, maybe_huge)


def _huge_numbers(chunk: np.ndarray, digits: int) -> tuple[bool, int]:
    """(whether a digit run is 300 long or a 3-digit exponent starts here, the digit run ending the chunk).

    ``digits`` is the run ending the previous chunk. Strings count too: a false alarm costs time only.
    An exponent split across two chunks is missed; then 1e400 parses as an infinity, refused all the same.
    """
    is_digit = (chunk >= ord("0")) & (chunk <= ord("9"))
    if not is_digit.any():
        return False, 0
    index = np.arange(len(chunk), dtype=np.int32)
    last_other = np.maximum.accumulate(np.where(is_digit, -1, index))
    run = index - last_other + np.where(last_other < 0, digits, 0)  # digits ending at each byte
    third = np.flatnonzero((run == 3) & (last_other >= 0))  # the third digit of a run that starts in this chunk
    before = chunk[third - 3]
    exponent = _E[before] | (_SIGN[before] & _E[chunk[np.maximum(third - 4, 0)]] & (third >= 4))
    return bool(int(run.max()) >= _HUGE_RUN or exponent.any()), int(run[-1])


def _escaped(chunk: np.ndarray, backslashes: int) -> np.ndarray:
    """Whether each byte follows an odd run of backslashes (``backslashes`` end the previous chunk)."""
    is_backslash = chunk == _BACKSLASH
    if not is_backslash.any():
        escaped = np.zeros(len(chunk), dtype=bool)
        escaped[0] = backslashes % 2 == 1
        return escaped
    index = np.arange(len(chunk), dtype=np.int32)
    last_other = np.maximum.accumulate(np.where(is_backslash, -1, index))
    run = index - last_other + np.where(last_other < 0, backslashes, 0)  # backslashes ending at each byte
    return np.concatenate(([backslashes], run[:-1])) % 2 == 1


def _trailing_run(matches: np.ndarray, carried: int) -> int:
    """The length of the run of True that ends ``matches`` (``carried`` from before it, if it is all True)."""
    others = np.flatnonzero(~matches)
    return len(matches) + carried if len(others) == 0 else len(matches) - 1 - int(others[-1])
