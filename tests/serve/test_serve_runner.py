"""``lepton serve`` as a real process: bind refusal, serving over TCP, SIGTERM drains and exits 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from serve_fixtures import ROW, served_dir, served_model  # noqa: F401  (fixtures)
from typer.testing import CliRunner

from lepton_ai.cli.main import app
from lepton_ai.errors import ConfigError
from lepton_ai.serve.security import check_bind


def test_binding_beyond_loopback_needs_a_token(served_dir, monkeypatch) -> None:  # noqa: F811
    monkeypatch.delenv("LEPTON_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", str(served_dir), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "LEPTON_TOKEN" in result.output
    check_bind("127.0.0.1", None)
    check_bind("::1", None)
    check_bind("0.0.0.0", "token")
    with pytest.raises(ConfigError, match="10.1.2.3"):
        check_bind("10.1.2.3", None)


def test_bad_serve_options_exit_2(served_dir) -> None:  # noqa: F811
    result = CliRunner().invoke(app, ["serve", str(served_dir), "--max-batch", "0"])
    assert result.exit_code == 2 and "--max-batch" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_real_server_drains_on_sigterm_and_exits_0(served_dir) -> None:  # noqa: F811
    port = _free_port()
    lepton = Path(sys.executable).parent / "lepton"
    process = subprocess.Popen([str(lepton), "serve", str(served_dir), "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        response = httpx.post(f"{base}/v1/models/iris:predict", json={"instances": [ROW]}, timeout=5)
        assert response.status_code == 200 and response.json()["predictions"] in (["setosa"], ["versicolor"],
                                                                                  ["virginica"])
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
