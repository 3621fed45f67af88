import numpy as np
import pandas as pd
from trained import HOSTILE_COLUMN, hostile_table

from lepton_ai import load_data
from lepton_ai.report.summary import summarize_dataset


def test_table_summary_counts_rows_columns_missing_and_classes():
    data = load_data(hostile_table(300), label="species", split=None)
    summary = summarize_dataset(data)
    assert summary["n_rows"] == len(data) and summary["n_columns"] == 4
    names = [c["name"] for c in summary["columns"]]
    assert HOSTILE_COLUMN in names
    x2 = next(c for c in summary["columns"] if c["name"] == "x2")
    assert x2["n_missing"] == 10 and x2["kind"] == "numeric" and summary["n_missing_cells"] == 10
    assert sum(b["count"] for b in summary["class_balance"]) == len(data) and summary["n_classes"] == 3
    assert abs(sum(b["share"] for b in summary["class_balance"]) - 1.0) < 1e-9


def test_regression_summary_has_the_target_range():
    frame = pd.DataFrame({"a": np.arange(50.0), "y": np.arange(50.0) * 2})
    summary = summarize_dataset(load_data(frame, label="y", split=None))
    assert summary["target"]["min"] == 0.0 and summary["target"]["max"] == 98.0
    assert summary["class_balance"] is None


def test_the_summary_says_why_the_task_is_what_it_is():
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"x": np.arange(60.0), "y": np.arange(60) * 3})
    summary = summarize_dataset(load_data(frame, label="y", split=None))
    assert summary["task"] == "regression"
    assert "60 distinct whole numbers over 60 rows" in summary["task_reason"]
