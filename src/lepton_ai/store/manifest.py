"""The model manifest ``lepton.json``: format version, contents and the SHA-256 of every file.

Beside it, ``lepton.json.sha256`` holds the SHA-256 of the manifest itself (format 2 on), so an
edited or truncated manifest is refused like an edited weight file. Format 1 models, written
before the digest existed, load without one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import ArtifactError
from .schema import check_manifest

__all__ = ["MANIFEST", "MANIFEST_DIGEST", "FORMAT", "FORMAT_VERSION", "sha256_file", "hash_files", "read_manifest",
           "verify_files", "write_manifest"]

MANIFEST = "lepton.json"
MANIFEST_DIGEST = "lepton.json.sha256"
FORMAT = "lepton-ai model"
FORMAT_VERSION = 2
_FIRST_WITH_DIGEST = 2


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hash_files(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` except the manifest, by POSIX relative path."""
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() not in (MANIFEST, MANIFEST_DIGEST)
    }


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Write ``lepton.json`` and its digest into ``root`` (a directory being built, not yet in place)."""
    # Not sort_keys: the order is the manifest's own (format first) and keeps each trial's
    # parameters in their order, so a loaded model's leaderboard reads as before saving.
    data = json.dumps(manifest, indent=1).encode("utf-8")
    (root / MANIFEST).write_bytes(data)
    (root / MANIFEST_DIGEST).write_text(hashlib.sha256(data).hexdigest() + "\n", encoding="ascii")


def read_manifest(root: Path) -> dict[str, Any]:
    """Read and check ``root/lepton.json``; refuse anything that is not a model of a known format."""
    if not root.exists():
        raise ArtifactError(f"{root}: no such model directory.")
    if root.is_file():
        hint = ""
        if root.suffix.lower() in {".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".bin"}:
            hint = " lepton-ai never loads pickles or torch checkpoints, which can run code;"
        raise ArtifactError(f"{root}: is a file, not a lepton-ai model directory.{hint} "
                            "Pass the directory that save_model wrote.")
    path = root / MANIFEST
    if not path.exists():
        raise ArtifactError(f"{root}: not a lepton-ai model directory (no {MANIFEST}).")
    try:
        data = path.read_bytes()
        manifest = json.loads(data.decode("utf-8"))
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot be read ({exc.strerror or exc}).") from exc
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ArtifactError(f"{path}: is not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{path}: is not a lepton-ai model manifest.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ArtifactError(f"{path}: format_version must be an integer >= 1; got {version!r}.")
    if version > FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format version {version} is newer than this lepton-ai reads ({FORMAT_VERSION}); "
            f"it was written by lepton-ai {manifest.get('lepton_version', '?')}. Upgrade lepton-ai to load it."
        )
    if version >= _FIRST_WITH_DIGEST:
        _check_digest(root, data)
    check_manifest(manifest, str(path))
    return manifest


def _check_digest(root: Path, data: bytes) -> None:
    digest_path = root / MANIFEST_DIGEST
    try:
        expected = digest_path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{digest_path}: missing or unreadable; the manifest cannot be checked. "
                            "Refusing to load.") from exc
    if hashlib.sha256(data).hexdigest() != expected:
        raise ArtifactError(f"{root / MANIFEST}: does not match its SHA-256 in {MANIFEST_DIGEST}; it was modified "
                            "or corrupted. Refusing to load.")


def verify_files(root: Path, manifest: dict[str, Any]) -> None:
    """Check that the files are exactly those listed, with the listed SHA-256."""
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not listed:
        raise ArtifactError(f"{root / MANIFEST}: lists no files.")
    resolved_root = root.resolve()
    for rel, expected in listed.items():
        path = (root / rel).resolve()
        if resolved_root not in path.parents:
            raise ArtifactError(f"{root / MANIFEST}: file entry {rel!r} points outside the model directory.")
        if not path.is_file():
            raise ArtifactError(f"{root}: file {rel!r} listed in {MANIFEST} is missing.")
        if sha256_file(path) != expected:
            raise ArtifactError(f"{root}: file {rel!r} does not match its SHA-256 in {MANIFEST}; "
                                "it was modified or corrupted. Refusing to load.")
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")}
    present -= {MANIFEST, MANIFEST_DIGEST}
    extra = sorted(present - set(listed))
    if extra:
        raise ArtifactError(f"{root}: holds files not listed in {MANIFEST}: {', '.join(extra[:5])}. "
                            "Refusing to load a directory that was changed after saving.")
