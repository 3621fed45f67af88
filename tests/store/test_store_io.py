"""save_model / load_model: identical predictions here and in another process, a manifest that
lists and hashes every file, no pickle, refusal of tampered, foreign or newer directories, atomic
writes, and byte-identical weights from the same data, seed and threads."""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine

import lepton_ai
from lepton_ai import LeptonAI, LeptonModel, load_model, save_model
from lepton_ai.errors import ArtifactError, ConfigError
from lepton_ai.models.base import ModelFamily
from lepton_ai.store import FORMAT_VERSION
from lepton_ai.store.manifest import MANIFEST, MANIFEST_DIGEST


def _wine() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = load_wine(as_frame=True).frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return frame.iloc[:140].reset_index(drop=True), frame.iloc[140:].reset_index(drop=True)


@pytest.fixture(scope="module")
def wine() -> tuple[pd.DataFrame, pd.DataFrame]:
    return _wine()


@pytest.fixture(scope="module")
def model(wine) -> LeptonModel:
    train, _ = wine
    return LeptonModel(budget="10s", families=["linear", "gbdt"], max_trials=5, verbose=0).train(train, label="target")


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory) -> Path:
    return save_model(tmp_path_factory.mktemp("store") / "model", model)


@pytest.fixture()
def copy(saved, tmp_path) -> Path:
    """A copy of the saved model that a test may tamper with."""
    return Path(shutil.copytree(saved, tmp_path / "model"))


@pytest.fixture(scope="module")
def test_csv(wine, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "test.csv"
    wine[1].to_csv(path, index=False)  # with the label column, which predict ignores
    return path


def _hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _manifest(root: Path) -> dict:
    return json.loads((root / MANIFEST).read_text(encoding="utf-8"))


def _write_manifest(root: Path, manifest: dict) -> None:
    """Rewrite the manifest and its digest, as someone who knows the format would."""
    data = json.dumps(manifest).encode("utf-8")
    (root / MANIFEST).write_bytes(data)
    (root / MANIFEST_DIGEST).write_text(hashlib.sha256(data).hexdigest())


# ---- round trips ---------------------------------------------------------------------------------


def test_load_in_this_process_predicts_identically(model, saved, wine) -> None:
    loaded = load_model(saved)
    test = wine[1]
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))
    np.testing.assert_array_equal(loaded.predict(test), model.predict(test))
    assert loaded.chosen_ == model.chosen_
    assert loaded.test(test) == model.test(test)
    pd.testing.assert_frame_equal(loaded.leaderboard(), model.leaderboard())


_PREDICT_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    from lepton_ai import load_model

    np.save(sys.argv[3], load_model(sys.argv[1]).predict_proba(sys.argv[2]))
