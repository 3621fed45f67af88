import base64
import io

import numpy as np
from PIL import Image

from lepton_ai.report.plots import confusion_plot, frontier_plot, learning_curves_plot, residual_plot, short_label
from lepton_ai.search.trial import TrialResult


def _png(uri):
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_short_label_cuts_and_escapes_dollars():
    assert short_label("$x$") == r"\$x\$"
    assert short_label("a" * 30, 10) == "a" * 9 + "…"


def test_plots_draw_hostile_labels_and_many_classes():
    labels = ["<b>", "$5 & up", "unbalanced $", "日本語"] + [f"class {i}" for i in range(36)]
    matrix = np.eye(len(labels), dtype=int) * 3
    assert _png(confusion_plot(labels, matrix.tolist())).size[0] > 300
    assert _png(residual_plot(np.arange(10.0), np.arange(10.0) + 0.5)).size[0] > 300


def test_frontier_and_curves_skip_when_nothing_to_draw():
    failed = [TrialResult(trial_id="t000", index=0, family="mlp", params={}, status="failed", error="x")]
    assert frontier_plot(failed, set(), None) is None
    assert learning_curves_plot(failed, None, set()) is None
    ok = [TrialResult(trial_id=f"t00{i}", index=i, family="mlp", params={}, dev_metric=0.5 + i / 10,
                      latency_p50_ms=0.1 * (i + 1), train_cost_usd=0.0,
                      history=[{"epoch": 1, "train_loss": 1.0, "dev_loss": None}])
          for i in range(3)]
    assert _png(frontier_plot(ok, {"t002"}, "t002")).size[0] > 300
    assert _png(learning_curves_plot(ok, "t002", {"t002"})).size[0] > 300
