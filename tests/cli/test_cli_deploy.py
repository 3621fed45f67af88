"""`lepton deploy MODEL --out DIR`: writes the folder, prints the next commands, exits 2 on bad input."""

from __future__ import annotations

import pytest
from sklearn.datasets import load_wine
from typer.testing import CliRunner

from lepton_ai import LeptonModel, save_model
from lepton_ai.cli.main import app

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    frame = load_wine(as_frame=True).frame
    model = LeptonModel(budget="10s", families="linear", max_trials=1, verbose=0).train(frame, label="target")
    return save_model(tmp_path_factory.mktemp("cli-deploy") / "wine", model)


def test_deploy_writes_the_folder_and_says_what_to_run(model_dir, tmp_path):
    out = tmp_path / "deploy"
    result = runner.invoke(app, ["deploy", str(model_dir), "--out", str(out), "--name", "wine-api",
                                 "--image", "registry.example/wine-api:1", "--target-rps", "20"])
    assert result.exit_code == 0, result.output
    assert (out / "Dockerfile").is_file() and (out / "kubernetes.yaml").is_file()
    assert "docker build -t registry.example/wine-api:1" in result.output
    assert "kubectl create secret generic wine-api-token" in result.output
    assert "for 20 requests/s" in result.output
    assert '"--name", "wine-api"' in (out / "Dockerfile").read_text()


def test_deploy_bad_input_exits_2_with_one_line(model_dir, tmp_path):
    result = runner.invoke(app, ["deploy", str(model_dir), "--out", str(tmp_path / "d"), "--port", "0"])
    assert result.exit_code == 2
    assert result.output.strip() == "lepton: error: --port must be between 1 and 65535. Got 0."


def test_deploy_of_a_folder_that_is_no_model_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["deploy", str(tmp_path / "empty"), "--out", str(tmp_path / "d")])
    assert result.exit_code == 2 and "not a lepton-ai model directory" in result.output