""")


def test_load_in_another_process_predicts_identically(model, saved, test_csv, tmp_path) -> None:
    out = tmp_path / "proba.npy"
    done = subprocess.run([sys.executable, "-c", _PREDICT_SCRIPT, str(saved), str(test_csv), str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(out, allow_pickle=False), model.predict_proba(test_csv))


# The fields a trial record kept inside "extra" before they were typed (and before it had an "index").
_ONCE_IN_EXTRA = ("origin", "rung", "rung_fraction", "config_id", "forced", "dev_loss", "converged", "history",
                  "traceback", "refit_error", "variant_of")


def _as_old_record(record: dict) -> dict:
    """``record`` as the previous version wrote it into a manifest."""
    moved = {*_ONCE_IN_EXTRA, "index", "fit_length", "refit_fit_s", "refit_params", "extra"}
    old = {k: v for k, v in record.items() if k not in moved}
    extra = {**record["extra"], **{k: record[k] for k in _ONCE_IN_EXTRA}, "fidelity": record["rung_fraction"]}
    if record["fit_length"] is not None:
        extra["n_trees" if record["family"] == "gbdt" else "epochs_run"] = record["fit_length"]
    if record["refit_params"] is not None:
        extra["refit"] = {"fit_s": record["refit_fit_s"], "params": record["refit_params"]}
    return {**old, "extra": extra}


def test_a_model_saved_before_trial_records_had_typed_fields_still_loads(model, copy, wine) -> None:
    manifest = _manifest(copy)
    assert any(t["fit_length"] is not None for t in manifest["trials"])  # the mapping has something to map
    manifest["trials"] = [_as_old_record(t) for t in manifest["trials"]]
    assert all("index" not in t and "rung_fraction" in t["extra"] for t in manifest["trials"])
    _write_manifest(copy, manifest)
    loaded = load_model(copy)
    assert [t.to_json() for t in loaded.result_.trials] == [t.to_json() for t in model.result_.trials]
    np.testing.assert_array_equal(loaded.predict_proba(wine[1]), model.predict_proba(wine[1]))
    pd.testing.assert_frame_equal(loaded.leaderboard(), model.leaderboard())


def test_select_after_load_switches_models_without_retraining(saved, wine) -> None:
    loaded = load_model(saved)
    for objective in ("speed", "accuracy", "cost", "balanced"):
        assert loaded.select(objective) is loaded
        assert loaded.objective == objective
        assert loaded.chosen_ in loaded.result_.models
        proba = loaded.predict_proba(wine[1])
        assert proba.shape == (len(wine[1]), 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(loaded.frontier()["trial"]) <= set(loaded.result_.models)


def test_saving_a_fitted_sklearn_estimator(tmp_path, wine) -> None:
    train, test = wine
    X, y = train.drop(columns="target"), train["target"]
    clf = LeptonAI(budget="10s", families="linear", max_trials=3).fit(X, y)
    loaded = load_model(save_model(tmp_path / "clf", clf))
    np.testing.assert_array_equal(loaded.predict_proba(test.drop(columns="target")),
                                  clf.predict_proba(test.drop(columns="target")))


def test_saving_an_untrained_model_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="needs a trained LeptonModel"):
        save_model(tmp_path / "m", LeptonModel())
    assert not (tmp_path / "m").exists()


# ---- what is on disk -----------------------------------------------------------------------------


def test_no_pickle_only_json_safetensors_and_text(saved) -> None:
    from safetensors.numpy import load_file

    files = [p for p in saved.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".json", ".safetensors", ".txt", ".sha256"}
    for path in files:  # each file is what its name says
        if path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
        elif path.suffix == ".sha256":  # the manifest's digest
            assert len(path.read_text(encoding="ascii").strip()) == 64
        elif path.suffix == ".txt":
            assert path.read_text(encoding="utf-8").startswith("tree\n")  # LightGBM model text
        else:
            assert load_file(str(path))


def test_manifest_lists_versions_schema_run_and_every_hash(model, saved) -> None:
    manifest = _manifest(saved)
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["lepton_version"] == lepton_ai.__version__
    assert manifest["task"] == "classification"
    assert manifest["schema"] == json.loads(json.dumps(model.schema.to_json()))
    assert manifest["schema"]["classes"] == [0, 1, 2]
    assert manifest["run"]["seed"] == 0
    assert manifest["run"]["n_threads"] == model.result_.n_threads >= 1
    assert manifest["chosen"] == model.chosen_ in manifest["models"]
    on_disk = _hashes(saved)
    del on_disk[MANIFEST], on_disk[MANIFEST_DIGEST]
    assert manifest["files"] == on_disk
    for trial_id in manifest["models"]:
        assert f"models/{trial_id}/family.json" in manifest["files"]


# ---- refusals --------------------------------------------------------------------------------------


def test_modified_weight_file_is_refused(copy) -> None:
    weights = next(p for p in sorted(copy.rglob("*")) if p.suffix in {".safetensors", ".txt"})
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"does not match its SHA-256.*Refusing to load"):
        load_model(copy)


def test_missing_listed_file_is_refused(copy) -> None:
    next(copy.rglob("family.json")).unlink()
    with pytest.raises(ArtifactError, match="missing"):
        load_model(copy)


@pytest.mark.parametrize("extra", ["notes.txt", "models/evil.pkl"])
def test_extra_unlisted_file_is_refused(copy, extra: str) -> None:
    (copy / extra).write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ArtifactError, match=f"not listed in {MANIFEST}: {extra}"):
        load_model(copy)


def test_manifest_entry_pointing_outside_is_refused(copy, tmp_path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    manifest = _manifest(copy)
    manifest["files"]["../outside.json"] = hashlib.sha256(outside.read_bytes()).hexdigest()
    _write_manifest(copy, manifest)
    with pytest.raises(ArtifactError, match="outside the model directory"):
        load_model(copy)


@pytest.mark.parametrize("name", ["model.pkl", "model.pt", "model.joblib"])
def test_pickle_or_torch_checkpoint_is_never_loaded(tmp_path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ArtifactError, match="never loads pickles"):
        load_model(path)


def test_directory_without_manifest_is_refused(tmp_path) -> None:
    (tmp_path / "weights.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(ArtifactError, match=f"not a lepton-ai model directory \\(no {MANIFEST}\\)"):
        load_model(tmp_path)


def test_missing_directory_is_refused(tmp_path) -> None:
    with pytest.raises(ArtifactError, match="no such model directory"):
        load_model(tmp_path / "nowhere")


def test_foreign_manifest_is_refused(copy) -> None:
    (copy / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(ArtifactError, match="not valid JSON"):
        load_model(copy)
    _write_manifest(copy, {"format": "something else", "format_version": 1})
    with pytest.raises(ArtifactError, match="not a lepton-ai model manifest"):
        load_model(copy)


def test_newer_format_version_is_refused(copy) -> None:
    manifest = _manifest(copy)
    manifest["format_version"] = FORMAT_VERSION + 1
    _write_manifest(copy, manifest)
    newer = f"format version {FORMAT_VERSION + 1} is newer than this lepton-ai reads.*Upgrade lepton-ai"
    with pytest.raises(ArtifactError, match=newer):
        load_model(copy)


# ---- atomic writes ----------------------------------------------------------------------------------


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if ".lepton." in p.name)


def test_saving_over_a_directory_that_is_not_a_model_is_refused(model, tmp_path) -> None:
    target = tmp_path / "photos"
    target.mkdir()
    (target / "cat.txt").write_text("meow")
    before = _hashes(target)
    with pytest.raises(ArtifactError, match="not a lepton-ai model; refusing to overwrite"):
        save_model(target, model)
    assert _hashes(target) == before
    assert _leftovers(tmp_path) == []


def test_saving_over_a_file_is_refused(model, tmp_path) -> None:
    target = tmp_path / "model"
    target.write_text("keep me")
    with pytest.raises(ArtifactError, match="is a file; refusing to overwrite"):
        save_model(target, model)
    assert target.read_text() == "keep me"


def test_saving_over_a_model_replaces_it(model, saved, tmp_path) -> None:
    target = tmp_path / "model"
    save_model(target, model)
    save_model(target, model)
    assert _hashes(target) == _hashes(saved)
    assert _leftovers(tmp_path) == []


def test_failed_save_leaves_the_old_model_and_no_temp_dirs(model, copy, monkeypatch, wine) -> None:
    before = _hashes(copy)

    def save_half_then_fail(self: ModelFamily, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "family.json").write_text("{")
        raise OSError("No space left on device")

    monkeypatch.setattr(ModelFamily, "save", save_half_then_fail)
    with pytest.raises(ArtifactError, match=f"{copy}: could not be written .No space left on device.*Free disk"):
        save_model(copy, model)
    monkeypatch.undo()
    assert _hashes(copy) == before
    assert _leftovers(copy.parent) == []
    np.testing.assert_array_equal(load_model(copy).predict_proba(wine[1]), model.predict_proba(wine[1]))


# ---- reproducibility ----------------------------------------------------------------------------------


def test_same_data_seed_and_threads_give_identical_models(tmp_path) -> None:
    """In deterministic mode fits stop at their lengths, never at a deadline: a loaded machine
    cannot change a weight (with deadlines, an MLP cut one epoch earlier differs)."""
    train, test = _wine()
    runs = []
    for i in range(2):
        model = LeptonModel(budget="300s", families="linear,gbdt,mlp", seed=0, max_trials=7, verbose=0,
                            deterministic=True)
        model.train(train, label="target")
        runs.append((model, save_model(tmp_path / f"run{i}", model)))
    (first, first_dir), (second, second_dir) = runs
    assert _manifest(first_dir)["run"]["extra"]["mode"] == "deterministic"
    searched = [t for t in first.result_.trials if not t.variant_of and t.family != "ensemble"]  # variants come after
    assert [t.status for t in searched] == ["ok"] * 7  # every candidate ran
    assert [(t.trial_id, t.family, t.params) for t in first.result_.trials] == \
        [(t.trial_id, t.family, t.params) for t in second.result_.trials]
    assert first.result_.n_threads == second.result_.n_threads
    # Every candidate predicts identically and writes identical bytes, not only those the frontier kept.
    reference: dict[str, str] = {}
    for trial_id, family in first.result_.models.items():
        np.testing.assert_array_equal(first.result_.output(first._input(test), trial_id),
                                      second.result_.output(second._input(test), trial_id))
        written = [_hashes(m.save(tmp_path / run / trial_id)[0].parent)
                   for run, m in (("a", family), ("b", second.result_.models[trial_id]))]
        assert written[0] == written[1]
        reference.update({f"models/{trial_id}/{name}": digest for name, digest in written[0].items()})
    # The choice and the frontier do not hang on timing noise: both runs keep the same models,
    # predict the same, and write the same weight files byte for byte.
    assert first.chosen_ == second.chosen_
    np.testing.assert_array_equal(first.predict(test), second.predict(test))
    first_weights = {k: v for k, v in _hashes(first_dir).items() if k.startswith("models/")}
    second_weights = {k: v for k, v in _hashes(second_dir).items() if k.startswith("models/")}
    assert first_weights and first_weights == second_weights
    assert first_weights.items() <= reference.items()
