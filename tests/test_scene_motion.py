"""Scene motion: the camera-shift estimate, rests found in a store, frozen rollouts."""

import numpy as np
import torch

from genie.data.store import EpisodeStore
from genie.eval.scene_motion import frozen_rate, rest_windows
from genie.nn.camera import camera_shift


def test_camera_shift_recovers_a_known_scroll_in_each_direction():
    g = torch.Generator().manual_seed(0)
    scene = torch.rand(1, 3, 48, 48, generator=g)
    for dx, dy in [(1, 0), (-2, 0), (0, -3), (2, 1)]:
        a = scene[..., 8:40, 8:40]
        b = scene[..., 8 + dy : 40 + dy, 8 + dx : 40 + dx]  # the camera moved by (dx, dy)
        assert camera_shift(a, b).tolist() == [[float(dx), float(dy)]]
    still = scene[..., 8:40, 8:40]
    assert camera_shift(still, still).tolist() == [[0.0, 0.0]]
    flat = torch.full((1, 3, 32, 32), 0.5)  # every offset explains it equally: no move
    assert camera_shift(flat, flat).tolist() == [[0.0, 0.0]]


def test_rest_windows_start_where_the_world_stood_still_and_then_moved(tmp_path):
    store = EpisodeStore.create(tmp_path, "unit", frame_size=16)
    rng = np.random.default_rng(0)
    moving = rng.integers(0, 255, (12, 16, 16, 3), dtype=np.uint8)
    still = moving.copy()
    still[2:6] = still[5]  # frames 2..5 identical, then it moves on
    store.add_episode("never_rests", moving, split="test")
    store.add_episode("rests", still, split="test")
    windows = rest_windows(store, "test", window=4, steps=3, count=8)
    assert windows.shape == (1, 7, 16, 16, 3)
    assert (windows[0, :4] == still[5]).all() and (windows[0, 4:] == still[6:9]).all()
    assert rest_windows(store, "train", window=4, steps=3, count=8).shape[0] == 0


def test_frozen_rate_counts_rollouts_whose_frame_did_not_change():
    before = torch.zeros(4, 2, 2, dtype=torch.long)
    after = before.clone()
    after[1, 0, 0] = 5  # one token changed: not frozen
    assert frozen_rate(before, after) == 0.75


def test_walk_from_rest_measures_every_latent_action_against_the_real_game(world, store, tmp_path):
    from genie.eval.scene_motion import walk_from_rest

    rests = EpisodeStore.create(tmp_path, "unit", frame_size=store.frame_size)
    for e in store.episodes("test")[:3]:
        frames = store.frames(e.name)[:12].copy()
        frames[:4] = frames[3]  # the world stands still, then the real episode goes on
        rests.add_episode(e.name, frames, split="test")
    metrics = walk_from_rest(world, rests, "test", steps=4, count=8)
    assert metrics["motion/rests"] >= 1 and metrics["motion/steps"] == 4
    for a in range(world.num_actions):
        assert f"motion/code{a}_dx" in metrics and f"motion/code{a}_dy" in metrics
    for way in ("right", "left", "up"):
        assert metrics[f"motion/reach_{way}"] >= 0.0 and metrics[f"motion/real_reach_{way}"] >= 0.0
        assert 0 <= metrics[f"motion/real_rests_{way}"] <= metrics["motion/rests"]


def test_camera_moves_are_looked_for_as_far_as_the_stores_frameskip_lets_them_go(tmp_path):
    from genie.eval.scene_motion import store_frameskip
    from genie.nn.camera import search_radius

    plain = EpisodeStore.create(tmp_path / "plain", "unit", frame_size=16)
    skipped = EpisodeStore.create(tmp_path / "skipped", "unit", frame_size=16, extra={"frameskip": 3})
    assert search_radius(store_frameskip(plain)) == 3 and search_radius(store_frameskip(skipped)) == 9
    scene = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    a, b = scene[..., 16:48, 8:40], scene[..., 16:48, 15:47]  # three game frames of a run: 7 px
    assert camera_shift(a, b, search_radius(3)).tolist() == [[7.0, 0.0]]
    assert camera_shift(a, b).tolist()[0][0] != 7.0  # one game frame's radius cannot see it
