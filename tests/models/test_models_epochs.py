import json
import math
import warnings

import pytest

from lepton_ai.models.neural.epochs import EpochFile, EpochLogReader, epoch_record


def test_epoch_record_keeps_finite_metrics_and_nulls_the_rest():
    assert epoch_record(2, 5, train_loss=0.5, dev_loss=float("nan"), dev_metric=None) == \
        {"epoch": 2, "n_epochs": 5, "train_loss": 0.5, "dev_loss": None, "dev_metric": None}
    assert epoch_record(1, None, train_loss=math.inf)["train_loss"] is None


def test_epoch_file_appends_one_json_line_per_record(tmp_path):
    path = tmp_path / "t000.jsonl"
    on_epoch = EpochFile(path)
    on_epoch(epoch_record(1, 5, train_loss=1.0, dev_loss=float("nan")))
    on_epoch(epoch_record(2, 5, train_loss=0.5, dev_loss=0.4))
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records == [{"epoch": 1, "n_epochs": 5, "train_loss": 1.0, "dev_loss": None},
                       {"epoch": 2, "n_epochs": 5, "train_loss": 0.5, "dev_loss": 0.4}]


def test_an_unwritable_epoch_file_warns_once_and_never_fails_the_fit(tmp_path):
    on_epoch = EpochFile(tmp_path / "no" / "such" / "dir.jsonl")
    with pytest.warns(UserWarning, match="epoch progress is not shown"):
        on_epoch(epoch_record(1, 2, train_loss=1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        on_epoch(epoch_record(2, 2, train_loss=1.0))  # stopped trying: no second warning


def test_reader_returns_complete_new_lines_once(tmp_path):
    reader = EpochLogReader(min_interval_s=0.0)
    path = tmp_path / "epochs" / "t001.jsonl"
    path.parent.mkdir()
    path.write_text("stale from a killed attempt\n")
    reader.watch("t001", path)
    assert not path.exists() and reader.poll() == []
    with open(path, "a") as handle:
        handle.write(json.dumps({"epoch": 1}) + "\n" + '{"epoch": 2')  # the second line is half written
    assert reader.poll() == [("t001", {"epoch": 1})]
    with open(path, "a") as handle:
        handle.write("}\n")
    assert reader.forget("t001") == [{"epoch": 2}]
    assert reader.poll() == [] and reader.forget("t001") == []
