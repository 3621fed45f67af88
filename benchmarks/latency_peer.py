"""AutoGluon's one-row latency for ``latency.py``, in the peer venv (AutoGluon pins its own pandas).

    .venv-bench/bin/python benchmarks/latency_peer.py TABLE BUDGET REPEATS OUT.json

``TabularPredictor(label=...).fit(train, time_limit=BUDGET)`` with its default preset, then
``persist()`` (AutoGluon's advice for online inference), then ``predictor.predict(one_row_df)`` timed
exactly as ``latency.py`` times lepton-ai: the same rows, calls and repeats. Writes JSON to OUT.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path


def main() -> int:
    name, budget, repeats, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    warnings.simplefilter("ignore")
    from autogluon.tabular import TabularPredictor
    from harness import LABEL
    from latency import DISTINCT_ROWS, p50_ms, split

    X, y, Xt, _, task = split(name)
    with tempfile.TemporaryDirectory(prefix="lepton-latency-ag-") as tmp:
        predictor = TabularPredictor(label=LABEL, problem_type="regression" if task == "regression" else None,
                                     path=tmp, verbosity=0)
        predictor.fit(X.assign(**{LABEL: y}), time_limit=budget)
        predictor.persist()
        frames = [Xt.iloc[[i]] for i in range(min(DISTINCT_ROWS, len(Xt)))]
        figure = p50_ms(predictor.predict, frames, repeats)
        out.write_text(json.dumps({"p50": figure, "model": str(predictor.model_best)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
