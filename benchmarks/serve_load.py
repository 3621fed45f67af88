"""Load benchmark: ``lepton serve`` (micro-batching) against a plain per-request FastAPI endpoint.

Trains one model, saves it, starts both servers as subprocesses on free loopback ports, and drives
each with the same bounded asyncio load over keep-alive HTTP/1.1 connections (a fixed number of
one-row requests, capped in time) at concurrency 1, 8 and 64. Prints rows/s, p50/p99 latency and
error counts per server, and the throughput ratio ``lepton serve / plain``. The plain server is
what a tutorial writes: a sync FastAPI route that builds a DataFrame and calls ``model.predict``
per request (in FastAPI's thread pool), with the same model loaded the same way.

    python benchmarks/serve_load.py            # 2000 requests per level (about 2 minutes)
    python benchmarks/serve_load.py --quick    # 300 requests per level
    python benchmarks/serve_load.py --plain MODEL_DIR --port 8001   # (internal) run the plain server

Figures on a shared 2-core machine are indicative: the load generator runs beside the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine_line, versions_line  # noqa: E402

LEVELS = (1, 8, 64)


def plain_server(model_dir: str, port: int) -> None:
    """The tutorial-style endpoint: one model call per request."""
    import pandas as pd
    import uvicorn
    from fastapi import FastAPI

    from lepton_ai import load_model

    model = load_model(model_dir)
    app = FastAPI()

    @app.post("/predict")
    def predict(body: dict) -> dict:
        frame = pd.DataFrame(body["instances"])
        return {"predictions": model.predict(frame).tolist()}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    import httpx

    stop = time.monotonic() + timeout_s
    while time.monotonic() < stop:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout_s}s")


class _Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: a few µs of client CPU per request
    (httpx spends ~1 ms), so on a small machine the load generator takes less CPU from the server."""

    def __init__(self, url: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        self.host, self.port, self.path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _load(url: str, rows: list[dict[str, Any]], concurrency: int, n_requests: int, max_s: float) -> dict:
    import json

    bodies = [json.dumps({"instances": [row]}).encode() for row in rows]
    latencies: list[float] = []
    codes: dict[int, int] = {}
    errors = 0
    next_index = 0
    stop = time.monotonic() + max_s

    async def worker(connection: _Connection) -> None:
        nonlocal next_index, errors
        while next_index < n_requests and time.monotonic() < stop:
            body = bodies[next_index % len(bodies)]
            next_index += 1
            start = time.perf_counter()
            try:
                code = await connection.post(body)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1
                connection.writer = None
                continue
            codes[code] = codes.get(code, 0) + 1
            if code == 200:
                latencies.append(time.perf_counter() - start)

    connections = [_Connection(url) for _ in range(concurrency)]
    for connection in connections:  # connect and warm up, excluded from the figures
        await connection.post(bodies[0])
    began = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    wall = time.perf_counter() - began
    for connection in connections:
        await connection.close()
    ms = np.asarray(latencies) * 1e3 if latencies else np.asarray([np.nan])
    return {"ok": len(latencies), "rows_per_s": len(latencies) / wall, "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "codes": codes, "errors": errors,
            "server_errors": sum(n for c, n in codes.items() if c >= 500)}


def _train(out: Path, dataset: str, budget: str, families: str) -> tuple[Path, list[dict[str, Any]]]:
    from lepton_ai import LeptonModel, load_data, save_model

    train, dev, test = load_data(dataset, seed=0)
    model = LeptonModel(budget=budget, families=families, verbose=0).train(train, dev)
    save_model(out, model)
    frame = test.X
    rows = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
            for r in frame.to_dict(orient="records")]
    chosen = model.chosen
    print(f"model: {dataset}, chosen {chosen.trial_id} {chosen.family}, dev {chosen.metric_name} "
          f"{chosen.dev_metric:.4f}, p50 {chosen.latency_p50_ms:.3f} ms (in-process)")
    return out, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="300 requests per level instead of 2000")
    parser.add_argument("--dataset", default="breast_cancer")
    parser.add_argument("--families", default="mlp", help="families to train (default mlp: a model whose "
                        "calls batching can share)")
    parser.add_argument("--budget", default="20s")
    parser.add_argument("--max-s", type=float, default=60.0, help="time cap per level and server")
    parser.add_argument("--plain", metavar="MODEL_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain:
        plain_server(args.plain, args.port)
        return
    n_requests = 300 if args.quick else 2000
    print(machine_line())
    print(versions_line())
    with tempfile.TemporaryDirectory(prefix="lepton-serve-bench-") as tmp:
        model_dir, rows = _train(Path(tmp) / "model", args.dataset, "10s" if args.quick else args.budget,
                                 args.families)
        lepton = Path(sys.executable).parent / "lepton"
        ports = {"lepton serve": _free_port(), "plain FastAPI": _free_port()}
        commands = {
            "lepton serve": [str(lepton), "serve", str(model_dir), "--port", str(ports["lepton serve"]),
                             "--name", "m", "--max-batch", "64", "--max-wait-ms", "2", "--drain-s", "0"],
            "plain FastAPI": [sys.executable, __file__, "--plain", str(model_dir),
                              "--port", str(ports["plain FastAPI"])],
        }
        urls = {"lepton serve": f"http://127.0.0.1:{ports['lepton serve']}/v1/models/m:predict",
                "plain FastAPI": f"http://127.0.0.1:{ports['plain FastAPI']}/predict"}
        results: dict[tuple[str, int], dict] = {}
        for name, command in commands.items():
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                       env={**os.environ, "LEPTON_DEBUG": "0"})
            try:
                # lepton serve listens before its model is loaded: /readyz is 503 until then.
                ready_path = "/readyz" if name == "lepton serve" else "/docs"
                _wait_ready(f"http://127.0.0.1:{ports[name]}{ready_path}", process)
                for level in LEVELS:
                    results[(name, level)] = asyncio.run(_load(urls[name], rows, level, n_requests, args.max_s))
            finally:
                process.terminate()
                process.wait(timeout=30)
    print(f"\n{n_requests} one-row requests per level (cap {args.max_s:g}s), warm-up excluded")
    print(f"{'server':<14} {'conc':>4} {'ok':>6} {'rows/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'5xx':>4} {'other':>6}")
    for (name, level), r in results.items():
        other = sum(n for c, n in r["codes"].items() if c not in (200,) and c < 500) + r["errors"]
        print(f"{name:<14} {level:>4} {r['ok']:>6} {r['rows_per_s']:>9.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
              f"{r['server_errors']:>4} {other:>6}")
    print()
    for level in LEVELS:
        a, b = results[("lepton serve", level)], results[("plain FastAPI", level)]
        print(f"concurrency {level:>2}: lepton serve / plain throughput = {a['rows_per_s'] / b['rows_per_s']:.2f}x, "
              f"p99 {a['p99_ms']:.2f} vs {b['p99_ms']:.2f} ms")


if __name__ == "__main__":
    main()
