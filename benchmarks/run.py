"""lepton-ai vs its peers on the tabular sets of ../shared/datasets, in one run (``make bench``).

Systems: lepton-ai ``LeptonModel(budget=B, verbose=0)`` with the default objective, and the
``objective="accuracy"`` and ``"speed"`` choices from the same search (lepton's ratios to the peers
use the accuracy choice); LightGBM with default parameters; a scikit-learn baseline (standardise +
LogisticRegression, or Ridge for regression); FLAML ``AutoML(time_budget=B)`` and AutoGluon
``TabularPredictor`` ``fit(time_limit=B)`` when installed (``pip install -e '.[bench]'``; a peer that is
not installed is skipped with a line saying so). Images are flat pixel columns for every system.

Every (system, dataset, budget, repeat) runs in its own fresh Python process (benchmarks/child.py):
fit on ``train`` (the wall seconds of the fit call), score on ``test`` (accuracy, or R² for
diamonds), then single-row latency through the system's own Python API (a one-row DataFrame in, a
prediction out; p50 ms) and batch rows/s on the test rows (repeated to 10,000 rows a call).
Systems without a budget run once per repeat. Figures are medians over ``--repeats``; ratios
compare systems measured in this same run: metric difference (lepton - peer), and wall,
single-row latency and rows/s as ratios lepton/peer.

    python benchmarks/run.py                       # B = 10 s and 60 s, 3 repeats (about an hour)
    python benchmarks/run.py --quick               # B = 10 s, 1 repeat
    python benchmarks/run.py --datasets breast_cancer,wine --systems lepton,flaml --repeats 5
    python benchmarks/run.py --trials-per-second   # lepton's trials/s with 2 workers vs 1 worker
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from harness import SHARED, TABULAR, busy_cores, machine_line, versions_line
from systems import LEPTON_ACCURACY, LEPTON_DEFAULT, LEPTON_SPEED, LEPTON_SPEED_SEPARATE, SYSTEMS, System

HERE = Path(__file__).resolve().parent
CHILD = HERE / "child.py"
FIGURES = ("metric", "wall_s", "p50_ms", "rows_per_s")
# Cores kept busy by other processes between runs above which a dataset's timings are flagged as noisy.
BUSY_CORES = 0.3


# ---- one run in its own process ----------------------------------------------------------------
def run_child(system: str, dataset: str, budget: float, timeout_s: float, extra: list[str]) -> dict[str, Any]:
    """Start child.py for one run; its JSON result, or ``{"error": ...}``. A run past ``timeout_s`` is
    killed with its whole process group (AutoML peers and lepton's workers start processes of their own)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{system}-") as tmp:
        out, log = Path(tmp) / "result.json", Path(tmp) / "log.txt"
        env = {**os.environ, "LEPTON_HOME": str(Path(tmp) / "lepton-home"), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, str(CHILD), system, dataset, f"{budget:g}", str(out), *extra]
        with log.open("wb") as sink:
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, cwd=tmp, start_new_session=True)
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                return {"error": f"timed out after {timeout_s:.0f} s (killed)"}
            finally:
                _kill_group(proc, only_stragglers=True)
        if out.exists():
            try:
                return json.loads(out.read_text())
            except json.JSONDecodeError:
                pass
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        return {"error": f"exit code {proc.returncode}, no result; last output: {tail[-600:]}"}


def _kill_group(proc: subprocess.Popen, only_stragglers: bool = False) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    if not only_stragglers:
        proc.wait()


# ---- printing --------------------------------------------------------------------------------
def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    med: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in FIGURES}
    med["model"] = Counter(str(r.get("model", "")) for r in runs).most_common(1)[0][0]
    med["n"] = len(runs)
    return med


def fmt_budget(budget: float | None) -> str:
    return "" if budget is None else f"{budget:g}"


def print_table(name: str, medians: dict[tuple[str, float | None], dict[str, Any]]) -> None:
    print(f"{'dataset':<14} {'system':<20} {'B s':>4} {'model':<16} {'test metric':>11} {'wall s':>7} "
          f"{'p50 ms':>8} {'rows/s':>12} {'runs':>4}")
    for (system, budget), m in medians.items():
        print(f"{name:<14} {system:<20} {fmt_budget(budget):>4} {m['model'][:16]:<16} {m['metric']:>11.4f} "
              f"{m['wall_s']:>7.1f} {m['p50_ms']:>8.3f} {m['rows_per_s']:>12,.0f} {m['n']:>4}")


def ratio_line(label: str, a: dict[str, Any], b: dict[str, Any]) -> str:
    def x(num: float, den: float) -> str:
        return f"x{num / den:.2f}" if den > 0 else "n/a"

    return (f"  {label}: metric {a['metric'] - b['metric']:+.4f}, wall {x(a['wall_s'], b['wall_s'])}, "
            f"p50 latency {x(a['p50_ms'], b['p50_ms'])}, rows/s {x(a['rows_per_s'], b['rows_per_s'])}")


