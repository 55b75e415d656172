"""Key response: the same keys in the real game and in the dream (genie/eval/key_response.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genie.eval.key_response import (
    KeyResponseSettings, compare_paths, key_response, person_like_keys, play_in_game, sideways_moves,
)
from genie.nn.pixels import to_model
from genie.world import WorldModel
from play_worlds import ActionCount, BandDynamics, BlockTokenizer

pytest.importorskip("procgen")


def test_compare_paths_scores_a_dream_that_follows_against_one_that_stands_or_goes_the_other_way():
    real = torch.tensor([[1.0] * 8 + [-1.0] * 8, [0.0] * 8 + [0.5] * 8])  # moves of 8, -8 | 0, 4 px per stretch
    follows = compare_paths(real, real.clone(), span=8, min_move=2.0)
    assert follows["same_way"] == 1.0 and follows["moves"] == 3 and follows["x_error"] == 0.0
    stands = compare_paths(real, torch.zeros_like(real), span=8, min_move=2.0)
    assert stands["same_way"] == 0.0 and stands["dream_travel"] == 0.0 and stands["x_error"] == pytest.approx(2.0)
    backwards = compare_paths(real, -real, span=8, min_move=2.0)
    assert backwards["same_way"] == 0.0 and backwards["path_r"] == pytest.approx(-1.0)


def test_person_like_keys_are_held_between_hold_min_and_hold_max_frames():
    keys = person_like_keys(20, 64, 4, 12, np.random.default_rng(0))
    for row in keys:
        changes = np.flatnonzero(np.diff(row)) + 1
        runs = np.diff(np.concatenate([[0], changes]))
        assert (runs >= 4).all()  # a run may be longer: the same key drawn twice in a row
    assert set(np.unique(keys)) == {0, 1, 2, 3}


def test_the_real_game_moves_the_camera_the_way_the_keys_say_after_the_context():
    settings = KeyResponseSettings(levels=12, steps=16)
    game = play_in_game(settings, window=4, walk_in=8)
    assert game.frames.shape[1:] == (4 + 16, 64, 64, 3) and game.keys.shape == (len(game.frames), 16)
    moves = sideways_moves(to_model(torch.from_numpy(game.frames))[:, 3:])  # the move after each key
    right, left = moves[torch.from_numpy(game.keys) == 1], moves[torch.from_numpy(game.keys) == 0]
    assert right.mean() > 0.2 and left.mean() < right.mean()


class StillDynamics(BandDynamics):
    """Whatever the action, the next frame is the last one: a world that never moves."""

    def predict_next(self, tokens_BThw, actions_B, temperature=0.0, generator=None):
        return tokens_BThw[:, -1].clone()


def test_a_world_that_never_moves_gets_no_key_response():
    world = WorldModel(BlockTokenizer(16), ActionCount(4), StillDynamics(4, 16, window=4), frame_size=64,
                       effect_names=["LEFT", "RIGHT", "JUMP", "NOTHING"])
    metrics, strip = key_response(world, None, KeyResponseSettings(levels=8, steps=16, psnr_step=8))
    for start in ("walk", "start"):
        assert metrics[f"key_response/{start}/dream_travel"] == 0.0
        assert metrics[f"key_response/{start}/same_way"] in (0.0,) or np.isnan(metrics[f"key_response/{start}/same_way"])
        assert metrics[f"key_response/{start}/key_gain"] == 0.0  # the keys change nothing
    assert metrics["key_response/walk/real_travel"] > 1.0
    assert strip.shape == (4 * 64, 5 * 64, 3)  # real, dream rows for both starts: the start and every 4th of 16 steps


def test_the_game_is_played_on_the_backdrop_the_store_was_recorded_with():
    settings = KeyResponseSettings(levels=4, steps=8)
    black = {b: float((play_in_game(settings, window=4, walk_in=0, backgrounds=b).frames == 0).all(-1).mean())
             for b in (True, False)}
    assert black[False] > 0.2 and black[True] < 0.05
