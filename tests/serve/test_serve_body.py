"""The bounded JSON parse: depth and instance counts scanned before parsing, numbers past float64 kept."""

from __future__ import annotations

import json
import math
import tracemalloc

import pytest

from lepton_ai.serve import body as body_module
from lepton_ai.serve.body import OutOfRange, RequestError, parse_body

# Brackets and commas inside strings, escaped quotes, escaped backslashes before a closing quote.
TRICKY = r'{"instances": [{"a": "[[[,,,", "b": "\\", "c": "\"]]]{"}, {"d": "}}}],"}, [[1, 2], [3]]], "proba": false}'


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 7, 1 << 18])
def test_the_scan_ignores_brackets_and_commas_inside_strings_at_any_chunk_size(monkeypatch, chunk_bytes) -> None:
    monkeypatch.setattr(body_module, "_SCAN_CHUNK_BYTES", chunk_bytes)
    assert body_module._scan(TRICKY.encode()) == (4, 3, False)
    assert body_module._scan(b'{"instances": []}') == (2, 1, False)
    assert body_module._scan(b'"[[[[" ') == (0, 0, False)
    assert parse_body(TRICKY.encode(), max_depth=4, max_items=3) == json.loads(TRICKY)
    with pytest.raises(RequestError, match="nested 4 levels deep; at most 3"):
        parse_body(TRICKY.encode(), max_depth=3, max_items=3)


@pytest.mark.parametrize("chunk_bytes", [1, 2, 5, 1 << 18])
def test_the_scan_flags_runs_of_300_digits_at_any_chunk_size(monkeypatch, chunk_bytes) -> None:
    monkeypatch.setattr(body_module, "_SCAN_CHUNK_BYTES", chunk_bytes)
    assert body_module._scan(("[" + "9" * 300 + "]").encode()).maybe_huge
    assert not body_module._scan(("[" + "9" * 299 + ", " + "9" * 299 + "]").encode()).maybe_huge
    assert not body_module._scan(b"[1, 2.5e10, -1e99, 123456, 1e-9]").maybe_huge


@pytest.mark.parametrize("text", ["[1e400]", "[1E+123]", "[-1e-300]", '{"e": 1e100}'])
def test_the_scan_flags_3_digit_exponents(text: str) -> None:
    # One split between two chunks may be missed: then 1e400 parses as an infinity and is refused all the same.
    assert body_module._scan(text.encode()).maybe_huge


def test_too_many_instances_are_refused_before_parsing_in_bounded_memory() -> None:
    tiny = b'{"instances": [' + b",".join([b"[]"] * 1_000_000) + b"]}"  # 3 MB; json.loads builds 1M lists
    tracemalloc.start()
    try:
        with pytest.raises(RequestError, match="1000000 instances in one request; at most 10000") as caught:
            parse_body(tiny, max_depth=32, max_items=10_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.status == 413
    assert peak < 20 * 2**20, f"{peak / 2**20:.0f} MiB"  # the text copy and the scan's chunks, not 1M objects


def test_numbers_beyond_float64_are_kept_as_out_of_range_with_their_text() -> None:
    value = parse_body(b'[1e400, -' + b"9" * 5000 + b", " + b"9" * 309 + b", 12, 1.5, NaN]", max_depth=2, max_items=9)
    huge, negative, digits309, *rest = value
    assert isinstance(huge, OutOfRange) and huge == math.inf and huge.describe() == "1e400"
    assert isinstance(negative, OutOfRange) and negative == -math.inf
    assert negative.describe() == "-9999999999999999999... (5001 characters)"
    assert isinstance(digits309, OutOfRange)  # 309 nines > 1.8e308
    assert rest[:2] == [12, 1.5] and type(rest[0]) is int and math.isnan(rest[2])


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"a": "\xed\xa0\x80"}', "not valid UTF-8 JSON"),  # a surrogate encoded in the bytes themselves
    (b'{"a": 1', "not valid JSON"),
    ('{"a": "é"}'.encode("utf-16"), None),  # other encodings of RFC 8259 still parse
])
def test_encodings(raw: bytes, message: str | None) -> None:
    if message is None:
        assert parse_body(raw, max_depth=2, max_items=2) == {"a": "é"}
        return
    with pytest.raises(RequestError, match=message):
        parse_body(raw, max_depth=2, max_items=2)
