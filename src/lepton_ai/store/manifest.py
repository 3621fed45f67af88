"""The model manifest ``lepton.json``: format version, contents and the SHA-256 of every file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import ArtifactError

__all__ = ["MANIFEST", "FORMAT", "FORMAT_VERSION", "sha256_file", "hash_files", "read_manifest", "verify_files"]

MANIFEST = "lepton.json"
FORMAT = "lepton-ai model"
FORMAT_VERSION = 1


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
        if p.is_file() and p.name != MANIFEST
    }


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
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path}: is not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{path}: is not a lepton-ai model manifest.")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise ArtifactError(f"{path}: has no valid format_version.")
    if version > FORMAT_VERSION:
        raise ArtifactError(
            f"{path}: format version {version} is newer than this lepton-ai reads ({FORMAT_VERSION}); "
            f"it was written by lepton-ai {manifest.get('lepton_version', '?')}. Upgrade lepton-ai to load it."
        )
    return manifest


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
    present = {rel for rel in hash_files(root) if not Path(rel).name.startswith(".")}
    extra = sorted(present - set(listed))
    if extra:
        raise ArtifactError(f"{root}: holds files not listed in {MANIFEST}: {', '.join(extra[:5])}. "
                            "Refusing to load a directory that was changed after saving.")
