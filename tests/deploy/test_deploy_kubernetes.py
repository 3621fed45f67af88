"""The Kubernetes manifest: valid against the API schema (kubernetes-validate, strict), probes, scraping, resources."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from deploy_fixtures import saved_wine_model
from deploy_linters import run, tool

from lepton_ai.deploy import DeployOptions, estimate_resources, write_deployment
from lepton_ai.deploy.dockerfile import IMAGE_UID
from lepton_ai.deploy.kubernetes import to_yaml
from lepton_ai.store.manifest import read_manifest


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    return saved_wine_model(tmp_path_factory)


@pytest.fixture(scope="module")
def deployed(saved_model, tmp_path_factory):
    return write_deployment(saved_model, tmp_path_factory.mktemp("k8s") / "deploy",
                            DeployOptions(replicas=2, target_rps=200))


@pytest.fixture(scope="module")
def documents(deployed) -> dict[str, dict]:
    docs = list(yaml.safe_load_all((deployed / "kubernetes.yaml").read_text(encoding="utf-8")))
    return {d["kind"]: d for d in docs}


def _container(documents) -> dict:
    (container,) = documents["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


def test_kubernetes_validate_passes_strictly(deployed):
    validate = tool("kubernetes-validate", "kubernetes-validate")
    result = run(validate, "--strict", str(deployed / "kubernetes.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deployment/wine-model" in result.stdout and "service/wine-model" in result.stdout


def test_kubernetes_validate_catches_what_it_should(tmp_path):
    """The validator really checks: a Deployment without a selector and with an unknown field fails."""
    validate = tool("kubernetes-validate", "kubernetes-validate")
    bad = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
           "spec": {"replicaz": 1, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    (tmp_path / "bad.yaml").write_text(to_yaml(bad), encoding="utf-8")
    assert run(validate, "--strict", str(tmp_path / "bad.yaml")).returncode != 0


def test_a_deployment_and_a_service(documents):
    assert set(documents) == {"Deployment", "Service"}
    deployment, service = documents["Deployment"], documents["Service"]
    assert deployment["spec"]["replicas"] == 2
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    port_names = {p["name"] for p in _container(documents)["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names


def test_probes_point_at_healthz_and_readyz(documents):
    container = _container(documents)
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
    assert container["ports"][0]["containerPort"] == 8000


def test_prometheus_scrape_annotations(documents):
    annotations = documents["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": "8000",
                           "prometheus.io/path": "/metrics"}


def test_resources_follow_the_model_manifest(documents, saved_model):
    expected = estimate_resources(read_manifest(saved_model), target_rps=200).kubernetes()
    assert _container(documents)["resources"] == expected
    assert expected["requests"]["memory"] != expected["limits"]["memory"]


def test_the_token_comes_from_a_secret(documents, deployed):
    (env,) = _container(documents)["env"]
    assert env == {"name": "LEPTON_TOKEN", "valueFrom": {"secretKeyRef": {"name": "wine-model-token", "key": "token"}}}
    text = (deployed / "kubernetes.yaml").read_text(encoding="utf-8")
    assert "kubectl create secret generic wine-model-token" in text  # how to make it, in the header


def test_pod_runs_as_the_image_user_without_privileges(documents):
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == IMAGE_UID
    security = _container(documents)["securityContext"]
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert {"name": "tmp", "mountPath": "/tmp"} in _container(documents)["volumeMounts"]


def test_grace_period_covers_the_drain(documents):
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    pause = int(_container(documents)["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] >= pause + 10 + 5  # the server's request timeout and margin


@pytest.mark.parametrize("value", [
    {"a": "yes", "on": "off", "b": "a: b # c", "c": 'quote " and \\ slash', "d": "", "e": "007", "f": "null"},
    {"list": [1, 2.5, True, None, "x"], "nested": [[1, 2], {"k": [{}]}, []], "empty": {}},
    [{"name": "x", "deep": {"deeper": [{"a": 1, "b": [1]}]}}, "tail"],
    {"unicode": "ünï – 名前", "newline": "line1\nline2", "key with space": 1, "prometheus.io/port": "8000"},
])
def test_to_yaml_round_trips(value):
    assert yaml.safe_load(to_yaml(value)) == value
