"""The deployment folder: a verified, readable model copy, atomic rewrites, refused options; a slow image build."""

from __future__ import annotations

import json
import shutil
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from deploy_fixtures import saved_wine_model
from sklearn.datasets import load_wine

from lepton_ai import load_model
from lepton_ai.deploy import DEPLOY_MANIFEST, DeployOptions, write_deployment
from lepton_ai.errors import ArtifactError, ConfigError


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    return saved_wine_model(tmp_path_factory)

REPO = Path(__file__).resolve().parents[2]


def test_the_folder_holds_the_dockerfile_manifest_and_a_loadable_model(saved_model, tmp_path):
    out = write_deployment(saved_model, tmp_path / "deploy")
    assert {p.name for p in out.iterdir()} == {"Dockerfile", "kubernetes.yaml", "model", DEPLOY_MANIFEST}
    X = load_wine(as_frame=True).frame.drop(columns="target").head(20)
    np.testing.assert_array_equal(load_model(out / "model").predict(X), load_model(saved_model).predict(X))
    record = json.loads((out / DEPLOY_MANIFEST).read_text(encoding="utf-8"))
    assert record["name"] == "wine-model" and record["image"].startswith("wine-model:")


def test_the_model_copy_is_readable_by_the_image_user(saved_model, tmp_path):
    saved_model.chmod(0o700)  # save_model's folders are private to their owner
    out = write_deployment(saved_model, tmp_path / "deploy")
    for path in [out, *(out / "model").rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))


def test_a_tampered_model_is_not_packaged(saved_model, tmp_path):
    model = Path(shutil.copytree(saved_model, tmp_path / "model"))
    weights = next((model / "models").rglob("weights.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ArtifactError, match="does not match its SHA-256"):
        write_deployment(model, tmp_path / "deploy")
    assert not (tmp_path / "deploy").exists()


def test_an_earlier_deployment_is_replaced(saved_model, tmp_path):
    out = write_deployment(saved_model, tmp_path / "deploy", DeployOptions(port=8001))
    write_deployment(saved_model, out, DeployOptions(port=9002))
    assert "EXPOSE 9002" in (out / "Dockerfile").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["deploy"]  # no temporary folder left beside it


def test_a_folder_that_is_not_a_deployment_is_never_overwritten(saved_model, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a folder `lepton deploy` wrote"):
        write_deployment(saved_model, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize(("options", "message"), [
    (DeployOptions(name="Wine_Model"), "--name must be a DNS label"),
    (DeployOptions(name="x" * 64), "--name must be a DNS label"),
    (DeployOptions(image="repo/img:1\nRUN rm -rf /"), "--image must be an image reference"),
    (DeployOptions(base_image="python:3.11 AS evil"), "--base-image must be an image reference"),
    (DeployOptions(port=70000), "--port must be between 1 and 65535. Got 70000"),
    (DeployOptions(replicas=-1), "--replicas must be an integer >= 0"),
    (DeployOptions(wheel=Path("/no/such.whl")), "--wheel must be an existing lepton-ai wheel"),
])
def test_bad_options_are_named(saved_model, tmp_path, options, message):
    with pytest.raises(ConfigError, match=message):
        write_deployment(saved_model, tmp_path / "deploy", options)
    assert not (tmp_path / "deploy").exists()


def test_a_folder_name_that_is_no_dns_label_is_made_one(saved_model, tmp_path):
    model = Path(shutil.copytree(saved_model, tmp_path / "My Model_v2"))
    out = write_deployment(model, tmp_path / "deploy")
    assert json.loads((out / DEPLOY_MANIFEST).read_text())["name"] == "my-model-v2"


# ---- the image, built and run -------------------------------------------------------------------
def _container_tool() -> str:
    """podman (no daemon needed) or docker with a daemon that answers; skip saying why otherwise."""
    if shutil.which("podman"):
        return "podman"
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no container engine: neither podman nor docker is on PATH")
    if subprocess.run([docker, "info"], capture_output=True, timeout=30, check=False).returncode != 0:
        pytest.skip("docker is installed but its daemon does not answer (docker info failed)")
    return docker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.mark.slow
def test_the_image_builds_runs_and_predicts(saved_model, tmp_path):
    engine = _container_tool()
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels),
                    str(REPO)], check=True, capture_output=True, timeout=600)
    out = write_deployment(saved_model, tmp_path / "deploy", DeployOptions(wheel=next(wheels.glob("*.whl"))))
    image = "localhost/lepton-deploy-test:latest"
    subprocess.run([engine, "build", "-t", image, str(out)], check=True, timeout=1800)
    port, token = _free_port(), "test-token"
    container = subprocess.run([engine, "run", "-d", "-p", f"127.0.0.1:{port}:8000", "-e", f"LEPTON_TOKEN={token}",
                                image], check=True, capture_output=True, text=True, timeout=120).stdout.strip()
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if _request(f"{base}/readyz")[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "the container never became ready"
            time.sleep(1)
        assert _request(f"{base}/healthz") == (200, {"detail": "ok"})
        row = load_wine(as_frame=True).frame.drop(columns="target").iloc[0].to_dict()
        url = f"{base}/v1/models/wine-model:predict"
        assert _request(url, {"instances": [row]})[0] == 401
        status, answer = _request(url, {"instances": [row, row]}, token)
        assert status == 200 and len(answer["predictions"]) == 2
        uid = subprocess.run([engine, "exec", container, "id", "-u"], capture_output=True, text=True, timeout=60)
        assert uid.stdout.strip() == "10001"
    finally:
        subprocess.run([engine, "rm", "-f", container], capture_output=True, timeout=120, check=False)
        subprocess.run([engine, "rmi", "-f", image], capture_output=True, timeout=120, check=False)
