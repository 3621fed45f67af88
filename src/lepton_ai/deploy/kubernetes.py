"""The Kubernetes manifest of a deployment: a Deployment and a Service, as YAML.

* probes — liveness on ``/healthz`` (the process answers), readiness on ``/readyz`` (503 while the
  model loads and while draining), and a startup probe so a slow model load is not a liveness kill;
* Prometheus — the pod carries the ``prometheus.io/scrape|port|path`` annotations for ``/metrics``.
  ``/metrics`` needs the bearer token like the predict route, so the scrape job must send it
  (``authorization: {credentials_file: ...}`` in Prometheus' scrape config);
* resources — from ``deploy.resources`` (the model's measured size, memory and latency);
* token — ``LEPTON_TOKEN`` from the Secret ``<name>-token`` (key ``token``), which is not written
  here: a token in a file beside the manifest ends up in version control. Create it with
  ``kubectl create secret generic <name>-token --from-literal=token="$(openssl rand -hex 32)"``;
* shutdown — a ``preStop`` pause lets the endpoints drop the pod before SIGTERM, then the server
  finishes the requests in flight; the grace period covers both plus the per-request timeout.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .dockerfile import IMAGE_UID
from .resources import REQUEST_CPU_MS, SERVE_BASE_BYTES, Resources

__all__ = ["ManifestSpec", "render_manifest", "to_yaml", "PRESTOP_PAUSE_S"]

# Long enough for kube-proxy and ingress controllers to drop the pod from their endpoints.
PRESTOP_PAUSE_S = 5
_PLAIN_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]*")
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}


@dataclass(frozen=True)
class ManifestSpec:
    """What the manifest needs besides the resources: names, image, port, replicas, the server's timeout."""

    name: str
    image: str
    port: int
    replicas: int
    version: str
    request_timeout_s: float


def render_manifest(spec: ManifestSpec, resources: Resources) -> str:
    """The YAML text: a header naming the Secret to create, then the Deployment and the Service."""
    header = (f"# lepton-ai model {spec.name!r}, written by `lepton deploy`. Create the token Secret first:\n"
              f"#   kubectl create secret generic {spec.name}-token --from-literal=token=\"$(openssl rand -hex 32)\"\n"
              f"# Resources: {_formula_note(resources)}\n")
    return header + "---\n".join(to_yaml(doc) for doc in (_deployment(spec, resources), _service(spec)))


def _labels(spec: ManifestSpec) -> dict[str, str]:
    return {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/part-of": "lepton-ai",
            "app.kubernetes.io/version": spec.version}


def _deployment(spec: ManifestSpec, resources: Resources) -> dict[str, Any]:
    selector = {"app.kubernetes.io/name": spec.name}
    probe = {"httpGet": {"path": "/healthz", "port": "http"}}
    container = {
        "name": "server",
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
        "env": [{"name": "LEPTON_TOKEN",
                 "valueFrom": {"secretKeyRef": {"name": f"{spec.name}-token", "key": "token"}}}],
        "resources": resources.kubernetes(),
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 60},
        "livenessProbe": {**probe, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5,
                           "timeoutSeconds": 3, "failureThreshold": 2},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", str(PRESTOP_PAUSE_S)]}}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = {
        "metadata": {"labels": _labels(spec), "annotations": {
            "prometheus.io/scrape": "true", "prometheus.io/port": str(spec.port), "prometheus.io/path": "/metrics"}},
        "spec": {
            "securityContext": {"runAsNonRoot": True, "runAsUser": IMAGE_UID, "runAsGroup": IMAGE_UID,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            # preStop pause, then the server's drain: the per-request timeout plus uvicorn's 5 s margin.
            "terminationGracePeriodSeconds": PRESTOP_PAUSE_S + int(spec.request_timeout_s) + 5 + 5,
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
        },
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": spec.name, "labels": _labels(spec)},
            "spec": {"replicas": spec.replicas, "selector": {"matchLabels": selector}, "template": pod}}


def _service(spec: ManifestSpec) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": spec.name, "labels": _labels(spec)},
            "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": spec.name},
                     "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}}


def _formula_note(r: Resources) -> str:
    return (f"memory request {SERVE_BASE_BYTES // 2**20}Mi + 2 x {r.model_bytes} model bytes, limit max(2 x "
            f"request, peak {r.peak_memory_bytes} B); CPU {r.target_rps:g} req/s x ({REQUEST_CPU_MS:g} ms + p50 "
            f"{r.latency_p50_ms:.3f} ms x {r.n_threads} threads) (formula: lepton_ai.deploy.resources)")


def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML for dicts, lists and scalars; strings are JSON-quoted (valid YAML double quotes)."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return f"{pad}{{}}\n"
        return "".join(_entry(f"{pad}{_key(k)}:", v, indent) for k, v in value.items())
    if isinstance(value, list):
        if not value:
            return f"{pad}[]\n"
        out = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = to_yaml(item, indent + 2)
                out.append(f"{pad}- {nested[indent + 2:]}")
            else:
                out.append(f"{pad}- {_scalar(item)}\n")
        return "".join(out)
    return f"{pad}{_scalar(value)}\n"


def _entry(prefix: str, value: Any, indent: int) -> str:
    if isinstance(value, (dict, list)) and value:
        return f"{prefix}\n{to_yaml(value, indent + 2)}"
    return f"{prefix} {_scalar(value)}\n"


def _key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) and key.lower() not in _YAML_WORDS else json.dumps(key)


def _scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))
