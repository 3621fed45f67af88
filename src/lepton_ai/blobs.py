"""A cache several nodes share: folders (prepared features, trained models) kept whole in Redis.

``LEPTON_CACHE=redis://host:6379/0`` (or ``cache=`` on the engine) makes every node that searches
or resumes put what it prepares and trains here, and fetch what another node made instead of
preparing or training it again; without it, the local folder under ``$LEPTON_HOME`` is the cache.

A folder is stored as one Redis hash of its files (in pieces of at most 32 MiB) under the digest
of its contents, and a manifest under its key (prepared features: their content hash; a model: its
run and trial) that names that digest and every file's size and SHA-256, written last: a reader sees
a folder whole or not at all, and a replaced folder is swapped in one write. Fetching checks every file's
digest, writes the folder through a temporary name and a rename, and refuses a path that would
leave the folder (absolute, ``..``), so nothing a shared cache holds is read unchecked or written
outside its place. Why by hand: redis-py gives the commands; this module is the layout on top of
them (atomic folders, digests, confinement), which no library provides.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ConfigError, StoreError

__all__ = ["SharedCache", "shared_cache"]

_PIECE = 32 * 2**20
_PREFIX = "lepton:"
_TIMEOUT_S = 5


class SharedCache:
    """Folders by key in the Redis at ``url``."""

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ModuleNotFoundError:
            raise ConfigError(f"cache {url!r} needs the redis client: pip install 'lepton-ai[cluster]'.") from None
        self.url = url
        self.shown = _without_password(url)
        try:
            self.client = redis.Redis.from_url(url, socket_connect_timeout=_TIMEOUT_S, socket_timeout=60)
            self.client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(f"shared cache {self.shown}: cannot reach it ({exc}). Check the address and that "
                             "Redis runs, or leave LEPTON_CACHE unset for the local cache.") from None

    def has(self, key: str) -> bool:
        return bool(self._call(self.client.exists, _manifest(key)))

    def put(self, key: str, directory: Path, *, replace: bool = False) -> None:
        """Store the files under ``directory`` as ``key``. A key stored already is kept unless
        ``replace``; a replacement is atomic too (the files go under their own digest first, then the
        manifest is swapped), so a reader gets the old folder or the new one."""
        files = {p.relative_to(directory).as_posix(): p for p in Path(directory).rglob("*") if p.is_file()}
        self.put_files(key, files, replace=replace)

    def put_files(self, key: str, files: dict[str, Path], *, replace: bool = False) -> None:
        """Store ``files`` (name in the folder → file here) as the folder ``key``; see :meth:`put`."""
        if not replace and self.has(key):
            return
        entries: dict[str, dict[str, Any]] = {}
        contents: dict[str, bytes] = {}
        for name, path in sorted(files.items()):
            contents[name] = data = Path(path).read_bytes()
            entries[name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                             "pieces": max(1, -(-len(data) // _PIECE))}
        digest = hashlib.sha256(json.dumps(entries, sort_keys=True).encode()).hexdigest()
        held = f"{_PREFIX}files:{digest}"
        pipe = self.client.pipeline(transaction=False)
        if not self._call(self.client.exists, held):
            for name, data in contents.items():
                for k in range(entries[name]["pieces"]):
                    pipe.hset(held, f"{name}#{k}", data[k * _PIECE:(k + 1) * _PIECE])
        pipe.set(_manifest(key), json.dumps({"files": held, "entries": entries}))  # last: whole once this exists
        self._call(pipe.execute)

    def get(self, key: str, target: Path) -> bool:
        """Write the folder ``key`` to ``target`` (left as it is when another process wrote it first);
        False when the cache lacks it."""
        raw = self._call(self.client.get, _manifest(key))
        if raw is None:
            return False
        manifest = json.loads(raw)
        files, entries = manifest["files"], manifest["entries"]
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name[:12]}.fetch-", dir=target.parent))
        try:
            for name, entry in entries.items():
                path = _confined(tmp, name, key)
                fields = [f"{name}#{k}" for k in range(int(entry["pieces"]))]
                data = b"".join(piece or b"" for piece in self._call(self.client.hmget, files, fields))
                if len(data) != entry["size"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
                    raise StoreError(f"shared cache {self.shown}: {key}/{name} does not match its digest; "
                                     "delete the key and run again.")
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
            try:
                os.replace(tmp, target)
            except OSError:
                if not target.is_dir():
                    raise
                shutil.rmtree(tmp, ignore_errors=True)  # another process fetched it first: the same files
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return True

    def delete(self, key: str) -> None:
        """Forget ``key`` (its files stay while another key names the same digest)."""
        self._call(self.client.delete, _manifest(key))

    def _call(self, method: Any, *args: Any) -> Any:
        import redis

        try:
            return method(*args)
        except redis.RedisError as exc:
            raise StoreError(f"shared cache {self.shown}: {exc}.") from None


def shared_cache(url: str | None) -> SharedCache | None:
    """The shared cache at ``url``, or ``None`` (the local folder alone) when no URL is given."""
    if not url:
        return None
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"cache {url!r}: expected a Redis URL (redis://host:6379/0), or none for the local cache.")
    return SharedCache(url)


def _manifest(key: str) -> str:
    return f"{_PREFIX}{key}:manifest"


def _confined(root: Path, name: str, key: str) -> Path:
    """``root/name``, refusing a name that would leave ``root``."""
    parts = PurePosixPath(name).parts
    if not parts or PurePosixPath(name).is_absolute() or any(p in ("..", "") for p in parts) or "\\" in name:
        raise StoreError(f"shared cache entry {key}: file name {name!r} would leave its folder; refusing it.")
    return root.joinpath(*parts)


def _without_password(url: str) -> str:
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, credentials = head.partition("://")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user + ':***' if ':' in credentials else user}@{tail}"
