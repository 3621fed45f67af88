import base64
import io
import re
import sys

import pytest
from PIL import Image
from trained import HOSTILE_COLUMN, HOSTILE_LABELS, QUOTED_COLUMN, hostile_table, train_classifier, train_regressor

from lepton_ai import LeptonModel, SinglePointTechnique, load_data
from lepton_ai.errors import ConfigError, NotFittedError, TrialError
from lepton_ai.models.families.linear import LinearFamily
from lepton_ai.models.registry import FAMILIES
from lepton_ai.report.html import check_report_path, write_report


@pytest.fixture(scope="module")
def classified():
    return train_classifier()


@pytest.fixture(scope="module")
def regressed():
    return train_regressor()


def _images(html: str) -> list[Image.Image]:
    sources = re.findall(r'<img src="([^"]*)"', html)
    images = []
    for src in sources:
        assert src.startswith("data:image/png;base64,"), src[:60]
        images.append(Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))))
    return images


def test_classification_report_is_self_contained_with_every_section(classified, tmp_path):
    model, test = classified
    path = model.report(tmp_path / "report.html", data=test)
    html = path.read_text(encoding="utf-8")
    images = _images(html)
    assert len(images) == 4  # frontier, learning curves, confusion matrix, which columns matter
    assert all(image.size[0] > 100 and image.size[1] > 100 for image in images)
    assert "<script" not in html and "<link" not in html and "http://" not in html and "https://" not in html
    assert html.count('<tr class="trial') == len(model.result_.trials)
    assert 'id="per-class"' in html and "class balance" in html
    assert "LeptonModel(" in html and "cores used" in html and "scikit-learn" in html
    chosen = model.chosen.trial_id
    assert re.search(r'<tr class="trial ok chosen[^"]*">\s*<td class="mark">&gt;', html)
    assert f"{chosen} {model.chosen.family}" in html
    assert 'id="importance"' in html and f"The drop in {model.chosen.metric_name}" in html
    rows = re.findall(r'<table id="importance-table">.*?</table>', html, re.S)[0].count("<tr>") - 1
    assert rows == len(model.schema.feature_names)  # one row per input column


def test_hostile_names_and_labels_render_as_text(classified, tmp_path):
    model, test = classified
    html = model.report(tmp_path / "report.html", data=test).read_text(encoding="utf-8")
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;col&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "a&amp;b &#34;q&#34; &#39;s&#39; $x$" in html
    assert HOSTILE_LABELS["virginica"] in html  # non-ASCII and 120+ characters, whole in the tables
    assert "col &#34;double&#34; &amp; &#39;single&#39;" in html and QUOTED_COLUMN.count("very long") == 20
    assert HOSTILE_COLUMN not in html


def test_regression_gets_residual_plots_not_a_confusion_matrix(regressed, tmp_path):
    model, test = regressed
    html = model.report(tmp_path / "r.html", data=test).read_text(encoding="utf-8")
    assert "predicted against actual" in html and "confusion" not in html and 'id="per-class"' not in html
    assert len(_images(html)) == 3  # frontier, residuals, columns; no neural trial, so no learning curves
    assert "No neural trial recorded epochs" in html and "price &lt;usd&gt;" in html
    assert "target" in html and "rmse" in html


def test_without_data_the_report_says_how_to_add_the_evaluation(regressed, tmp_path):
    model, _ = regressed
    html = model.report(tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No labelled evaluation data were given" in html


class _BrokenFamily(LinearFamily):
    name = "broken"

    def fit(self, train, dev=None, *, budget=None):
        raise ValueError("broken on purpose: <b>bad</b>")


def test_a_run_whose_trials_all_failed_still_writes_a_report_saying_why(tmp_path, monkeypatch):
    monkeypatch.setitem(FAMILIES, "broken", _BrokenFamily)
    engine = SinglePointTechnique(cluster="inline", families="broken", max_trials=2, budget="20s")
    model = LeptonModel(engine=engine, verbose=0)
    train = load_data(hostile_table(120), label="species", split=None)
    with pytest.raises(TrialError, match="no candidate finished"):
        model.train(train)
    html = model.report(tmp_path / "failed.html", data=train).read_text(encoding="utf-8")
    assert 'id="all-failed"' in html and "No trial finished: all 2 trials failed" in html
    assert html.count("ValueError: broken on purpose: &lt;b&gt;bad&lt;/b&gt;") >= 2
    assert "<b>bad</b>" not in html
    assert "no frontier to plot" in html and "nothing to evaluate" in html
    assert html.count('<tr class="trial failed') == 2


def test_report_path_errors_are_clear_and_come_first(classified, tmp_path):
    model, _ = classified
    with pytest.raises(ConfigError, match="folder .*missing.* does not exist"):
        model.report(tmp_path / "missing" / "r.html")
    with pytest.raises(ConfigError, match="is a folder"):
        model.report(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="does not exist"):
        check_report_path(tmp_path / "file" / "r.html")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc, a folder nobody can create files in")
def test_an_unwritable_folder_is_a_clear_error(classified):
    model, _ = classified
    with pytest.raises(ConfigError, match="report path /proc/lepton-report.html"):
        write_report("/proc/lepton-report.html", model)


def test_report_before_training_is_refused(tmp_path):
    with pytest.raises(NotFittedError, match="train"):
        LeptonModel().report(tmp_path / "r.html")
