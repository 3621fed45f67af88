"""The cache several nodes share: folders whole or not at all, checked digests, confined paths."""

from __future__ import annotations

import json
import time

import pytest

from lepton_ai import blobs
from lepton_ai.blobs import SharedCache, shared_cache
from lepton_ai.errors import ConfigError, StoreError
from redis_server import redis_server


@pytest.fixture(scope="module")
def url():
    with redis_server() as address:
        yield address


def _folder(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_a_folder_comes_back_whole_in_pieces(url, tmp_path, monkeypatch):
    monkeypatch.setattr(blobs, "_PIECE", 1000)  # several pieces per file
    source = _folder(tmp_path / "a", {"meta.json": b"{}", "x/train.npy": bytes(range(256)) * 20, "empty": b""})
    cache = SharedCache(url)
    cache.put("features:k1", source)
    assert cache.has("features:k1") and not cache.has("features:nope")
    assert cache.get("features:k1", tmp_path / "b")
    for name in ("meta.json", "x/train.npy", "empty"):
        assert (tmp_path / "b" / name).read_bytes() == (source / name).read_bytes()
    assert not cache.get("features:nope", tmp_path / "c") and not (tmp_path / "c").exists()


def test_a_replaced_folder_is_swapped_and_a_kept_one_is_not_overwritten(url, tmp_path):
    cache = SharedCache(url)
    cache.put("model:r:t1", _folder(tmp_path / "old", {"w": b"old"}))
    cache.put("model:r:t1", _folder(tmp_path / "new", {"w": b"new"}))  # kept: the first one stays
    assert cache.get("model:r:t1", tmp_path / "1") and (tmp_path / "1" / "w").read_bytes() == b"old"
    cache.put("model:r:t1", tmp_path / "new", replace=True)
    assert cache.get("model:r:t1", tmp_path / "2") and (tmp_path / "2" / "w").read_bytes() == b"new"


def test_a_tampered_file_is_refused_and_nothing_is_left(url, tmp_path):
    cache = SharedCache(url)
    cache.put("model:r:t2", _folder(tmp_path / "a", {"w": b"weights"}))
    manifest = json.loads(cache.client.get("lepton:model:r:t2:manifest"))
    cache.client.hset(manifest["files"], "w#0", b"WEIGHTS")
    with pytest.raises(StoreError, match="does not match its digest"):
        cache.get("model:r:t2", tmp_path / "b")
    assert not (tmp_path / "b").exists() and [p.name for p in tmp_path.iterdir()] == ["a"]


@pytest.mark.parametrize("name", ["../outside", "/etc/passwd", "a/../../b", "a\\..\\b"])
def test_a_file_name_that_leaves_the_folder_is_refused(url, tmp_path, name):
    cache = SharedCache(url)
    cache.client.set("lepton:evil:manifest", json.dumps(
        {"files": "lepton:files:x", "entries": {name: {"size": 0, "sha256": "", "pieces": 1}}}))
    with pytest.raises(StoreError, match="would leave its folder"):
        cache.get("evil", tmp_path / "b")
    assert not (tmp_path / "b").exists() and not (tmp_path.parent / "outside").exists()


def test_an_unreachable_cache_is_a_clear_error_within_seconds_without_its_password():
    pytest.importorskip("redis")
    started = time.monotonic()
    with pytest.raises(StoreError, match="127.0.0.1:9") as caught:
        SharedCache("redis://user:s3cret@127.0.0.1:9/0")
    assert time.monotonic() - started < 10 and "s3cret" not in str(caught.value)


def test_no_url_is_the_local_cache_and_another_scheme_is_refused():
    assert shared_cache(None) is None and shared_cache("") is None
    with pytest.raises(ConfigError, match="expected a Redis URL"):
        shared_cache("memcached://127.0.0.1:11211")
