"""``lepton deploy``: one folder that builds an image serving a saved model and runs it on Kubernetes.

Layout of the folder (the image's build context)::

    OUT/Dockerfile            see deploy.dockerfile
    OUT/kubernetes.yaml       Deployment + Service, see deploy.kubernetes
    OUT/model/                the model, copied after its SHA-256 were checked, world-readable
    OUT/wheels/*.whl          only with ``wheel=``: lepton-ai installed from this file, not PyPI
    OUT/lepton-deploy.json    what was written and the measured inputs of the resources

The folder is written atomically (a temporary folder renamed into place); an existing ``OUT`` is
replaced only when it holds ``lepton-deploy.json``, i.e. when it is an earlier deployment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import ConfigError
from ..files import atomic_directory
from ..serve.app import ServeOptions
from ..store.manifest import MANIFEST, MANIFEST_DIGEST, read_manifest, sha256_file, verify_files
from .dockerfile import DEFAULT_BASE_IMAGE, TORCH_VERSION, ImageSpec, render_dockerfile
from .kubernetes import ManifestSpec, render_manifest
from .resources import Resources, estimate_resources

__all__ = ["DeployOptions", "write_deployment", "DEPLOY_MANIFEST"]

DEPLOY_MANIFEST = "lepton-deploy.json"
# Libraries whose version changes what a saved model predicts; pinned to the trainer's.
_PINNED_LIBRARIES = ("numpy", "scikit-learn", "lightgbm")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_IMAGE_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*")
_PUBLIC_VERSION = re.compile(r"\d+(\.\d+){1,3}")


@dataclass(frozen=True)
class DeployOptions:
    """How the model is packaged and run.

    ``name`` is the Kubernetes name and the model's name in the URL (default: the model folder's
    name made a DNS label); ``image`` the reference the manifest runs (default
    ``NAME:<first 12 hex of lepton.json's SHA-256>``, so a changed model gets a new tag);
    ``base_image`` the Python image to build on (default ``deploy.dockerfile.DEFAULT_BASE_IMAGE``);
    ``target_rps`` the requests per second one replica should carry, which sizes its CPU.
    """

    name: str | None = None
    image: str | None = None
    base_image: str | None = None
    port: int = 8000
    replicas: int = 1
    target_rps: float = 50.0
    wheel: Path | None = None


def write_deployment(model_dir: str | Path, out: str | Path, options: DeployOptions | None = None) -> Path:
    """Write the deployment folder ``out`` for the model directory ``model_dir``; return ``out``."""
    options = options or DeployOptions()
    model_dir, out = Path(model_dir), Path(out)
    _check_options(options)
    if out.exists() and not (out / DEPLOY_MANIFEST).is_file():  # atomic_directory refuses it too, in model terms
        raise ConfigError(f"--out {out}: exists and is not a folder `lepton deploy` wrote (no {DEPLOY_MANIFEST}); "
                          "refusing to overwrite it. Choose another path.")
    manifest = read_manifest(model_dir)
    verify_files(model_dir, manifest)  # never package a model that was changed after saving
    name = options.name or _dns_label(model_dir.resolve().name)
    image = options.image or f"{name}:{sha256_file(model_dir / MANIFEST)[:12]}"
    resources = estimate_resources(manifest, target_rps=options.target_rps)
    image_spec = ImageSpec(
        base_image=options.base_image or DEFAULT_BASE_IMAGE, torch_version=_torch_version(manifest),
        lepton_requirement=f"wheels/{options.wheel.name}" if options.wheel else f"lepton-ai=={__version__}",
        pins=_pins(manifest), name=name, port=options.port)
    manifest_spec = ManifestSpec(name=name, image=image, port=options.port, replicas=options.replicas,
                                 version=__version__, request_timeout_s=ServeOptions().timeout_s)
    with atomic_directory(out, replace_if=DEPLOY_MANIFEST) as tmp:
        _copy_model(model_dir, manifest, tmp / "model")
        if options.wheel is not None:
            (tmp / "wheels").mkdir()
            shutil.copyfile(options.wheel, tmp / "wheels" / options.wheel.name)
        (tmp / "Dockerfile").write_text(render_dockerfile(image_spec), encoding="utf-8")
        (tmp / "kubernetes.yaml").write_text(render_manifest(manifest_spec, resources), encoding="utf-8")
        record = _record(model_dir, image, image_spec, resources, options)
        (tmp / DEPLOY_MANIFEST).write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        tmp.chmod(0o755)  # the build context: readable by whoever runs the build
    return out


def _check_options(options: DeployOptions) -> None:
    if options.name is not None and not _DNS_LABEL.fullmatch(options.name):
        raise ConfigError(f"--name must be a DNS label (lower-case letters, digits and '-', at most 63, starting "
                          f"and ending with a letter or digit), as Kubernetes names are. Got {options.name!r}.")
    for flag, reference in (("--image", options.image), ("--base-image", options.base_image)):
        if reference is not None and not _IMAGE_REFERENCE.fullmatch(reference):
            raise ConfigError(f"{flag} must be an image reference such as 'registry/name:tag' (no spaces). "
                              f"Got {reference!r}.")
    if not (isinstance(options.port, int) and 1 <= options.port <= 65535):
        raise ConfigError(f"--port must be between 1 and 65535. Got {options.port!r}.")
    if not (isinstance(options.replicas, int) and options.replicas >= 0):
        raise ConfigError(f"--replicas must be an integer >= 0. Got {options.replicas!r}.")
    wheel = options.wheel
    if wheel is not None and (not wheel.is_file() or wheel.suffix != ".whl"):
        raise ConfigError(f"--wheel must be an existing lepton-ai wheel file (.whl). Got {str(wheel)!r}.")


def _copy_model(model_dir: Path, manifest: dict[str, Any], target: Path) -> None:
    """Copy the files the manifest lists (and nothing else), readable by the image's non-root user."""
    for rel in [MANIFEST, MANIFEST_DIGEST, *manifest["files"]]:
        source, copy = model_dir / rel, target / rel
        if not source.is_file():  # format 1 models have no digest file
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, copy)
        copy.chmod(0o644)
    for root, dirs, _ in os.walk(target):
        for d in dirs:
            Path(root, d).chmod(0o755)
    target.chmod(0o755)
    verify_files(target, manifest)


