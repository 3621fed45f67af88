"""The closed manifest schema and path confinement: a model folder never makes load_model read outside it."""

from __future__ import annotations

import copy as copying
import hashlib
import json
import shutil
from pathlib import Path

import pytest
from sklearn.datasets import load_wine

from lepton_ai import LeptonModel, load_model, save_model
from lepton_ai.errors import ArtifactError
from lepton_ai.store.manifest import MANIFEST, MANIFEST_DIGEST
from lepton_ai.store.schema import check_trial_id


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    frame = load_wine(as_frame=True).frame
    model = LeptonModel(budget="10s", families="linear", max_trials=1, verbose=0).train(frame, label="target")
    return save_model(tmp_path_factory.mktemp("schema") / "model", model)


@pytest.fixture()
def folder(saved, tmp_path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "model"))


def _manifest(root: Path) -> dict:
    return json.loads((root / MANIFEST).read_text(encoding="utf-8"))


def _rewrite(root: Path, manifest: dict) -> None:
    """Write the manifest and a matching digest: what an attacker who knows the format would do."""
    data = json.dumps(manifest).encode("utf-8")
    (root / MANIFEST).write_bytes(data)
    (root / MANIFEST_DIGEST).write_text(hashlib.sha256(data).hexdigest())


def _plant_model_outside(folder: Path, tmp_path: Path) -> tuple[dict, str, Path]:
    """A copy of the chosen model's files outside the folder, every hash listed as if inside."""
    manifest = _manifest(folder)
    chosen = manifest["chosen"]
    outside = tmp_path / "elsewhere"
    shutil.copytree(folder / "models" / chosen, outside)
    return manifest, chosen, outside


@pytest.mark.parametrize("make_id", [lambda outside: str(outside), lambda outside: f"../../{outside.name}",
                                     lambda outside: "t000/../../../elsewhere"])
def test_a_trial_id_naming_a_path_outside_is_refused(folder, tmp_path, make_id) -> None:
    manifest, chosen, outside = _plant_model_outside(folder, tmp_path)
    evil = make_id(outside)
    manifest["models"] = {evil: manifest["models"][chosen]}
    manifest["chosen"] = evil
    for trial in manifest["trials"]:
        if trial["trial_id"] == chosen:
            trial["trial_id"] = evil
    _rewrite(folder, manifest)
    with pytest.raises(ArtifactError, match=r"not a valid lepton-ai manifest.*is not a trial id"):
        load_model(folder)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("format_version", 0, "format_version must be an integer >= 1"),
    ("format_version", -3, "format_version must be an integer >= 1"),
    ("format_version", True, "format_version must be an integer >= 1"),
    ("format_version", "2", "format_version must be an integer >= 1"),
    ("surprise", {"a": 1}, r"surprise: Extra inputs are not permitted"),
    ("objective", "fastest", r"objective: Input should be 'balanced'"),
    ("task", 1, r"task: Input should be 'classification' or 'regression'"),
])
def test_the_manifest_is_checked_against_a_closed_schema(folder, field, value, message) -> None:
    manifest = _manifest(folder)
    manifest[field] = value
    _rewrite(folder, manifest)
    with pytest.raises(ArtifactError, match=message):
        load_model(folder)


@pytest.mark.parametrize(("path", "value", "message"), [
    (("run", "n_threads"), -1, r"run\.n_threads: Input should be greater than or equal to 1"),
    (("run", "seed"), True, r"run\.seed: Input should be a valid integer"),
    (("run", "budget_s"), -5.0, r"run\.budget_s"),
    (("run", "price_per_core_hour"), "cheap", r"run\.price_per_core_hour"),
    (("run", "sneaky"), 1, r"run\.sneaky: Extra inputs are not permitted"),
])
def test_nested_fields_are_checked_too(folder, path, value, message) -> None:
    manifest = _manifest(folder)
    manifest[path[0]][path[1]] = value
    _rewrite(folder, manifest)
    with pytest.raises(ArtifactError, match=message):
        load_model(folder)


def test_a_file_entry_that_is_absolute_or_hidden_is_refused(folder) -> None:
    manifest = _manifest(folder)
    for bad in ("/etc/hostname", ".hidden/x.json", "models/../../x"):
        broken = copying.deepcopy(manifest)
        broken["files"][bad] = "0" * 64
        _rewrite(folder, broken)
        with pytest.raises(ArtifactError, match="is not a relative path of safe names inside the model directory"):
            load_model(folder)


def test_an_edited_manifest_without_a_new_digest_is_refused(folder) -> None:
    manifest = _manifest(folder)
    manifest["metrics"] = {}
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ArtifactError, match=f"does not match its SHA-256 in {MANIFEST_DIGEST}"):
        load_model(folder)


def test_a_missing_digest_is_refused(folder) -> None:
    (folder / MANIFEST_DIGEST).unlink()
    with pytest.raises(ArtifactError, match=f"{MANIFEST_DIGEST}: missing or unreadable"):
        load_model(folder)


def test_a_format_1_model_loads_without_a_digest(folder, saved) -> None:
    """Models written before the digest existed still load (their files are still hashed)."""
    manifest = _manifest(folder)
    manifest["format_version"] = 1
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    (folder / MANIFEST_DIGEST).unlink()
    assert load_model(folder).chosen_ == load_model(saved).chosen_


def test_weights_whose_hash_matches_but_cannot_be_read_are_bad_input(folder) -> None:
    """Corrupt content re-hashed into the manifest: an ArtifactError naming the file, not an internal error."""
    manifest = _manifest(folder)
    weights = next(p for p in sorted((folder / "models").rglob("*.safetensors")))
    weights.write_bytes(b"\x00" * 64)
    manifest["files"][weights.relative_to(folder).as_posix()] = hashlib.sha256(weights.read_bytes()).hexdigest()
    _rewrite(folder, manifest)
    with pytest.raises(ArtifactError, match=r"cannot be read \(SafetensorError.*Save it again"):
        load_model(folder)


@pytest.mark.parametrize("trial_id", ["t000", "t012-refit", "t005-torch-bf16", "t003-onnx-int8"])
def test_trial_ids_the_engine_makes_are_accepted(trial_id: str) -> None:
    assert check_trial_id(trial_id, "here") == trial_id


@pytest.mark.parametrize("trial_id", ["", "/tmp/x", "../t000", "t000/..", "t0", "T000", "t000.json", 7, None])
def test_anything_else_is_not_a_trial_id(trial_id) -> None:
    with pytest.raises(ArtifactError, match="is not a trial id"):
        check_trial_id(trial_id, "here")


@pytest.mark.parametrize("value", [1.5, 0.0, -0.2, "0.4", True])
def test_a_decision_threshold_that_is_not_a_probability_is_refused(folder, value) -> None:
    manifest = _manifest(folder)
    manifest["trials"][0]["threshold"] = value
    _rewrite(folder, manifest)
    with pytest.raises(ArtifactError, match=r"threshold .* is not a probability strictly between 0 and 1"):
        load_model(folder)
