"""Evaluation pieces whose answers are known in advance."""

import numpy as np
import torch

from genie.eval.dream import choose_actions
from genie.eval.metrics import code_stats, nmi, psnr_of_mean_mse


def test_psnr_is_of_the_mean_mse_not_the_mean_of_per_frame_psnr():
    target = torch.zeros(2, 3, 4, 4)
    prediction = torch.stack([torch.zeros(3, 4, 4), torch.full((3, 4, 4), 0.1)])  # one identical frame
    # mean MSE = 0.005 -> 23.01 dB; a per-frame mean would be infinite
    assert abs(psnr_of_mean_mse(prediction, target) - 23.0103) < 1e-3


def test_code_stats_counts_usage_and_perplexity():
    stats = code_stats(torch.tensor([0, 1, 2, 3, 0, 1, 2, 3]), num_codes=8)
    assert stats["used"] == 4 and stats["usage"] == 0.5 and abs(stats["perplexity"] - 4.0) < 1e-4


def test_nmi_is_one_for_a_relabelling_and_zero_for_a_constant():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert nmi(labels, np.array([5, 5, 3, 3, 1, 1])) == 1.0
    assert nmi(labels, np.zeros(6, int)) == 0.0


def test_chosen_actions_are_cycled_to_the_requested_length():
    assert choose_actions("[1, 2]", np.zeros(5, int), 5, num_actions=4, seed=0).tolist() == [1, 2, 1, 2, 1]
    assert choose_actions("inferred", np.arange(10), 3, num_actions=16, seed=0).tolist() == [0, 1, 2]


def test_supervised_inverse_dynamics_learns_the_true_actions_of_a_sprite_world(tmp_path):
    """The LAM's ceiling: the LAM encoder trained on true labels names the sprite's moves on held-out episodes."""
    from genie.data.synthetic import generate_synthetic
    from benchmarks.inverse_dynamics import ceiling_scores, train_inverse_dynamics
    from genie.nn.latent_action_net import LatentActionConfig

    store = generate_synthetic(str(tmp_path / "sprites"), 32, {"train": 200, "val": 1, "test": 8}, 24, seed=1)
    lam = LatentActionConfig(window=1, code_dim=16, hidden=16, downsamples=2)
    untrained = ceiling_scores(train_inverse_dynamics(store, lam, steps=0), store)
    trained = ceiling_scores(train_inverse_dynamics(store, lam, steps=600, batch_size=16, lr=3e-3), store)
    assert trained.clips > 150
    assert trained.accuracy > 0.4 and trained.action_nmi > untrained.action_nmi + 0.2  # chance: ~0.2 and ~0
