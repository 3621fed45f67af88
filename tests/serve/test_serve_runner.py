"""``lepton serve`` as a real process: bind refusal, probes while loading, serving, SIGTERM drains and exits 0."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
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


@pytest.mark.parametrize(("flag", "value"), [("--max-batch", "0"), ("--max-instances", "0"), ("--drain-s", "-1")])
def test_bad_serve_options_exit_2(served_dir, flag: str, value: str) -> None:  # noqa: F811
    result = CliRunner().invoke(app, ["serve", str(served_dir), flag, value])
    assert result.exit_code == 2 and f"{flag} must be" in result.output


def test_a_directory_that_is_no_model_fails_before_binding(tmp_path) -> None:
    result = CliRunner().invoke(app, ["serve", str(tmp_path)])
    assert result.exit_code == 2 and "not a lepton-ai model directory" in result.output


def test_a_stop_signal_drains_before_uvicorn_stops() -> None:
    import asyncio

    import uvicorn

    from lepton_ai.serve import ServeState
    from lepton_ai.serve.runner import _Server

    state = ServeState(model=object(), started=True)
    server = _Server(uvicorn.Config(app=lambda scope, receive, send: None), state, drain_s=0.3)
    server.handle_exit(signal.SIGTERM, None)
    assert state.draining and not state.ready and state.serving  # readiness 503, requests still served
    assert asyncio.run(server.on_tick(1)) is False  # still listening during the drain
    time.sleep(0.35)
    assert asyncio.run(server.on_tick(1)) is True  # then uvicorn's graceful shutdown
    again = _Server(uvicorn.Config(app=lambda scope, receive, send: None), ServeState(), drain_s=60)
    again.handle_exit(signal.SIGTERM, None)
    again.handle_exit(signal.SIGTERM, None)  # a second signal ends the drain at once
    assert again.should_exit


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_real_server_drains_on_sigterm_and_exits_0(served_dir) -> None:  # noqa: F811
    port = _free_port()
    lepton = Path(sys.executable).parent / "lepton"
    process = subprocess.Popen([str(lepton), "serve", str(served_dir), "--port", str(port), "--drain-s", "0.5"],
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


# run_server in a real process, with a slow load and a slow model call for instances with x1 = 42.
_SLOW_SERVER = """
import sys, time
from pathlib import Path
import lepton_ai.model as model_module
from lepton_ai.serve import app as app_module
from lepton_ai.serve.runner import ServeOptions, run_server

load, predict = model_module.load_model, app_module._predict_rows
model_module.load_model = lambda path: (time.sleep(float(sys.argv[3])), load(path))[1]
app_module._predict_rows = lambda model, schema, rows, *rest: (time.sleep(1.5 if rows[0]["x1"] == 42 else 0),
                                                               predict(model, schema, rows, *rest))[1]
run_server(Path(sys.argv[1]), ServeOptions(port=int(sys.argv[2]), drain_s=float(sys.argv[4])))
"""


def _start(model_dir: Path, *, load_s: float, drain_s: float) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-c", _SLOW_SERVER, str(model_dir), str(port), str(load_s),
                                str(drain_s)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ))
    return process, f"http://127.0.0.1:{port}"


def _wait_for(url: str, status: int, timeout_s: float = 30) -> float:
    """Seconds until ``url`` answers ``status``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if httpx.get(url, timeout=1).status_code == status:
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} did not answer {status} within {timeout_s} s")


def _stop(process: subprocess.Popen[bytes]) -> str:
    if process.poll() is None:
        process.kill()
    return process.communicate()[0].decode(errors="replace")[-3000:]


@pytest.mark.slow
def test_real_server_answers_probes_while_the_model_loads(served_dir) -> None:  # noqa: F811
    process, base = _start(served_dir, load_s=3.0, drain_s=0.2)
    try:
        _wait_for(f"{base}/healthz", 200)
        loading = httpx.get(f"{base}/readyz", timeout=2)
        assert (loading.status_code, loading.json()) == (503, {"detail": "loading the model"})
        refused = httpx.post(f"{base}/v1/models/iris:predict", json={"instances": [ROW]}, timeout=2)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        _wait_for(f"{base}/readyz", 200)
        assert httpx.post(f"{base}/v1/models/iris:predict", json={"instances": [ROW]}, timeout=5).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        output = _stop(process)
    assert "loading the model" in output


@pytest.mark.slow
def test_real_server_drains_keep_alive_clients_and_finishes_in_flight_requests(served_dir) -> None:  # noqa: F811
    process, base = _start(served_dir, load_s=0.0, drain_s=2.0)
    try:
        _wait_for(f"{base}/readyz", 200)
        in_flight: list[httpx.Response] = []
        slow = threading.Thread(target=lambda: in_flight.append(httpx.post(
            f"{base}/v1/models/iris:predict", json={"instances": [{**ROW, "x1": 42}]}, timeout=10)))
        with httpx.Client(base_url=base, timeout=5) as keep_alive:
            assert keep_alive.get("/readyz").status_code == 200
            slow.start()
            time.sleep(0.3)  # the slow request is being predicted
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            time.sleep(0.3)
            draining = keep_alive.get("/readyz")  # the same keep-alive connection
            assert (draining.status_code, draining.json()) == (503, {"detail": "shutting down"})
            assert keep_alive.post("/v1/models/iris:predict", json={"instances": [ROW]}).status_code == 200
            assert httpx.get(f"{base}/healthz", timeout=2).status_code == 200  # a new connection is accepted
        slow.join(10)
        assert [r.status_code for r in in_flight] == [200]
        assert process.wait(timeout=20) == 0
        assert time.monotonic() - signalled >= 2.0  # the drain ran its full time
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/healthz", timeout=1)
    finally:
        _stop(process)
