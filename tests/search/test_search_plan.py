from lepton_ai.search.plan import plan_candidates


def test_every_family_appears_in_the_first_round_cheapest_first():
    plan = plan_candidates(["mlp", "linear", "gbdt"], n_rows=500, n_features=10)
    first_round = plan[:3]
    assert {c.family for c in first_round} == {"linear", "gbdt", "mlp"}
    assert [c.estimated_fit_s for c in first_round] == sorted(c.estimated_fit_s for c in first_round)


def test_epochs_cap_neural_candidates_only():
    plan = plan_candidates(["mlp", "linear"], n_rows=500, n_features=10, epochs=3)
    assert all(c.params["epochs"] == 3 for c in plan if c.family == "mlp")
    assert all("epochs" not in c.params for c in plan if c.family == "linear")


def test_candidates_build_their_family():
    for candidate in plan_candidates(["linear", "gbdt"], 100, 5):
        model = candidate.build()
        assert model.name == candidate.family
        assert all(model.get_params()[k] == v for k, v in candidate.params.items())