def _dns_label(text: str) -> str:
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    return label or "lepton-model"


def _public_version(version: object) -> str | None:
    """``2.13.0`` from ``2.13.0+cpu``; None for anything pip could not pin from PyPI (dev builds)."""
    public = str(version).split("+", 1)[0] if version else ""
    return public if _PUBLIC_VERSION.fullmatch(public) else None


def _torch_version(manifest: dict[str, Any]) -> str:
    return _public_version(manifest.get("versions", {}).get("torch")) or TORCH_VERSION


def _pins(manifest: dict[str, Any]) -> tuple[str, ...]:
    versions = manifest.get("versions", {})
    found = ((name, _public_version(versions.get(name))) for name in _PINNED_LIBRARIES)
    return tuple(f"{name}=={version}" for name, version in found if version)


def _record(model_dir: Path, image: str, spec: ImageSpec, resources: Resources,
            options: DeployOptions) -> dict[str, Any]:
    return {
        "format": "lepton-ai deployment", "lepton_version": __version__, "name": spec.name, "image": image,
        "model": str(model_dir.resolve()), "model_manifest_sha256": sha256_file(model_dir / MANIFEST),
        "base_image": spec.base_image, "torch": spec.torch_version, "lepton": spec.lepton_requirement,
        "pins": list(spec.pins), "port": options.port, "replicas": options.replicas,
        "resources": resources.to_json(),
    }
