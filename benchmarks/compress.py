"""Compression benchmark: eager fp32 against bf16, torch int8, ONNX fp32 and ONNX int8, and LightGBM's
``predict`` against its single-row fast path, measured in one run.

Trains one MLP and one GBDT on a dataset (default ``digits``), makes every variant with
``lepton_ai.compress`` and prints, per model, the dev metric, single-row latency p50/p99 (the
trials' thread count), batch rows/s and size, with each variant's latency ratio to its source.
Targets: an int8 or ONNX variant of the MLP at <= 1/2 of eager single-row latency, dev metric
within 0.5 point.

    python benchmarks/compress.py [--dataset digits] [--quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine_line, versions_line  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--quick", action="store_true", help="fewer epochs and trees")
    args = parser.parse_args()
    from lepton_ai import LeptonModel, SinglePointTechnique, load_data

    print(machine_line())
    print(versions_line())
    train, dev, _ = load_data(args.dataset, seed=0)
    for families in ("mlp", "gbdt"):
        engine = SinglePointTechnique(budget="120s", families=families, max_trials=1)
        model = LeptonModel(engine=engine, verbose=0).train(train, dev, epochs=10 if args.quick else 40)
        trials = [t for t in model.result_.trials if t.ok]
        sources = {t.trial_id: t for t in trials if not t.variant_of}
        print(f"\n{args.dataset}, {families}: {len(trials) - len(sources)} variants of {', '.join(sources)}")
        print(f"{'trial':<18} {'family':<11} {'dev metric':>10} {'p50 ms':>8} {'p99 ms':>8} {'p50 ratio':>9} "
              f"{'rows/s':>10} {'size KB':>8}")
        for t in sorted(trials, key=lambda t: (t.variant_of or t.trial_id, t.trial_id)):
            source = sources.get(t.variant_of or t.trial_id)
            ratio = t.latency_p50_ms / source.latency_p50_ms if source else float("nan")
            print(f"{t.trial_id:<18} {t.family:<11} {t.dev_metric:>10.4f} {t.latency_p50_ms:>8.3f} "
                  f"{t.latency_p99_ms:>8.3f} {ratio:>9.2f} {t.rows_per_s:>10,.0f} {t.size_bytes / 1e3:>8.1f}")


if __name__ == "__main__":
    main()
