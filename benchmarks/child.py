"""One system's run, in its own process: ``run.py`` starts this once per (system, dataset, budget, repeat)
so that no import, thread pool or cache of one system leaks into another's figures.

    python benchmarks/child.py SYSTEM DATASET BUDGET OUT.json [--workers N] [--flaml-catboost]
                               [--separate-speed-fit]

SYSTEM is a key of ``systems.SYSTEMS``, ``lepton-speed``, or ``tps`` (lepton's trials per second with
``--workers`` workers). BUDGET is seconds (``0`` for systems that take none). The result (or the
error) is written to OUT.json; the scratch folder is OUT.json's folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("system")
    parser.add_argument("dataset")
    parser.add_argument("budget", type=float)
    parser.add_argument("out", type=Path)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--flaml-catboost", action="store_true")
    parser.add_argument("--separate-speed-fit", action="store_true")
    args = parser.parse_args()
    workdir = args.out.parent
    started = time.perf_counter()
    try:
        from harness import load_split
        from systems import LEPTON_SPEED_SEPARATE, SYSTEMS, run_trials_per_second

        X, y, task = load_split(args.dataset, "train")
        if args.system == "tps":
            payload: dict = {"tps": run_trials_per_second(X, y, task, args.budget, args.workers, workdir)}
        else:
            system = LEPTON_SPEED_SEPARATE if args.system == "lepton-speed" else SYSTEMS[args.system]
            Xt, yt, _ = load_split(args.dataset, "test")
            rows = system.runner(X, y, Xt, yt, task, args.budget if system.budgeted else None, workdir,
                                 flaml_catboost=args.flaml_catboost, separate_speed_fit=args.separate_speed_fit)
            payload = {"rows": rows}
        payload["threads"] = _threads()
    except BaseException as exc:  # reported by the parent, which goes on with the next run
        payload = {"error": f"{type(exc).__name__}: {exc}".strip()[:2000], "traceback": traceback.format_exc()}
    payload["process_s"] = time.perf_counter() - started
    args.out.write_text(json.dumps(payload, default=_plain))
    return 0 if "error" not in payload else 1


def _threads() -> int | None:
    """The thread pool size the process ended with, if a BLAS/OpenMP runtime was loaded."""
    try:
        from threadpoolctl import threadpool_info

        return max((p.get("num_threads") or 0 for p in threadpool_info()), default=None) or None
    except Exception:
        return None


def _plain(value: object) -> object:
    try:
        return value.item()  # type: ignore[attr-defined]  # numpy scalars
    except AttributeError:
        return str(value)


if __name__ == "__main__":
    sys.exit(main())
