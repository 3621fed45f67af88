"""`lepton train --report` and `lepton evaluate --report` write report.html; a bad path fails before training."""

from __future__ import annotations

import shlex

import pytest
from typer.testing import CliRunner

from lepton_ai.cli.main import app

runner = CliRunner()


@pytest.mark.slow
def test_train_and_evaluate_write_reports_with_their_commands(tmp_path):
    from conftest import make_table

    make_table(300, seed=3).to_csv(tmp_path / "train.csv", index=False)
    make_table(60, seed=4).to_csv(tmp_path / "test.csv", index=False)
    report, model = tmp_path / "train report.html", tmp_path / "model"
    result = runner.invoke(app, ["train", str(tmp_path / "train.csv"), "--label", "species", "--budget", "15s",
                                 "--max-trials", "3", "--families", "linear", "--out", str(model),
                                 "--test", str(tmp_path / "test.csv"), "--report", str(report), "--quiet"])
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    command = shlex.split(html.split('<pre id="command">', 1)[1].split("</pre>", 1)[0].replace("&#39;", "'"))
    assert command[:3] == ["lepton", "train", str(tmp_path / "train.csv")]
    assert command[command.index("--report") + 1] == str(report)
    assert 'id="per-class"' in html  # evaluated on the --test file

    again = tmp_path / "eval.html"
    result = runner.invoke(app, ["evaluate", str(model), str(tmp_path / "test.csv"), "--report", str(again)])
    assert result.exit_code == 0, result.output
    html = again.read_text(encoding="utf-8")
    assert "lepton evaluate" in html and 'id="per-class"' in html and "training data were not recorded" in html


def test_a_report_in_a_missing_folder_fails_before_training(tmp_path):
    result = runner.invoke(app, ["train", "iris", "--report", str(tmp_path / "nope" / "r.html")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "leaderboard" not in result.output
