"""LeptonModel: the PRODUCT §2 snippet as written, and the façade's contracts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import make_table
from lepton_ai import LeptonAI, LeptonModel, SinglePointTechnique, load_data, load_model, save_model
from lepton_ai.errors import ConfigError, DataError, NotFittedError
from lepton_ai.utils import load_data as load_data_utils
from lepton_ai.utils import save_model as save_model_utils

FAST = ["linear", "gbdt"]


def test_product_snippet_runs_as_written(table_csv, tmp_path, table):
    assert load_data_utils is load_data and save_model_utils is save_model
    train, dev, test = load_data(table_csv, label="species")
    new = load_data(table_csv, label="species", split=None)
    model = LeptonModel(objective="balanced", budget="20s", max_trials=10, verbose=0)
    assert model.train(train, dev, epochs=3) is model
    accuracy = model.test(test)
    assert 0.6 < accuracy <= 1.0
    report = model.evaluate(test)
    assert report["accuracy"] == pytest.approx(accuracy)
    labels = model.predict(test)
    assert set(labels) <= {"setosa", "versicolor", "virginica"} and len(labels) == len(test)
    proba = model.predict_proba(test)
    assert proba.shape == (len(test), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    board = model.leaderboard()
    assert len(board) == len(model.result_.trials) and board["chosen"].sum() == 1
    assert model.frontier()["frontier"].all()
    assert model.select(objective="speed") is model
    model.select(max_latency_ms=1e9)
    save_model(tmp_path / "model", model)
    model2 = load_model(tmp_path / "model")
    np.testing.assert_array_equal(model2.predict(new), model.predict(new))

    X = table.drop(columns="species").select_dtypes("number").fillna(0).to_numpy()
    y = table["species"].to_numpy()
    clf = LeptonAI(budget="10s", families="linear", max_trials=3).fit(X, y)
    assert clf.predict_proba(X).shape == (len(X), 3)

    sp = SinglePointTechnique(cores=1, price_per_core_hour=0.045, budget="10s", families=FAST, max_trials=5)
    assert sp.fit(train) is sp
    assert sp.predict(test).shape == (len(test), 3)
    engine_model = LeptonModel(engine=sp, verbose=0).train(train, dev)
    assert engine_model.result_.n_threads == 1


@pytest.fixture(scope="module")
def trained():
    from conftest import make_table

    frame = make_table(400, seed=1)
    model = LeptonModel(budget="20s", families=FAST, max_trials=8, verbose=0).train(frame, label="species")
    return model, make_table(120, seed=2)


def test_test_and_predict_take_dataframes_with_or_without_label(trained):
    model, frame = trained
    with_label = model.predict(frame)
    without = model.predict(frame.drop(columns="species"))
    np.testing.assert_array_equal(with_label, without)
    assert model.test(frame) == pytest.approx(np.mean(with_label == frame["species"].to_numpy()))


def test_reordered_columns_give_identical_predictions(trained):
    model, frame = trained
    shuffled = frame[["flag", "species", "x2", "colour", "x1"]]
    np.testing.assert_array_equal(model.predict_proba(shuffled), model.predict_proba(frame))


def test_missing_and_extra_columns(trained):
    model, frame = trained
    model.predict(frame.assign(unrelated=1.0))
    with pytest.raises(DataError, match="'colour'"):
        model.predict(frame.drop(columns="colour"))


def test_unseen_category_is_not_fatal(trained):
    model, frame = trained
    labels = model.predict(frame.assign(colour="ultraviolet"))
    assert len(labels) == len(frame)


def test_scoring_needs_labels(trained):
    model, frame = trained
    with pytest.raises(DataError, match="species"):
        model.test(frame.drop(columns="species"))


def test_evaluate_reports_every_metric(trained):
    model, frame = trained
    report = model.evaluate(frame)
    for key in ("accuracy", "balanced_accuracy", "precision_macro", "recall_macro", "f1_macro", "log_loss",
                "confusion_matrix", "per_class"):
        assert key in report
    assert "roc_auc" not in report  # three classes
    matrix = np.asarray(report["confusion_matrix"]["matrix"])
    assert matrix.sum() == len(frame)


def test_unseen_categories_are_counted_in_evaluate_and_named_by_predict(trained):
    import warnings

    model, frame = trained
    frame = frame.copy()
    frame.loc[:4, "colour"] = "mauve"
    frame.loc[5, "colour"] = None  # missing, not unseen
    report = model.evaluate(frame)
    assert report["unseen_categories"] == {"colour": 5}
    assert model.evaluate(make_table(50, seed=9))["unseen_categories"] == {"colour": 0}
    with pytest.warns(UserWarning, match=r"not seen in training.*\(colour: 5 values\)"):
        labels = model.predict(frame.drop(columns="species"))
    counts: dict[str, int] = {"colour": 1}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a caller's dict gets the counts instead of a warning
        proba = model.predict_proba(frame.drop(columns="species"), unseen=counts)
    assert counts == {"colour": 6}
    assert labels.tolist() == model.classes_[proba.argmax(axis=1)].tolist()


def test_binary_evaluation_has_roc_auc():
    data = load_data("breast_cancer", split=(0.8, 0.2))
    model = LeptonModel(budget="10s", families=["linear"], max_trials=3, verbose=0).train(data[0])
    assert 0.9 < model.evaluate(data[1])["roc_auc"] <= 1.0


def test_regression_path():
    train, dev, test = load_data("diabetes")
    model = LeptonModel(budget="10s", families=FAST, max_trials=6, verbose=0).train(train, dev)
    assert model.schema.task == "regression"
    report = model.evaluate(test)
    assert set(report) >= {"r2", "rmse", "mae"}
    assert report["r2"] == pytest.approx(model.test(test))
    with pytest.raises(ConfigError, match="regression"):
        model.predict_proba(test)


def test_not_trained_and_bad_arguments():
    with pytest.raises(NotFittedError):
        LeptonModel().predict(pd.DataFrame({"a": [1]}))
    with pytest.raises(ConfigError, match="balanced, accuracy, speed, cost"):
        LeptonModel(objective="fastest")
    with pytest.raises(ConfigError, match="linear, gbdt, mlp"):
        LeptonModel(families=["linear", "xgboost"], verbose=0).train("iris")


def test_infeasible_limit_names_the_closest(trained):
    model, _ = trained
    with pytest.raises(ConfigError, match="Closest"):
        model.select(max_latency_ms=1e-9)


def test_search_options_given_to_the_model_and_its_engine_must_agree():
    engine = SinglePointTechnique(cores=1, budget="60s", seed=3)
    with pytest.raises(ConfigError, match=r"budget is given twice with different values: LeptonModel\(budget='30s'\) "
                                          r"and SinglePointTechnique\(budget='60s'\)"):
        LeptonModel(budget="30s", engine=engine, verbose=0).train("iris")
    with pytest.raises(ConfigError, match=r"LeptonModel\(seed=0\) and SinglePointTechnique\(seed=3\)"):
        LeptonModel(seed=0, engine=engine, verbose=0).train("iris")
    with pytest.raises(ConfigError, match=r"LeptonModel\(label='kind'\) and train\(label='species'\)"):
        LeptonModel(label="kind", verbose=0).train("iris", label="species")


def test_each_search_option_comes_from_where_it_was_given(table):
    engine = SinglePointTechnique(cores=1, families="linear", max_trials=1, refit=False, cluster="inline")
    model = LeptonModel(budget="4s", engine=engine, verbose=0).train(table, label="species")
    assert model.result_.plan.total_s == pytest.approx(4.0)   # the model's budget
    assert [t.family for t in model.result_.trials] == ["linear"]  # the engine's families and trial cap
    again = LeptonModel(budget="4s", families="linear", max_trials=1, engine=engine, verbose=0).train(
        table, label="species")  # the same values given in both places agree
    assert again.result_.plan.total_s == pytest.approx(4.0)


# ---- records and Arrow batches: a table row with the training column names --------------------------
def test_predict_takes_a_record_and_a_list_of_records(trained):
    model, frame = trained
    features = frame.drop(columns="species")
    records = features.to_dict("records")
    np.testing.assert_array_equal(model.predict(records), model.predict(features))
    np.testing.assert_array_equal(model.predict_proba(records), model.predict_proba(features))
    one = model.predict(records[3])
    assert one.shape == (1,) and one[0] == model.predict(features.iloc[[3]])[0]
    np.testing.assert_array_equal(model.predict_proba(records[3]), model.predict_proba(features.iloc[[3]]))


def test_test_and_evaluate_take_records_with_their_labels(trained):
    model, frame = trained
    records = frame.to_dict("records")
    assert model.test(records) == model.test(frame)
    assert model.evaluate(records)["accuracy"] == model.evaluate(frame)["accuracy"]
    unlabelled = frame.drop(columns="species").to_dict("records")
    assert model.test((unlabelled, frame["species"].to_numpy())) == model.test(frame)
    with pytest.raises(DataError, match="species"):
        model.test(unlabelled)


def test_a_record_missing_a_column_is_named(trained):
    model, frame = trained
    record = frame.drop(columns=["species", "x2"]).iloc[0].to_dict()
    with pytest.raises(DataError, match=r"record: missing column\(s\) 'x2' that the model was trained on"):
        model.predict(record)


def test_records_with_mixed_keys_name_the_record(trained):
    model, frame = trained
    records = frame.drop(columns="species").head(3).to_dict("records")
    del records[2]["colour"]
    with pytest.raises(DataError, match=r"records: record 2: missing column\(s\) 'colour'"):
        model.predict(records)


def test_an_extra_key_is_ignored_like_an_extra_column(trained):
    model, frame = trained
    record = frame.drop(columns="species").iloc[0].to_dict()
    np.testing.assert_array_equal(model.predict_proba({**record, "unrelated": "x"}), model.predict_proba(record))


def test_a_record_of_the_wrong_type_names_the_column(trained):
    model, frame = trained
    record = frame.drop(columns="species").iloc[0].to_dict()
    with pytest.raises(DataError, match=r"record: column 'x1' row 0: expected a number, got 'tall'"):
        model.predict({**record, "x1": "tall"})
    with pytest.raises(DataError, match=r"record: column 'flag' row 0: expected true/false, got 'perhaps'"):
        model.predict({**record, "flag": "perhaps"})


@pytest.mark.parametrize("value", [np.nan, np.inf, None])
def test_nan_inf_and_none_in_a_record_are_missing_values_like_in_a_frame(trained, value):
    model, frame = trained
    row = frame.drop(columns="species").iloc[[0]].assign(x1=np.nan)
    record = {**row.iloc[0].to_dict(), "x1": value}
    np.testing.assert_array_equal(model.predict_proba(record), model.predict_proba(row))


def test_an_unseen_category_in_a_record_predicts_like_in_a_frame(trained):
    model, frame = trained
    row = frame.drop(columns="species").iloc[[0]].assign(colour="ultraviolet")
    np.testing.assert_array_equal(model.predict_proba(row.iloc[0].to_dict()), model.predict_proba(row))


def test_arrow_tables_and_batches_predict_like_frames(trained):
    import pyarrow as pa

    model, frame = trained
    expected = model.predict_proba(frame)
    np.testing.assert_array_equal(model.predict_proba(pa.Table.from_pandas(frame)), expected)
    np.testing.assert_array_equal(model.predict_proba(pa.RecordBatch.from_pandas(frame)), expected)
    assert model.test(pa.Table.from_pandas(frame)) == model.test(frame)


def test_an_arrow_batch_with_a_wrong_schema_names_the_field(trained):
    import pyarrow as pa

    model, frame = trained
    with pytest.raises(DataError, match=r"Arrow RecordBatch: missing column\(s\) 'colour'"):
        model.predict(pa.RecordBatch.from_pandas(frame.drop(columns="colour")))
    wrong = frame.astype({"x1": str}).assign(x1="tall")
    with pytest.raises(DataError, match=r"Arrow Table: column 'x1' row 0: expected a number, got 'tall'"):
        model.predict(pa.Table.from_pandas(wrong))


def test_an_empty_list_of_records_is_refused(trained):
    model, _ = trained
    with pytest.raises(DataError, match="list of records is empty"):
        model.predict([])


# ---- feature importance --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def signal_and_noise():
    rng = np.random.default_rng(3)
    n = 800
    frame = pd.DataFrame({"signal": rng.normal(size=n), "weak": rng.normal(size=n), "noise": rng.normal(size=n),
                          "colour": rng.choice(["red", "blue"], size=n)})
    frame["y"] = np.where(3 * frame["signal"] + 0.5 * frame["weak"] + rng.normal(scale=0.3, size=n) > 0, "a", "b")
    model = LeptonModel(budget="6s", families="linear", max_trials=1, verbose=0).train(frame, label="y")
    return model, frame


def test_feature_importance_ranks_the_columns_the_model_uses(signal_and_noise):
    model, frame = signal_and_noise
    importance = model.feature_importance(frame, repeats=4)
    assert list(importance.columns) == ["column", "importance", "std"]
    assert set(importance["column"]) == {"signal", "weak", "noise", "colour"}
    assert importance["column"].iloc[0] == "signal" and importance["importance"].iloc[0] > 0.2
    by_column = importance.set_index("column")["importance"]
    assert by_column["weak"] > by_column["noise"] and abs(by_column["noise"]) < 0.02
    assert importance.attrs["metric"] == "accuracy" and importance.attrs["baseline"] == pytest.approx(
        model.test(frame))
    # Records give the same figures as the frame they come from.
    records = frame.head(300).to_dict("records")
    pd.testing.assert_frame_equal(model.feature_importance(records, repeats=2),
                                  model.feature_importance(frame.head(300), repeats=2))


def test_feature_importance_refuses_what_it_cannot_measure(signal_and_noise):
    model, frame = signal_and_noise
    with pytest.raises(ConfigError, match="repeats must be an int >= 1"):
        model.feature_importance(frame, repeats=0)
    with pytest.raises(DataError, match="no labels to score against"):
        model.feature_importance(frame.drop(columns="y"))


def test_predictions_carry_the_id_column_through_save_and_load(tmp_path):
    table = make_table(240, seed=11)
    table.insert(0, "ticket", [f"T-{i}" for i in range(len(table))])
    model = LeptonModel(budget="8s", families="linear", max_trials=1, verbose=0,
                        engine=SinglePointTechnique(home=tmp_path)).train(table, label="species", id="ticket")
    assert "ticket" not in model.schema.feature_names and model.schema.id_column == "ticket"
    loaded = load_model(save_model(tmp_path / "m", model))
    frame = loaded.predictions(table.head(5), proba=True)
    assert frame["ticket"].tolist() == [f"T-{i}" for i in range(5)]
    assert frame["prediction"].tolist() == list(loaded.predict(table.head(5)))
    assert [c for c in frame.columns if c.startswith("proba_")] == [f"proba_{c}" for c in loaded.classes_]
    np.testing.assert_allclose(frame.filter(like="proba_").to_numpy(), loaded.predict_proba(table.head(5)))
    assert list(loaded.predictions(table.drop(columns="ticket").head(2)).columns) == ["prediction"]


def test_a_date_column_becomes_calendar_features_through_save_load_and_every_input_form(tmp_path):
    import pyarrow as pa

    from lepton_ai.errors import NotBuiltError

    rng = np.random.default_rng(5)
    stamps = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 700 * 24, 800), unit="h")
    y = 4.0 * (stamps.day_of_week >= 5) + 2.0 * (stamps.hour >= 18) + 0.005 * (stamps - stamps.min()).days
    table = pd.DataFrame({"ordered": stamps.strftime("%d/%m/%Y %H:%M"), "x": rng.normal(size=800),
                          "y": y + rng.normal(0, 0.2, 800)})
    model = LeptonModel(budget="15s", families="gbdt", max_trials=2, verbose=0,
                        engine=SinglePointTechnique(home=tmp_path)).train(table.iloc[:600], label="y")
    assert model.schema.columns[0].kind == "date" and model.schema.columns[0].format == "%d/%m/%Y %H:%M"
    assert model.test(table.iloc[600:]) > 0.9  # r2: weekday, hour and trend come from the date alone
    loaded = load_model(save_model(tmp_path / "m", model))
    new = table.drop(columns="y").head(6)
    expected = model.predict(new)
    parsed = new.assign(ordered=pd.to_datetime(new["ordered"], format="%d/%m/%Y %H:%M"))
    for X in (new, new.to_dict("records"), pa.Table.from_pandas(parsed), parsed, new.to_numpy(dtype=object)):
        np.testing.assert_array_equal(loaded.predict(X), expected)
    importance = loaded.feature_importance(table.head(300), repeats=2)
    assert importance["column"].iloc[0] == "ordered"
    with pytest.raises(DataError, match="column 'ordered' row 0: expected a date"):
        loaded.predict({"ordered": "next week", "x": 0.0})
    with pytest.raises(NotBuiltError, match=r"date columns \(ordered\)"):
        loaded.export_onnx(tmp_path / "m.onnx")
