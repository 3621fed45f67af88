"""The Dockerfile of a deployment: a pinned slim Python, CPU torch, lepton-ai, the model, ``lepton serve``.

Choices, each for a reason:

* **base** — ``python:3.11.15-slim-bookworm``: a full version tag, so a rebuild gets the same Python.
  No digest is written by default: a digest can only be vouched for by resolving it against the
  registry, which this command (offline, like every lepton-ai command) cannot do. Pass
  ``--base-image python:3.11.15-slim-bookworm@sha256:...`` with the digest
  ``docker buildx imagetools inspect`` prints to pin the bytes too.
* **torch first, from the CPU index** — PyPI's ``torch`` wheel for Linux is the CUDA build (GBs of
  CUDA libraries); installing ``torch==X`` from ``download.pytorch.org/whl/cpu`` first means the next
  ``pip install`` finds it satisfied and never pulls CUDA.
* **pins** — lepton-ai at this version, and NumPy, scikit-learn and LightGBM at the versions the
  model was trained with (``lepton.json``'s ``versions``), so the container predicts what the
  trainer measured.
* **non-root** — a system user and group with a fixed id (10001), so Kubernetes can check
  ``runAsNonRoot`` and the manifest's ``runAsUser``/``runAsGroup`` name the same ids.
* **bind and token** — ``lepton serve`` refuses to listen beyond loopback without ``LEPTON_TOKEN``;
  the container binds 0.0.0.0 and reads the token from the environment at run time. It is never
  baked into the image: without it the container exits at once with that message.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_BASE_IMAGE", "TORCH_VERSION", "TORCH_CPU_INDEX", "IMAGE_UID", "MODEL_PATH", "ImageSpec",
           "render_dockerfile"]

DEFAULT_BASE_IMAGE = "python:3.11.15-slim-bookworm"
# The CPU build the Makefile installs (TORCH_SPEC); a model's manifest may name another version.
TORCH_VERSION = "2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
IMAGE_UID = 10001
MODEL_PATH = "/srv/model"


@dataclass(frozen=True)
class ImageSpec:
    """What goes into the image.

    ``lepton_requirement`` is ``lepton-ai==X`` or the path of a wheel inside the build context
    (``wheels/...``); ``pins`` are ``name==version`` strings installed beside it.
    """

    base_image: str
    torch_version: str
    lepton_requirement: str
    pins: tuple[str, ...]
    name: str
    port: int


def render_dockerfile(spec: ImageSpec) -> str:
    """The Dockerfile text for ``spec`` (the build context is the deployment folder)."""
    wheel = spec.lepton_requirement.startswith("wheels/")
    install = f"/tmp/{spec.lepton_requirement}" if wheel else spec.lepton_requirement
    requirements = " \\\n        ".join([install, f"torch=={spec.torch_version}", *spec.pins])
    health = (f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{spec.port}/healthz', "
              "timeout=4)")
    lines = [
        f"# Serves the lepton-ai model {spec.name!r} with `lepton serve`. Written by `lepton deploy`.",
        "#   docker build -t IMAGE .",
        f"#   docker run --rm -p {spec.port}:{spec.port} -e LEPTON_TOKEN=\"$(openssl rand -hex 32)\" IMAGE",
        "# Clients send 'Authorization: Bearer <token>'; /healthz and /readyz answer without it.",
        f"FROM {spec.base_image}",
        "",
        "ENV PYTHONDONTWRITEBYTECODE=1 \\",
        "    PYTHONUNBUFFERED=1 \\",
        "    PIP_DISABLE_PIP_VERSION_CHECK=1 \\",
        "    LEPTON_HOME=/tmp/lepton",
        "",
        *(["COPY wheels/ /tmp/wheels/"] if wheel else []),
        "# torch's CPU build first: PyPI's torch for Linux is the CUDA build. The model comes last, so a",
        "# new model rebuilds only its own layer.",
        f"RUN groupadd --system --gid {IMAGE_UID} lepton \\",
        f"    && useradd --system --no-log-init --uid {IMAGE_UID} --gid {IMAGE_UID} --no-create-home "
        "--shell /usr/sbin/nologin lepton \\",
        f"    && pip install --no-cache-dir --index-url {TORCH_CPU_INDEX} torch=={spec.torch_version} \\",
        f"    && pip install --no-cache-dir \\\n        {requirements}",
        "",
        f"COPY model/ {MODEL_PATH}/",
        f"USER {IMAGE_UID}",
        "",
        f"EXPOSE {spec.port}",
        "HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \\",
        f"    CMD [\"python\", \"-c\", \"{health}\"]",
        f"CMD [\"lepton\", \"serve\", \"{MODEL_PATH}\", \"--host\", \"0.0.0.0\", \"--port\", \"{spec.port}\", "
        f"\"--name\", \"{spec.name}\"]",
        "",
    ]
    return "\n".join(lines)
