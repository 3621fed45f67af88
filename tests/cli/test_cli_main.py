"""The `lepton` command: exit codes, one-line errors, and the train → evaluate → predict → select path."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lepton_ai import load_model
from lepton_ai.cli.main import app
from lepton_ai.models.families.linear import LinearFamily

runner = CliRunner()


class BoomFamily(LinearFamily):
    """Fails every fit (a top-level class: worker processes import it by name)."""

    name = "boom"

    def fit(self, train, dev=None, *, budget=None):
        raise RuntimeError("boom: every fit fails")


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    from conftest import make_table

    root = tmp_path_factory.mktemp("cli")
    make_table(300, seed=3).to_csv(root / "train.csv", index=False)
    make_table(60, seed=4).to_csv(root / "test.csv", index=False)
    out = root / "model"
    result = invoke("train", str(root / "train.csv"), "--label", "species", "--budget", "15s", "--max-trials", "5",
                    "--families", "linear,gbdt", "--out", str(out), "--test", str(root / "test.csv"))
    assert result.exit_code == 0, result.output
    assert "leaderboard" in result.output and "chosen:" in result.output
    return root, out


def test_evaluate_prints_metrics(trained_dir):
    root, out = trained_dir
    result = invoke("evaluate", str(out), str(root / "test.csv"))
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "confusion matrix" in result.output


def test_predict_writes_one_row_per_input(trained_dir):
    root, out = trained_dir
    target = root / "pred.csv"
    result = invoke("predict", str(out), str(root / "test.csv"), "-o", str(target), "--proba")
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(target)
    assert len(frame) == 60
    assert list(frame.columns) == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]


def test_predict_to_stdout(trained_dir):
    root, out = trained_dir
    result = invoke("predict", str(out), str(root / "test.csv"))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "prediction" and len(result.stdout.splitlines()) == 61


def test_export_onnx_writes_one_graph_that_predicts_like_predict_proba(trained_dir):
    import onnxruntime as ort

    from conftest import onnx_feeds

    root, out = trained_dir
    target = root / "exported" / "model.onnx"
    result = invoke("export", str(out), "--onnx", str(target))
    assert result.exit_code == 0, result.output
    assert f"wrote {target}" in result.output and "4 inputs, one per column (3 double, 1 string)" in result.output
    test = pd.read_csv(root / "test.csv").drop(columns="species")
    session = ort.InferenceSession(target.read_bytes(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, onnx_feeds(test, session))
    expected = load_model(out).predict_proba(test)
    assert np.abs(got - expected).max() <= 1e-5
    assert not [p for p in target.parent.iterdir() if p.name != "model.onnx"]  # no temporary file left


def test_export_without_a_format_says_which_one_is_built(trained_dir):
    _, out = trained_dir
    result = invoke("export", str(out))
    assert result.exit_code != 0 and "--onnx" in result.output


def test_select_switches_without_retraining(trained_dir):
    _, out = trained_dir
    result = invoke("select", str(out), "--objective", "speed")
    assert result.exit_code == 0, result.output
    assert "chosen:" in result.output
    bad = invoke("select", str(out), "--max-latency-ms", "0.0000001")
    assert bad.exit_code == 2 and "Closest" in bad.output


def test_runs_list_and_show(trained_dir):
    listed = invoke("runs", "list")
    assert listed.exit_code == 0, listed.output
    from lepton_ai import SinglePointTechnique

    run_id = SinglePointTechnique().store.runs()[0]["run_id"]
    assert run_id in listed.output
    shown = invoke("runs", "show", run_id)
    assert shown.exit_code == 0 and "t000" in shown.output
    pruned = invoke("runs", "prune", "--keep", "1000")
    assert pruned.exit_code == 0 and "deleted 0 run(s)" in pruned.output


def test_datasets_lists_bundled():
    result = invoke("datasets")
    assert result.exit_code == 0
    for name in ("digits", "breast_cancer", "wine"):
        assert name in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("train", "no/such/file.csv"), "no such file"),
        (("train", "iris", "--objective", "fastest"), "Valid objectives"),
        (("train", "iris", "--budget", "forever"), "budget"),
        (("train", "iris", "--label", "nope"), "label column 'nope' not found"),
        (("train", "iris", "--families", "linear,xgboost"), "Valid families"),
        (("evaluate", "no/such/model", "iris"), "no such model directory"),
        (("serve", "somewhere"), "no such model directory"),
        (("compress", "somewhere"), "no such model directory"),
        (("runs", "show", "nope"), "no run 'nope'"),
        (("runs", "resume"), "needs a run id"),
        (("runs", "remove"), "unknown action"),
        (("runs", "delete"), "needs a run id"),
        (("runs", "delete", "nope"), "no run 'nope'"),
        (("runs", "prune", "--keep", "-1"), "keep must be an int >= 0"),
        (("train", "iris", "--report", "no/such/folder/r.html"), "does not exist"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, expected):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lepton: error:") and expected in lines[0]


def test_usage_error_exits_2():
    assert invoke("train").exit_code == 2


def test_help_is_fast_and_does_not_import_heavy_libraries():
    code = ("import sys; from lepton_ai.cli.main import app; heavy = [m for m in "
            "('torch', 'lightgbm', 'sklearn', 'pandas', 'dask', 'distributed') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("args", "heavy"), [
    (["--help"], ("torch", "lightgbm", "sklearn", "pandas")),
    (["train", "--help"], ("torch", "lightgbm")),   # the family list imports the registry, not the libraries
])
def test_rendering_the_help_imports_no_training_library(args, heavy):
    # Through the console script's entry point (its clock, its exit), as `lepton --help` runs.
    code = ("import atexit, sys\nfrom lepton_ai.cli.main import run\n"
            f"sys.argv = ['lepton', *{args!r}]\n"
            f"atexit.register(lambda: print('LOADED', [m for m in {heavy!r} if m in sys.modules], flush=True))\n"
            "run()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "LOADED []"


def test_train_help_lists_the_registered_families():
    from lepton_ai.models.registry import resolve_families

    result = invoke("train", "--help")
    flat = re.sub(r"[\s│]+", "", result.output)  # rich wraps the help in a box
    assert f"families:{','.join(resolve_families(None))}(default" in flat, result.output


def test_the_price_comes_from_the_environment_unless_the_flag_gives_one(tmp_path, monkeypatch):
    import re

    from conftest import make_table
    from lepton_ai import SinglePointTechnique

    monkeypatch.setenv("LEPTON_PRICE_PER_CORE_HOUR", "0.5")
    make_table(120, seed=5).to_csv(tmp_path / "train.csv", index=False)
    result = invoke("train", str(tmp_path / "train.csv"), "--label", "species", "--budget", "10s", "--max-trials", "1",
                    "--families", "linear", "--out", str(tmp_path / "model"), "--quiet")
    assert result.exit_code == 0, result.output
    run_id = re.search(r"\(run (\S+)\)", result.stdout).group(1)
    assert SinglePointTechnique().store.run(run_id)["config"]["price_per_core_hour"] == 0.5
    from lepton_ai.cli.commands import _engine

    assert _engine(0.2).price_per_core_hour == 0.2  # the flag wins over the environment


def test_every_trial_failing_exits_1_with_each_cause_on_one_line(tmp_path, monkeypatch):
    from conftest import make_table
    from lepton_ai.models.registry import FAMILIES

    monkeypatch.setitem(FAMILIES, "boom", BoomFamily)
    make_table(120, seed=5).to_csv(tmp_path / "train.csv", index=False)
    result = invoke("train", str(tmp_path / "train.csv"), "--label", "species", "--budget", "5s", "--max-trials", "2",
                    "--families", "boom", "--out", str(tmp_path / "model"), "--quiet")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("lepton: error: no candidate finished training")
    assert "t000 boom: " in lines[0] and "boom: every fit fails" in lines[0] and "internal error" not in lines[0]


def test_the_demo_runs_end_to_end_and_ranks_a_small_table_on_folds(tmp_path, monkeypatch):
    monkeypatch.setenv("LEPTON_HOME", str(tmp_path / "home"))
    result = invoke("demo", "--dataset", "wine", "--budget", "5s")
    assert result.exit_code == 0, result.output
    assert "ranked on: 5-fold cross-validation" in result.stdout
    assert "predictions identical = True" in result.stdout and "test accuracy = " in result.stdout


def test_the_usual_knobs_reach_the_engine_and_the_reader(tmp_path):
    from conftest import make_table
    from lepton_ai import SinglePointTechnique

    frame = make_table(150, seed=7)
    frame["colour"] = frame["colour"].replace({"red": "rouge é"})  # not ASCII: the encoding matters
    frame.to_csv(tmp_path / "train.csv", index=False, encoding="latin-1")
    frame.head(40).to_csv(tmp_path / "test.csv", index=False, encoding="latin-1")
    args = ["train", str(tmp_path / "train.csv"), "--label", "species", "--budget", "15s", "--max-trials", "2",
            "--families", "mlp", "--out", str(tmp_path / "model"), "--test", str(tmp_path / "test.csv"), "--quiet"]
    refused = invoke(*args)
    assert refused.exit_code == 2 and "--encoding latin-1" in refused.output
    result = invoke(*args, "--encoding", "latin-1", "--epochs", "2", "--cores", "1", "--workers", "1")
    assert result.exit_code == 0, result.output
    run_id = re.search(r"\(run (\S+)\)", result.stdout).group(1)
    config = SinglePointTechnique().store.run(run_id)["config"]
    assert config["epochs"] == 2 and config["cores"] == 1 and config["workers"] == 1
    assert "rouge é" in load_model(tmp_path / "model").result_.preparer.categories_["colour"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals a process group")
def test_ctrl_c_saves_the_best_model_so_far_and_prints_the_resume_command(tmp_path):
    import os
    import signal
    import sqlite3
    import time
    from pathlib import Path

    from conftest import make_table

    make_table(400, seed=8).to_csv(tmp_path / "train.csv", index=False)
    home = tmp_path / "home"
    lepton = str(Path(sys.executable).parent / "lepton")
    train = subprocess.Popen([lepton, "train", str(tmp_path / "train.csv"), "--label", "species", "--budget", "120s",
                              "--families", "linear,gbdt,mlp", "--out", str(tmp_path / "model"), "--quiet"],
                             env={**os.environ, "LEPTON_HOME": str(home)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            with sqlite3.connect(home / "runs.sqlite") as db:
                if db.execute("SELECT COUNT(*) FROM trials WHERE status = 'ok'").fetchone()[0] >= 2:
                    break
        except sqlite3.OperationalError:  # not created yet
            continue
    os.killpg(train.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole foreground group
    _, err = train.communicate(timeout=60)
    assert train.returncode == 130, err
    match = re.search(r"Resume the search with: lepton runs resume (\S+) --out (\S+)", err)
    assert "saved the best of" in err and match, err
    model = load_model(tmp_path / "model")
    assert len(model.predict(make_table(10, seed=9))) == 10
    resumed = subprocess.run([lepton, "runs", "resume", match.group(1), "--out", str(tmp_path / "model2"), "--quiet"],
                             env={**os.environ, "LEPTON_HOME": str(home)}, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert load_model(tmp_path / "model2").chosen is not None


def test_train_with_a_memory_limit_streams_a_table_too_big_for_it(tmp_path):
    from conftest import write_parquet_parts

    write_parquet_parts(tmp_path / "events", 30_000, n_files=3)
    with pytest.warns(UserWarning, match="not read whole"):
        result = invoke("train", str(tmp_path / "events"), "--memory", "5MB", "--budget", "20s", "--families", "gbdt",
                        "--objective", "accuracy", "--out", str(tmp_path / "model"), "--quiet")
    assert result.exit_code == 0, result.output
    rows = int(re.search(r"its final fit read ([\d,]+) rows in batches", result.stdout).group(1).replace(",", ""))
    assert 30_000 * 0.8 < rows < 30_000  # every row but the test part held out of the search
    assert load_model(tmp_path / "model").predict(pd.DataFrame({"a": [0.1], "b": [2.0], "c": [0.0], "d": [0.3],
                                                                 "region": ["north"]}))[0] in ("yes", "no")


def test_a_memory_limit_that_is_not_a_size_exits_2_naming_the_option(tmp_path):
    result = invoke("train", "iris", "--memory", "lots", "--out", str(tmp_path / "m"))
    assert result.exit_code == 2 and "memory must be a size such as '4GB'" in result.stderr


def test_train_ranks_by_the_metric_given_and_refuses_one_of_the_other_task(tmp_path):
    from conftest import make_table

    make_table(200, seed=6).to_csv(tmp_path / "train.csv", index=False)
    result = invoke("train", str(tmp_path / "train.csv"), "--label", "species", "--budget", "8s", "--max-trials", "3",
                    "--families", "linear", "--metric", "f1_macro", "--out", str(tmp_path / "model"), "--quiet")
    assert result.exit_code == 0, result.output
    assert re.search(r"f1_macro [\d.]+, test f1_macro [\d.]+", result.stdout)
    assert load_model(tmp_path / "model").chosen.metric_name == "f1_macro"
    wrong = invoke("train", str(tmp_path / "train.csv"), "--label", "species", "--budget", "5s", "--metric", "rmse",
                   "--out", str(tmp_path / "m2"))
    assert wrong.exit_code == 2 and "metric 'rmse' is for regression" in wrong.stderr


def test_train_and_evaluate_weigh_the_rows_by_the_weight_column(tmp_path):
    from conftest import make_table

    table = make_table(200, seed=6)
    table.assign(w=np.where(table["species"] == table["species"].iloc[0], 5.0, 1.0)).to_csv(tmp_path / "train.csv",
                                                                                           index=False)
    result = invoke("train", str(tmp_path / "train.csv"), "--label", "species", "--weight", "w", "--budget", "8s",
                    "--max-trials", "2", "--families", "linear", "--out", str(tmp_path / "model"), "--quiet")
    assert result.exit_code == 0, result.output
    model = load_model(tmp_path / "model")
    assert "w" not in model.schema.input_columns
    evaluated = invoke("evaluate", str(tmp_path / "model"), str(tmp_path / "train.csv"), "--weight", "w")
    assert evaluated.exit_code == 0 and re.search(r"weighted\s+.\s+True", evaluated.stdout), evaluated.output
    as_label = invoke("train", str(tmp_path / "train.csv"), "--label", "species", "--weight", "species",
                      "--budget", "5s", "--out", str(tmp_path / "m2"))
    assert as_label.exit_code == 2 and "weight column 'species' is the label column" in as_label.stderr
    missing = invoke("train", str(tmp_path / "train.csv"), "--label", "species", "--weight", "weights",
                     "--budget", "5s", "--out", str(tmp_path / "m3"))
    assert missing.exit_code == 2 and "weight column 'weights' not found" in missing.stderr


def test_train_with_an_id_column_and_predict_writes_it_beside_each_prediction(tmp_path):
    from conftest import make_table

    table = make_table(200, seed=8)
    table.insert(0, "ticket", [f"T-{i}" for i in range(len(table))])
    table.to_csv(tmp_path / "train.csv", index=False)
    result = invoke("train", str(tmp_path / "train.csv"), "--label", "species", "--id", "ticket", "--budget", "8s",
                    "--max-trials", "2", "--families", "linear", "--out", str(tmp_path / "model"), "--quiet")
    assert result.exit_code == 0, result.output
    table.drop(columns="species").head(7).to_csv(tmp_path / "new.csv", index=False)
    predicted = invoke("predict", str(tmp_path / "model"), str(tmp_path / "new.csv"), "--proba")
    assert predicted.exit_code == 0, predicted.output
    frame = pd.read_csv(io.StringIO(predicted.stdout))
    assert list(frame.columns[:2]) == ["ticket", "prediction"] and frame["ticket"].tolist() == [f"T-{i}" for i in
                                                                                                range(7)]
    as_label = invoke("train", str(tmp_path / "train.csv"), "--label", "species", "--id", "species",
                      "--budget", "5s", "--out", str(tmp_path / "m2"))
    assert as_label.exit_code == 2 and "id column 'species' is the label column" in as_label.stderr


def test_image_predictions_carry_the_file_paths(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, colour in (("red", (200, 20, 20)), ("blue", (20, 20, 200))):
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(np.array(colour) + rng.integers(-20, 20, size=(8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "images" / name / f"{i}.png")
    result = invoke("train", str(tmp_path / "images"), "--budget", "10s", "--families", "linear", "--max-trials",
                    "1", "--out", str(tmp_path / "model"), "--quiet")
    assert result.exit_code == 0, result.output
    predicted = invoke("predict", str(tmp_path / "model"), str(tmp_path / "images" / "red"))
    assert predicted.exit_code == 0, predicted.output
    frame = pd.read_csv(io.StringIO(predicted.stdout))
    assert list(frame.columns) == ["path", "prediction"] and len(frame) == 12
    assert frame["path"].str.endswith(".png").all() and frame["path"].str.contains("red").all()


def test_train_says_which_task_it_inferred_and_why(tmp_path):
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=80), "count": rng.integers(0, 40, 80)}).to_csv(tmp_path / "t.csv", index=False)
    result = invoke("train", str(tmp_path / "t.csv"), "--label", "count", "--budget", "5s", "--families", "linear",
                    "--max-trials", "1", "--out", str(tmp_path / "m"))
    assert result.exit_code == 0, result.output
    assert re.search(r"lepton: task regression: label 'count' holds \d+ distinct whole numbers over 80 rows",
                     result.stderr)