def print_ratios(medians: dict[tuple[str, float | None], dict[str, Any]], budgets: list[float]) -> None:
    peers = [k for k in medians if not k[0].startswith("lepton-ai")]
    for budget in budgets:
        for name in (LEPTON_ACCURACY, LEPTON_DEFAULT):
            lep = medians.get((name, budget))
            if lep is None:
                continue
            speed = medians.get((LEPTON_SPEED, budget))
            if speed is not None:
                print(f"  B={budget:g}s lepton speed choice ({speed['model']}) vs {name[11:-1]} choice "
                      f"({lep['model']}): "
                      f"metric {speed['metric'] - lep['metric']:+.4f}, p50 {speed['p50_ms']:.3f} ms vs "
                      f"{lep['p50_ms']:.3f} ms (x{speed['p50_ms'] / lep['p50_ms']:.2f})")
        lep = medians.get((LEPTON_ACCURACY, budget)) or medians.get((LEPTON_DEFAULT, budget))
        if lep is None:
            continue
        for peer in peers:
            if peer[1] is None or peer[1] == budget:
                b = f" B={fmt_budget(peer[1])}s" if peer[1] is not None else ""
                print(ratio_line(f"B={budget:g}s lepton (accuracy)/{peer[0]}{b}", lep, medians[peer]))


# ---- the comparison ----------------------------------------------------------------------------
def compare(args: argparse.Namespace, systems: list[System], budgets: list[float]) -> dict[str, Any]:
    extra = (["--flaml-catboost"] if args.flaml_catboost else []) + \
            (["--separate-speed-fit"] if args.separate_speed_fit else [])
    if args.separate_speed_fit and any(s.key == "lepton" for s in systems):
        systems = [*systems, LEPTON_SPEED_SEPARATE]
    plain = [s for s in systems if not s.budgeted]
    budgeted = [s for s in systems if s.budgeted]
    datasets = [d for d in args.datasets.split(",") if d]
    total = len(datasets) * args.repeats * (len(plain) + len(budgeted) * len(budgets))
    print(f"# plan: {total} runs ({len(datasets)} datasets x {args.repeats} repeats); the budgets alone add up to "
          f"{len(datasets) * args.repeats * len(budgeted) * sum(budgets) / 60:.0f} min", flush=True)
    everything: dict[str, Any] = {}
    done = 0
    for name in datasets:
        if not (SHARED / name / "meta.json").exists():
            print(f"{name}: not found under {SHARED}, skipped\n", flush=True)
            continue
        runs: dict[tuple[str, float | None], list[dict[str, Any]]] = {}
        failures: list[str] = []
        loads: list[float] = []
        for rep in range(args.repeats):
            plan = [(s, None) for s in plain] + [(s, b) for b in budgets for s in budgeted]
            for system, budget in plan:
                done += 1
                timeout = args.timeout or (300 + 4 * (budget or 0))
                load = busy_cores()  # other processes' load: this benchmark is idle between runs
                loads.append(load)
                started = time.perf_counter()
                result = run_child(system.key, name, budget or 0, timeout, extra)
                took = time.perf_counter() - started
                status = result.get("error", "ok")
                print(f"[{done}/{total}] {name} {system.key} B={fmt_budget(budget) or '-'} "
                      f"repeat {rep + 1}/{args.repeats}: {took:.1f} s, {status[:200]}", file=sys.stderr, flush=True)
                if "error" in result:
                    failures.append(f"{system.key} B={fmt_budget(budget) or '-'} repeat {rep + 1}: {status}")
                    continue
                for row, figures in result["rows"].items():
                    runs.setdefault((row, budget), []).append(
                        figures | {"process_s": result.get("process_s"), "others_busy_cores": load})
        # print order: plain baselines, then each budget's systems in the order of SYSTEMS
        order = [r for s in plain for r in s.rows] + [r for s in budgeted for r in s.rows]
        keys = sorted(runs, key=lambda k: (k[1] is not None, k[1] or 0, order.index(k[0])))
        medians = {k: median_row(runs[k]) for k in keys}
        if medians:
            print_table(name, medians)
            print_ratios(medians, budgets)
        for failure in failures:
            print(f"  failed: {failure}")
        if loads and max(loads) > BUSY_CORES:
            print(f"  note: other processes kept up to {max(loads):.1f} cores busy between runs (median "
                  f"{statistics.median(loads):.1f}): they shared the CPUs, so these timings are noisy")
        print(flush=True)
        everything[name] = {"runs": {f"{k[0]} | B={fmt_budget(k[1])}": v for k, v in runs.items()},
                            "medians": {f"{k[0]} | B={fmt_budget(k[1])}": v for k, v in medians.items()},
                            "failures": failures}
    return everything


