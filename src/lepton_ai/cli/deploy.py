"""``lepton deploy MODEL --out DIR``: write the Dockerfile and Kubernetes manifest that serve MODEL."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..deploy import DEPLOY_MANIFEST, DeployOptions, write_deployment

__all__ = ["run_deploy"]


def run_deploy(*, model_dir: Path, out: Path, options: DeployOptions) -> None:
    """Write the deployment folder and print what to run next."""
    written = write_deployment(model_dir, out, options)
    record = json.loads((written / DEPLOY_MANIFEST).read_text(encoding="utf-8"))
    resources = record["resources"]
    typer.echo(f"wrote {written}/Dockerfile, {written}/kubernetes.yaml and a copy of the model in {written}/model")
    typer.echo(f"per replica: cpu {resources['cpu_request_milli']}m (limit {resources['cpu_limit_milli']}m), "
               f"memory {resources['memory_request_bytes'] // 2**20}Mi (limit "
               f"{resources['memory_limit_bytes'] // 2**20}Mi) for {resources['target_rps']:g} requests/s")
    typer.echo(f"  docker build -t {record['image']} {written}   (then push it where the cluster pulls from)")
    typer.echo(f"  kubectl create secret generic {record['name']}-token "
               "--from-literal=token=\"$(openssl rand -hex 32)\"")
    typer.echo(f"  kubectl apply -f {written}/kubernetes.yaml")
