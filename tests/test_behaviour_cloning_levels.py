"""Behaviour cloning on the levels that need the screen: CoinRun played level by level (deterministic per level
seed), the expert's informative steps balanced against its default move, a policy that reads several frames and its
previous classes, and a player that plays only the levels still going."""

import os

import numpy as np
import pytest
import torch

from benchmarks.behaviour_cloning_hard import balanced_rows, interval
from benchmarks.cloned_policy import BCPolicy, ClonedPlayer, CloneConfig, Demonstrations, clone
from genie.data.coinrun import ACTION_MEANINGS, NOOP

RIGHT, RIGHT_UP = ACTION_MEANINGS.index("RIGHT"), ACTION_MEANINGS.index("RIGHT+UP")


def counting_demos(lengths=(5, 3)) -> Demonstrations:
    """Episodes whose frame t is filled with the value 10 * episode + t; every step's button is its t."""
    frames = [np.full((n + 1, 64, 64, 3), 10 * e, np.uint8) + np.arange(n + 1, dtype=np.uint8)[:, None, None, None]
              for e, n in enumerate(lengths)]
    actions = [np.arange(n) for n in lengths]
    index = np.concatenate([np.stack([np.full(n, e), np.arange(n)], 1) for e, n in enumerate(lengths)])
    return Demonstrations(frames, np.concatenate(actions), np.zeros(sum(lengths), np.int64), index)


def test_a_window_repeats_the_first_frame_before_its_episode_starts():
    demos = counting_demos()
    windows = demos.windows(np.array([1, 5, 7]), 3)[..., 0, 0, 0]  # rows: ep 0 t=1, ep 1 t=0, ep 1 t=2
    assert windows.tolist() == [[0, 0, 1], [10, 10, 10], [10, 11, 12]]


def test_previous_classes_stop_at_the_episode_start():
    demos = counting_demos()
    previous = demos.previous(np.array([1, 4, 5, 7]), demos.actions, 2, none=99)
    assert previous.tolist() == [[99, 0], [2, 3], [99, 99], [0, 1]]


def test_balanced_rows_keep_every_informative_step_and_as_many_of_the_default():
    actions = np.array([RIGHT_UP] * 90 + [RIGHT] * 6 + [NOOP] * 4)
    rows = balanced_rows(actions, 1.0, np.random.default_rng(0))
    assert (actions[rows] != RIGHT_UP).sum() == 10 and (actions[rows] == RIGHT_UP).sum() == 10
    assert len(np.unique(rows)) == 20


def test_the_interval_over_seeds_widens_with_their_spread():
    assert interval([0.5, 0.5, 0.5])["ci95"] == 0.0
    assert interval([0.4, 0.5, 0.6])["ci95"] == pytest.approx(4.303 * 0.1 / np.sqrt(3), rel=1e-3)


def test_a_policy_that_reads_its_previous_class_learns_to_repeat_it():
    """The frames are all alike; the button repeats the previous one, so only the previous class tells it."""
    demos = counting_demos((40,) * 4)
    demos.frames = [np.zeros_like(f) for f in demos.frames]
    rng = np.random.default_rng(0)
    demos.actions = np.concatenate([np.full(40, b) for b in rng.permutation([RIGHT, RIGHT_UP, NOOP, RIGHT])])
    policy = clone(demos, demos.actions, len(ACTION_MEANINGS), CloneConfig(frames=1, previous=1, hidden=8, steps=150,
                                                                            batch_size=32, lr=3e-3))
    logits = policy(torch.zeros(2, 1, 64, 64, 3, dtype=torch.uint8), torch.tensor([[RIGHT], [NOOP]]))
    assert logits.argmax(1).tolist() == [RIGHT, NOOP]


def test_the_player_plays_only_the_envs_still_going_and_resets_a_new_episode():
    policy = BCPolicy(len(ACTION_MEANINGS), frames=3, previous=2, hidden=8)
    player = ClonedPlayer(policy, np.full(len(ACTION_MEANINGS), RIGHT_UP))
    obs = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    buttons = player(obs, np.ones(3, bool), np.array([True, False, True]))
    assert buttons.tolist() == [RIGHT_UP, NOOP, RIGHT_UP]
    player(obs // 2, np.zeros(3, bool))
    assert (player.frames_NFHWC[:, -1] == obs // 2).all() and (player.frames_NFHWC[:, 0] == obs).all()
    none = policy.classes  # env 1 sat out the first step, so it has chosen one class since its episode began
    assert (player.previous_NP[0] != none).all() and player.previous_NP[1, 0] == none != player.previous_NP[1, 1]
    player(obs, np.array([True, False, False]))
    assert (player.frames_NFHWC[0] == obs[0]).all() and player.previous_NP[0, 0] == none


def test_epsilon_one_plays_uniformly_random_classes():
    policy = BCPolicy(len(ACTION_MEANINGS), frames=1, hidden=8)
    player = ClonedPlayer(policy, np.arange(len(ACTION_MEANINGS)), epsilon=1.0)
    buttons = player(np.zeros((600, 64, 64, 3), np.uint8), np.ones(600, bool))
    assert len(np.unique(buttons)) == len(ACTION_MEANINGS)


def test_coinrun_is_deterministic_per_level_and_holding_right_up_fails_some_levels():
    pytest.importorskip("procgen", reason="procgen-mirror wheels exist only for CPython 3.11/3.12 on Linux x86-64")
    from benchmarks.coinrun_levels import holding_right_up, levels_holding_fails, play_levels

    seeds = 200_000 + np.arange(24)
    first = play_levels(holding_right_up, seeds, "easy")
    again = play_levels(holding_right_up, seeds[::-1], "easy")
    assert (first["steps"] == again["steps"][::-1]).all() and (first["finished"] == again["finished"][::-1]).all()
    failing = levels_holding_fails(seeds, "easy")
    assert 0 < len(failing) < len(seeds) and (failing == seeds[~first["finished"]]).all()


def test_level_envs_step_in_the_calling_thread():
    pytest.importorskip("procgen", reason="procgen-mirror wheels exist only for CPython 3.11/3.12 on Linux x86-64")
    from benchmarks.coinrun_levels import level_envs

    threads = lambda: len(os.listdir("/proc/self/task"))  # native threads too (procgen's pools)
    before = threads()
    env = level_envs(200_000 + np.arange(16), "easy")
    env.act(np.zeros(16, np.int64))
    assert len(env.observe()[0]) == 16 and threads() == before
