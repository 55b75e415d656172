"""Action alignment (DESIGN §3): actions[t] is what happened between frames[t] and frames[t+1], everywhere."""

import numpy as np
import torch

from genie.data.clips import PixelClips
from genie.data.synthetic import ACTION_DELTAS, generate_synthetic, synthetic_episode
from genie.world import history_windows

PLAYER = np.array([240, 220, 40], np.uint8)


def player_position(frame):
    ys, xs = np.where((frame == PLAYER).all(-1))
    return np.array([ys.min(), xs.min()])


def test_synthetic_action_t_moves_frame_t_to_frame_t_plus_1():
    frames, actions = synthetic_episode(np.random.default_rng(0), 32, 40)
    speed = 1
    checked = 0
    for t, a in enumerate(actions):
        before, after = player_position(frames[t]), player_position(frames[t + 1])
        expected = np.clip(before + ACTION_DELTAS[a] * speed, 0, 32 - 4)
        assert (after == expected).all(), f"t={t} action={a}"
        checked += int(a != 0)
    assert checked > 5


def test_clip_actions_line_up_with_clip_frames(tmp_path):
    store = generate_synthetic(str(tmp_path), 32, {"train": 2}, 20, seed=3)
    clips = PixelClips(tmp_path, "train", clip_len=5)
    item = clips[7]
    name = store.episodes("train")[int(item["episode"])].name
    start = int(item["start"])
    assert np.array_equal(item["frames"].numpy(), store.frames(name)[start : start + 5])
    assert item["actions"].tolist() == store.actions(name)[start : start + 4].tolist()


def test_history_windows_label_transition_t_with_frames_up_to_t_plus_1():
    frames = torch.arange(6).float().view(6, 1, 1, 1)  # frame t holds the value t
    windows = history_windows(frames, window=3)  # [5, 4, 1, 1, 1]
    assert windows.shape == (5, 4, 1, 1, 1)
    assert windows[0].flatten().tolist() == [0, 0, 0, 1]  # start padded with frame 0
    assert windows[4].flatten().tolist() == [2, 3, 4, 5]  # transition 4 -> 5
