"""lepton-ai's neural families against tutorial-style PyTorch models, in one run.

* mnist5k: lepton-ai ``LeptonModel(budget=B, families="cnn")`` vs a tutorial CNN (two conv + two dense
  layers, Adam, batch 64, 5 epochs, a DataLoader over a TensorDataset). Target: at least the
  tutorial's test accuracy in at most 1/4 of its wall time. ``B`` defaults to 0.24 x the tutorial's
  wall time measured in this run (the search may overrun its budget a little).
* digits: ``LeptonModel(budget="60s", families="cnn")``; target test accuracy >= 0.98.
* japanese_vowels: lepton-ai's sequence families vs a tutorial LSTM (packed sequences with the known
  lengths, last hidden state, Adam, batch 32, 30 epochs, DataLoader). Target: the tutorial's
  accuracy in at most 1/3 of its wall time; reported both through ``LeptonModel`` (search overheads
  included) and for one family's fit.
* The CNN's achieved training GFLOP/s (model FLOPs x rows / fit seconds), bf16 and fp32, against this
  CPU's ``torch.mm`` 2048³ ceilings (fp32 and bf16, 2 threads) measured in the same run.

Every system runs in a fresh Python process with its own LEPTON_HOME (no warm caches shared); figures
are medians over ``--repeats``. Each process imports torch and its optimiser machinery
(``torch._dynamo``, which the first ``torch.optim`` optimiser otherwise loads, about 1.2 s) before any
timer starts, so the timings compare training, not imports. ``LeptonModel`` runs twice per process:
*cold* is the first ``train()``, which starts lepton-ai's worker server (its own imports, about 2.7 s,
inside the budget); *warm* is a second ``train()`` in the same process, as in a notebook or a service. Because the
machine may be shared, the load average is printed with each section: treat timings taken under
load as indicative.

    python benchmarks/neural.py            # 3 repeats, digits at 60 s (about 6 minutes)
    python benchmarks/neural.py --quick    # 1 repeat, digits at 20 s (about 2 minutes)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import SHARED, load_average, machine_line, versions_line

HERE = Path(__file__).resolve()
THREADS = 2


# ---- children: one measured system each, in its own process --------------------------------------
def _arrays(name: str, part: str) -> tuple[Any, Any]:
    import numpy as np

    with np.load(SHARED / name / f"{part}.npz", allow_pickle=False) as z:
        return z["x"], z["y"]


def tutorial_cnn() -> dict[str, float]:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, TensorDataset

    x, y = _arrays("mnist5k", "train")
    xt, yt = _arrays("mnist5k", "test")
    torch.manual_seed(0)
    start = time.perf_counter()
    X = (torch.from_numpy(x).float().div(255).unsqueeze(1) - 0.1307) / 0.3081
    loader = DataLoader(TensorDataset(X, torch.from_numpy(y)), batch_size=64, shuffle=True)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
            self.fc1, self.fc2 = nn.Linear(9216, 128), nn.Linear(128, 10)

        def forward(self, v: torch.Tensor) -> torch.Tensor:
            v = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(v)))), 2)
            return self.fc2(F.dropout(F.relu(self.fc1(v.flatten(1))), 0.25, self.training))

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(5):
        net.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            optimizer.step()
    wall = time.perf_counter() - start
    net.eval()
    with torch.inference_mode():
        Xt = (torch.from_numpy(xt).float().div(255).unsqueeze(1) - 0.1307) / 0.3081
        accuracy = float((net(Xt).argmax(1).numpy() == yt).mean())
    return {"accuracy": accuracy, "wall_s": wall, "n": int(np.size(y))}


def tutorial_lstm() -> dict[str, float]:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence
    from torch.utils.data import DataLoader, TensorDataset

    folder = SHARED / "japanese_vowels"
    with np.load(folder / "train.npz") as z, np.load(folder / "test.npz") as t:
        x, y, lengths = z["x"], z["y"], z["lengths"]
        xt, yt, lengths_t = t["x"], t["y"], t["lengths"]
    torch.manual_seed(0)
    start = time.perf_counter()
    data = TensorDataset(torch.from_numpy(x), torch.from_numpy(lengths.astype(np.int64)), torch.from_numpy(y))
    loader = DataLoader(data, batch_size=32, shuffle=True)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.fc = nn.LSTM(12, 64, batch_first=True), nn.Linear(64, 9)

        def forward(self, v: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
            _, (hidden, _) = self.lstm(pack_padded_sequence(v, n, batch_first=True, enforce_sorted=False))
            return self.fc(hidden[-1])

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(30):
        for xb, nb, yb in loader:
            optimizer.zero_grad()
            F.cross_entropy(net(xb, nb), yb).backward()
            optimizer.step()
    wall = time.perf_counter() - start
    with torch.inference_mode():
        out = net(torch.from_numpy(xt), torch.from_numpy(lengths_t.astype(np.int64)))
        accuracy = float((out.argmax(1).numpy() == yt).mean())
    return {"accuracy": accuracy, "wall_s": wall}


def lepton(dataset: str, families: str, budget: float, warm_too: bool = True) -> dict[str, Any]:
    """The first ``train()`` of a process (cold: it starts the worker server) and a second one (warm)."""
    cold = _lepton_train(dataset, families, budget)
    if not warm_too:
        return cold
    warm = _lepton_train(dataset, families, budget)
    return {**{f"cold_{k}": v for k, v in cold.items()}, **{f"warm_{k}": v for k, v in warm.items()}}


def _lepton_train(dataset: str, families: str, budget: float) -> dict[str, Any]:
    import warnings

    from lepton_ai import LeptonModel, load_data
    from lepton_ai.errors import TrialError

    warnings.simplefilter("ignore")  # a budget too small for a real search warns; the figures say it
    train = load_data(str(SHARED / dataset / "train.npz"), split=None)
    test = load_data(str(SHARED / dataset / "test.npz"), split=None)
    start = time.perf_counter()
    try:
        model = LeptonModel(budget=f"{budget:g}s", families=families, verbose=0).train(train)
    except TrialError as exc:  # no candidate finished within the budget: a result, not a crash
        return {"accuracy": 0.0, "wall_s": time.perf_counter() - start, "chosen": f"none ({exc})",
                "chosen_params": {}, "best_dev": 0.0, "trials": 0}
    wall = time.perf_counter() - start
    chosen = model.chosen
    best = max((t for t in model.result_.trials if t.ok), key=lambda t: t.dev_metric or 0.0)
    return {"accuracy": model.test(test), "wall_s": wall, "chosen": f"{chosen.trial_id} {chosen.family}",
            "chosen_params": chosen.params, "best_dev": best.dev_metric, "trials": len(model.result_.trials)}


def family_fit(dataset: str, family: str, params: dict[str, Any]) -> dict[str, Any]:
    """One family fitted directly on the whole train split (no search): training speed alone."""
    import numpy as np
    import torch

    from lepton_ai.features.prepared import Prepared
    from lepton_ai.models.base import Budget
    from lepton_ai.models.registry import get_family

    torch.set_num_threads(THREADS)
    x, y = _arrays(dataset, "train")
    xt, yt = _arrays(dataset, "test")
    n_classes = int(y.max()) + 1
    train = Prepared(x.reshape(len(x), -1).astype(np.float32), y, "classification", n_classes, shape=x.shape[1:])
    model = get_family(family)(**params)
    start = time.perf_counter()
    model.fit(train, budget=Budget(seed=0))
    wall = time.perf_counter() - start
    accuracy = float((model.predict(xt.reshape(len(xt), -1).astype(np.float32)) == yt).mean())
    out: dict[str, Any] = {"accuracy": accuracy, "wall_s": wall, "epochs": model.epochs_run_,
                           "precision": model.precision_}
    if family == "cnn":
        from lepton_ai.models.families.cnn import _stages
        from lepton_ai.models.neural.augment import ImageLayout

        stages, _, channels, cells = _stages(ImageLayout.from_shape(x.shape[1:]), model.width, model.depth)
        macs = sum(s.height * s.width * s.in_channels * s.out_channels * 9 for s in stages) + channels * cells * 10
        out["train_gflops"] = 6 * macs * len(x) * model.epochs_run_ / wall / 1e9  # fwd + bwd = 3 x 2 x MACs
    return out


def matmul_ceiling() -> dict[str, float]:
    import torch

    torch.set_num_threads(THREADS)
    out = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a, b = torch.randn(2048, 2048, dtype=dtype), torch.randn(2048, 2048, dtype=dtype)
        torch.mm(a, b)
        rates = []
        for _ in range(3):
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < 0.5:
                torch.mm(a, b)
                calls += 1
            rates.append(2 * 2048**3 * calls / (time.perf_counter() - start) / 1e9)
        out[name] = statistics.median(rates)
    return out


CHILDREN = {"tutorial_cnn": tutorial_cnn, "tutorial_lstm": tutorial_lstm, "lepton": lepton,
            "family_fit": family_fit, "matmul_ceiling": matmul_ceiling}


# ---- the parent: plan, run, report ---------------------------------------------------------------
def run(child: str, *args: Any, repeats: int = 1) -> dict[str, Any]:
    """Median figures of ``repeats`` fresh processes running ``child(*args)``."""
    results = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-neural-") as tmp:
            env = {**os.environ, "LEPTON_HOME": str(Path(tmp) / "home"), "PYTHONUNBUFFERED": "1"}
            done = subprocess.run([sys.executable, str(HERE), "--child", child, json.dumps(args)], env=env,
                                  capture_output=True, text=True, cwd=tmp, timeout=900)
        if done.returncode != 0:
            raise SystemExit(f"{child}{args} failed:\n{done.stderr[-3000:]}")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    merged = dict(results[-1])
    for key, value in results[-1].items():
        if isinstance(value, float):
            merged[key] = statistics.median(r[key] for r in results)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat, digits at 20 s")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--budget", type=float, default=None,
                        help="lepton's mnist5k budget in seconds (default: 0.24 x the tutorial's wall time)")
    parser.add_argument("--only", default="mnist,throughput,digits,vowels",
                        help="comma-separated sections to run (default: all)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="?", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        import torch._dynamo  # noqa: F401  (imports before any timer: see the module docstring)

        print(json.dumps(CHILDREN[options.child](*json.loads(options.args or "[]"))))
        return
    repeats = options.repeats or (1 if options.quick else 3)
    print(machine_line())
    print(versions_line())
    print(f"# {repeats} repeat(s) per figure, medians; each run in a fresh process; torch threads {THREADS}")

    sections = set(options.only.split(","))
    if "mnist" in sections:
        _mnist(options, repeats)
    if "throughput" in sections:
        _throughput(repeats)
    if "digits" in sections:
        _digits(options)
    if "vowels" in sections:
        _vowels(options, repeats)


def _mnist(options: argparse.Namespace, repeats: int) -> None:
    print(f"\n## mnist5k (load average {load_average():.2f})")
    tutorial = run("tutorial_cnn", repeats=repeats)
    budget = options.budget or round(0.24 * tutorial["wall_s"], 2)
    ours = run("lepton", "mnist5k", "cnn", budget, repeats=repeats)
    print(f"tutorial CNN (5 epochs, DataLoader): accuracy {tutorial['accuracy']:.4f}, wall {tutorial['wall_s']:.2f} s")
    _lepton_lines(ours, tutorial, f"LeptonModel(budget={budget:g}s, families='cnn')", 4)
    fit = run("family_fit", "mnist5k", "cnn", {"width": 16, "depth": 3, "epochs": 4}, repeats=repeats)
    print(f"cnn width=16 depth=3, 4 epochs, fit alone: accuracy {fit['accuracy']:.4f}, wall {fit['wall_s']:.2f} s")
    _verdict(fit, tutorial, 4)


def _throughput(repeats: int) -> None:
    print(f"\n## CNN training throughput vs the matmul ceiling (load average {load_average():.2f})")
    ceiling = run("matmul_ceiling", repeats=1)
    params = {"width": 16, "depth": 3, "epochs": 3, "batch_size": 128}
    for precision in ("bf16", "fp32"):
        fit = run("family_fit", "mnist5k", "cnn", {**params, "precision": precision}, repeats=repeats)
        print(f"cnn {params} {precision}: {fit['train_gflops']:.1f} GFLOP/s training "
              f"({fit['wall_s']:.2f} s for {fit['epochs']} epochs of 4000 rows) = "
              f"{fit['train_gflops'] / ceiling['bf16']:.1%} of the bf16 matmul ceiling "
              f"({ceiling['bf16']:.0f} GFLOP/s), "
              f"{fit['train_gflops'] / ceiling['fp32']:.1%} of fp32 ({ceiling['fp32']:.0f} GFLOP/s)")


def _digits(options: argparse.Namespace) -> None:
    digits_budget = 20.0 if options.quick else 60.0
    print(f"\n## digits (load average {load_average():.2f})")
    digits = run("lepton", "digits", "cnn", digits_budget, False, repeats=1)
    print(f"lepton-ai LeptonModel(budget={digits_budget:g}s, families='cnn'): accuracy {digits['accuracy']:.4f} "
          f"(target >= 0.98: {'met' if digits['accuracy'] >= 0.98 else 'NOT met'}), wall {digits['wall_s']:.1f} s, "
          f"chosen {digits['chosen']}")


def _vowels(options: argparse.Namespace, repeats: int) -> None:
    print(f"\n## japanese_vowels (load average {load_average():.2f})")
    lstm = run("tutorial_lstm", repeats=repeats)
    print(f"tutorial LSTM (30 epochs, DataLoader): accuracy {lstm['accuracy']:.4f}, wall {lstm['wall_s']:.2f} s")
    for family, params in (("cnn1d", {"width": 32, "depth": 2, "epochs": 15}),
                           ("rnn", {"cell": "gru", "hidden": 64, "epochs": 10})):
        fit = run("family_fit", "japanese_vowels", family, params, repeats=repeats)
        print(f"{family} {params} fit alone: accuracy {fit['accuracy']:.4f}, wall {fit['wall_s']:.2f} s")
        _verdict(fit, lstm, 3)
    vowels_budget = max(1.0, round(lstm["wall_s"] / 3, 2))
    ours = run("lepton", "japanese_vowels", "cnn1d,rnn", vowels_budget, repeats=repeats)
    _lepton_lines(ours, lstm, f"LeptonModel(budget={vowels_budget:g}s, families='cnn1d,rnn')", 3)


def _lepton_lines(ours: dict[str, Any], theirs: dict[str, Any], call: str, fraction: int) -> None:
    """The cold and warm ``train()`` figures of a ``lepton`` child, each with its verdict."""
    for mode in ("cold", "warm"):
        figures = {k[len(mode) + 1:]: v for k, v in ours.items() if k.startswith(mode + "_")}
        print(f"lepton-ai {call}, {mode}: accuracy {figures['accuracy']:.4f}, wall {figures['wall_s']:.2f} s "
              f"(search, preparation and measuring included), chosen {figures['chosen']} {figures['chosen_params']}")
        _verdict(figures, theirs, fraction)


def _verdict(ours: dict[str, Any], theirs: dict[str, Any], fraction: int) -> None:
    ratio = ours["wall_s"] / theirs["wall_s"]
    met = ours["accuracy"] >= theirs["accuracy"] and ratio <= 1 / fraction
    print(f"  -> accuracy {ours['accuracy'] - theirs['accuracy']:+.4f}, wall ratio {ratio:.2f} "
          f"(target <= {1 / fraction:.2f} with accuracy >= tutorial): {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
