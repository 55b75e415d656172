"""Grounding latent actions with a few labels: the code -> effect map, its accuracy against the number of labels,
the plot, and the report's numbers."""

import json

import numpy as np

from genie.data.token_store import TokenStore
from genie.eval.grounding import grounding_curve, grounding_figure, labelled_codes
from genie.eval.metrics import majority_map
from tests.artefacts import png_image


def coded_store(root, episodes=20, length=60, noise=0.2, seed=0) -> TokenStore:
    """Codes 0-5 over 3 effects: codes 2e and 2e+1 both mean effect e, except for a ``noise`` share of random codes.
    Test levels are the last 5 episodes."""
    rng = np.random.default_rng(seed)
    store = TokenStore.create(root, {"test": "coded"})
    for i in range(episodes):
        actions = rng.integers(0, 6, length - 1)  # action ids; effect = action // 2
        codes = 2 * (actions // 2) + rng.integers(0, 2, length - 1)
        codes = np.where(rng.random(length - 1) < noise, rng.integers(0, 6, length - 1), codes)
        store.add_episode(f"e{i}", "test" if i >= episodes - 5 else "train", np.zeros((length, 2, 2), np.int64),
                          codes, actions)
    store.mark_complete()
    return store


def test_each_code_maps_to_the_effect_it_carries_most_and_unlabelled_codes_to_the_commonest():
    codes = np.array([0, 0, 0, 0, 1, 1, 2])
    effects = np.array([1, 1, 1, 0, 2, 2, 0])  # effect 1 is the commonest
    assert majority_map(codes, effects, num_keys=4, num_values=3).tolist() == [1, 2, 0, 1]  # code 3: unseen


def test_accuracy_grows_with_labels_towards_the_all_labels_map(tmp_path):
    store = coded_store(tmp_path / "tokens")
    codes, effects = labelled_codes(store, "test", np.array([0, 0, 1, 1, 2, 2]), window=4)
    assert len(codes) == 5 * (60 - 1 - 3)  # transitions with a full history
    curve = grounding_curve(store, [0, 0, 1, 1, 2, 2], ["A", "B", "C"], num_codes=6, window=4, labels=(3, 30, 300),
                            draws=10)
    assert curve.labels == [3, 30, 300]
    assert curve.accuracy_mean[0] < curve.accuracy_mean[1] <= curve.accuracy_mean[2] + 0.02
    assert 0.8 < curve.accuracy_all < 0.95  # 80 % clean codes, and about a third of the noisy ones land right
    assert curve.majority < 0.45 < curve.accuracy_mean[0] + 0.3
    assert curve.code_map_all == [0, 0, 1, 1, 2, 2]
    assert set(curve.metrics()) == {"grounding/effect_accuracy_n3", "grounding/effect_accuracy_n30",
                                    "grounding/effect_accuracy_n300", "grounding/effect_accuracy_all",
                                    "grounding/majority"}
    assert grounding_figure(tmp_path / "grounding.png", curve, ceiling=0.9).stat().st_size > 1000


def test_the_report_grounds_the_latent_actions_of_a_store_whose_actions_have_effects(trained_run):
    metrics = json.loads((trained_run / "dream" / "metrics.json").read_text())  # sprites: each action its own effect
    for key in ("grounding/effect_accuracy_n10", "grounding/effect_accuracy_all", "grounding/majority"):
        assert 0.0 <= metrics[key] <= 1.0, key
    png_image(trained_run / "dream" / "grounding.png")


class EffectsOnly:
    """The part of an EpisodeStore grounding reads: what each action id does."""

    def __init__(self, effects):
        self._effects = effects

    def effects(self):
        return self._effects


def test_a_run_with_a_labelled_token_store_is_grounded_from_its_world_json(tmp_path):
    from genie.checkpoints import record_in_world
    from genie.eval.grounding import run_grounding

    run = tmp_path / "run"
    run.mkdir()
    assert run_grounding(run, EffectsOnly(([0, 0, 1, 1, 2, 2], ["A", "B", "C"])), 6, 4) is None  # no token store
    record_in_world(run, "tokens", coded_store(tmp_path / "tokens").root)
    assert run_grounding(run, EffectsOnly(None), 6, 4) is None  # the actions' effects are unknown
    curve = run_grounding(run, EffectsOnly(([0, 0, 1, 1, 2, 2], ["A", "B", "C"])), 6, 4)
    assert curve.labels == [10, 50, 200] and curve.test_transitions == 5 * 56  # 840 train transitions: no 1 000
    assert curve.metrics()["grounding/effect_accuracy_all"] > 0.8
