import json
import os
import warnings

import pytest

from lepton_ai.models.neural.epochs import EPOCH_LOG_ENV, EpochLogReader, epoch_log, log_epoch


def test_log_epoch_appends_json_lines_only_inside_epoch_log(tmp_path):
    path = tmp_path / "t000.jsonl"
    log_epoch(1, 5, train_loss=1.0)  # outside: nothing, no error
    assert not path.exists()
    with epoch_log(path):
        log_epoch(1, 5, train_loss=1.0, dev_loss=float("nan"))
        log_epoch(2, 5, train_loss=0.5, dev_loss=0.4)
    assert EPOCH_LOG_ENV not in os.environ
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records == [{"epoch": 1, "n_epochs": 5, "train_loss": 1.0, "dev_loss": None},
                       {"epoch": 2, "n_epochs": 5, "train_loss": 0.5, "dev_loss": 0.4}]


def test_an_unwritable_log_warns_once_and_never_fails_the_fit(tmp_path):
    with epoch_log(tmp_path / "no" / "such" / "dir.jsonl"):
        with pytest.warns(UserWarning, match="epoch progress is not shown"):
            log_epoch(1, 2, train_loss=1.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            log_epoch(2, 2, train_loss=1.0)  # stopped trying: no second warning


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
