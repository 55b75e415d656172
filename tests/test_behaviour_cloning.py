"""Behaviour cloning from unlabelled video: demonstrations labelled by a LAM, a cloned policy that learns what the
frames show, and play in the real game, where the scripted expert beats simpler players."""

import numpy as np
import pytest
import torch

from genie.data.coinrun import ACTION_MEANINGS, ExpertPolicy, RandomPolicy
from genie.data.store import EpisodeStore
from benchmarks.cloned_policy import ClonedPlayer, CloneConfig, Demonstrations, clone, play_coinrun
from genie.nn.latent_action_net import LatentActionConfig, LatentActionNet

RIGHT, RIGHT_UP = ACTION_MEANINGS.index("RIGHT"), ACTION_MEANINGS.index("RIGHT+UP")


def random_frames(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


def test_the_random_policy_ignores_what_it_sees():
    policy = RandomPolicy(3, np.random.default_rng(0))
    assert policy(random_frames(3), np.ones(3, bool)).shape == (3,)


def brightness_store(root, episodes=6, length=20) -> EpisodeStore:
    """Bright frames were played with RIGHT+UP, dark ones with RIGHT."""
    store = EpisodeStore.create(root, source="synthetic", frame_size=64, num_actions=len(ACTION_MEANINGS),
                                action_meanings=ACTION_MEANINGS)
    rng = np.random.default_rng(0)
    for i in range(episodes):
        bright = rng.random(length) < 0.5
        frames = np.where(bright[:, None, None, None], 200, 40).astype(np.uint8) * np.ones((1, 64, 64, 3), np.uint8)
        store.add_episode(f"e{i}", frames, np.where(bright[:-1], RIGHT_UP, RIGHT), split="train")
    store.mark_complete()
    return store


def test_a_cloned_policy_learns_the_button_its_frames_show(tmp_path):
    store = brightness_store(tmp_path / "store")
    lam = LatentActionNet(LatentActionConfig(num_actions=4, window=2, hidden=16, code_dim=8), 64)
    demos = Demonstrations.from_store(store, "train", lam.eval())
    assert len(demos.actions) == len(demos.codes) == 6 * 19 and demos.codes.max() < 4
    assert demos.windows(np.array([0, 1]), 2).shape == (2, 2, 64, 64, 3)
    policy = clone(demos, demos.actions, len(ACTION_MEANINGS), CloneConfig(steps=60, batch_size=16, lr=3e-3))
    player = ClonedPlayer(policy, np.arange(len(ACTION_MEANINGS)))
    bright, dark = np.full((4, 64, 64, 3), 200, np.uint8), np.full((4, 64, 64, 3), 40, np.uint8)
    assert (player(bright, np.ones(4, bool)) == RIGHT_UP).mean() > 0.7
    assert (player(dark, np.ones(4, bool)) == RIGHT).mean() > 0.7
    everything_jumps = ClonedPlayer(policy, np.full(len(ACTION_MEANINGS), RIGHT_UP))  # a class -> button map
    assert (everything_jumps(dark, np.ones(4, bool)) == RIGHT_UP).all()


def test_the_expert_finishes_more_coinrun_levels_than_holding_jump_right_or_random_buttons():
    pytest.importorskip("procgen", reason="procgen-mirror wheels exist only for CPython 3.11/3.12 on Linux x86-64")
    settings = dict(levels=20, episodes_per_env=2, num_envs=8)
    expert = play_coinrun(ExpertPolicy, **settings)
    held = play_coinrun(lambda env: lambda obs, first: np.full(len(obs), RIGHT_UP), **settings)
    random = play_coinrun(lambda env: RandomPolicy(8, np.random.default_rng(0)), **settings)
    assert expert["episodes"] == held["episodes"] == random["episodes"] == 16
    assert expert["success"] > held["success"] > random["success"] and expert["success"] >= 0.9
    assert expert["reward"] == pytest.approx(10 * expert["success"])  # CoinRun pays 10 for the coin, nothing else