# ---- trials per second ---------------------------------------------------------------------------
def trials_per_second(args: argparse.Namespace) -> dict[str, Any]:
    """lepton's trials finished per wall second, ``SinglePointTechnique(workers=w)``, for each w."""
    workers = [int(w) for w in args.tps_workers.split(",")]
    print(f"# trials per second: SinglePointTechnique(workers=w, budget='{args.tps_budget:g}s')"
          f".search(train, label=...) on {args.tps_dataset}, medians of {args.repeats}", flush=True)
    results: dict[int, list[dict[str, Any]]] = {w: [] for w in workers}
    for rep in range(args.repeats):
        for w in workers:  # alternate, so drift in the machine's load hits both alike
            result = run_child("tps", args.tps_dataset, args.tps_budget, args.timeout or 300 + 4 * args.tps_budget,
                               ["--workers", str(w)])
            print(f"  workers={w} repeat {rep + 1}: {result.get('error') or result['tps']}", file=sys.stderr,
                  flush=True)
            if "error" in result:
                note = " (this lepton-ai has no `workers` argument yet)" if "workers" in result["error"] else ""
                print(f"  workers={w} repeat {rep + 1} failed{note}: {result['error']}")
            else:
                results[w].append(result["tps"])
    print(f"{'workers':>7} {'trials/s':>9} {'trials':>7} {'ok':>5} {'wall s':>7} {'best dev':>9} {'runs':>4}")
    print("  (trials = len(result.trials), every status; ok = finished with a dev metric)")
    med: dict[int, dict[str, float]] = {}
    for w, rs in results.items():
        if not rs:
            continue
        med[w] = {k: statistics.median(r[k] for r in rs) for k in ("trials_per_s", "trials", "ok_trials", "wall_s")}
        bests = [r["best_dev_metric"] for r in rs if r["best_dev_metric"] is not None]
        best = statistics.median(bests) if bests else float("nan")
        statuses = Counter(k for r in rs for k, n in r.get("statuses", {}).items() for _ in range(n))
        print(f"{w:>7} {med[w]['trials_per_s']:>9.2f} {med[w]['trials']:>7.0f} {med[w]['ok_trials']:>5.0f} "
              f"{med[w]['wall_s']:>7.1f} {best:>9.4f} {len(rs):>4}  "
              f"statuses over all runs: {', '.join(f'{k} {n}' for k, n in sorted(statuses.items()))}")
    base = min(med) if med else None
    for w in sorted(med):
        if base is not None and w != base:
            ok_rate = {k: med[k]["ok_trials"] / med[k]["wall_s"] for k in (w, base)}
            ok_ratio = ok_rate[w] / max(ok_rate[base], 1e-9)
            print(f"  trials/s with {w} workers vs {base}: x{med[w]['trials_per_s'] / med[base]['trials_per_s']:.2f} "
                  f"(ok trials/s: x{ok_ratio:.2f})")
    return {str(w): rs for w, rs in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", "--budget", default="10,60", help="comma-separated seconds (default 10,60)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(TABULAR))
    parser.add_argument("--systems", default=",".join(SYSTEMS), help=f"any of {','.join(SYSTEMS)}")
    parser.add_argument("--quick", action="store_true", help="B = 10 s only and 1 repeat")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds before one run is killed (default 300 + 4 x budget)")
    parser.add_argument("--flaml-catboost", action="store_true",
                        help="let FLAML use CatBoost (it cannot interrupt a CatBoost trial, so runs overshoot B)")
    parser.add_argument("--separate-speed-fit", action="store_true",
                        help="train LeptonModel(objective='speed') in its own process instead of selecting "
                             "the speed choice from the default model's search")
    parser.add_argument("--trials-per-second", action="store_true",
                        help="only measure lepton's trials/s with --tps-workers workers on --tps-dataset")
    parser.add_argument("--tps-dataset", default="breast_cancer")
    parser.add_argument("--tps-budget", type=float, default=20.0)
    parser.add_argument("--tps-workers", default="1,2")
    parser.add_argument("--json", type=Path, default=None, help="also write every run's figures here")
    args = parser.parse_args()
    if args.quick:
        args.budgets, args.repeats = "10", 1
    budgets = [float(b) for b in args.budgets.split(",") if b]

    started = time.perf_counter()
    print(machine_line())
    print(versions_line())
    print(f"# python: {sys.executable}; each run in a fresh process; medians of {args.repeats} repeat(s)")
    if args.trials_per_second:
        results: dict[str, Any] = {"trials_per_second": trials_per_second(args)}
    else:
        chosen: list[System] = []
        for key in (k.strip() for k in args.systems.split(",") if k.strip()):
            system = SYSTEMS.get(key)
            if system is None:
                parser.error(f"unknown system {key!r}; choose from {', '.join(SYSTEMS)}")
            missing = system.missing()
            if missing:
                print(f"# skipped {', '.join(system.rows)}: {', '.join(missing)} not installed ({system.install})")
            else:
                chosen.append(system)
        flaml_note = "with CatBoost" if args.flaml_catboost else "CatBoost left out"
        print(f"# budgets: {', '.join(f'{b:g}s' for b in budgets)}; FLAML: {flaml_note}; "
              f"metric: accuracy, or R² for diamonds; ratios are lepton/peer (latency < 1: lepton faster)\n",
              flush=True)
        results = compare(args, chosen, budgets)
    print(f"# total wall time {(time.perf_counter() - started) / 60:.1f} min")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
