"""benchmarks/token_stability.py: codes that follow the content survive a scroll once moved with the camera."""

import json
import sys

import numpy as np
import torch
from torch import nn

from benchmarks import token_stability
from genie.nn.camera import moved_by_camera
from genie.data.store import EpisodeStore


class BlockTokenizer(nn.Module):
    """One token per 4x4 block: its red level in 16 steps. Its codes follow the content exactly."""

    num_codes = 16

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))  # a device to run on

    def encode(self, x_BCHW):
        return (nn.functional.avg_pool2d(x_BCHW[:, :1], 4)[:, 0] * 15).round().long()

    def decode(self, tokens_Bhw):
        red = (tokens_Bhw.float() / 15).repeat_interleave(4, 1).repeat_interleave(4, 2)
        return torch.stack([red, torch.zeros_like(red), torch.zeros_like(red)], 1)


def scrolling_store(root, steps=6, move=4):
    """A random block texture scrolled ``move`` pixels right each frame, then held still for two frames."""
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, 16, (16, 16 + steps)) * 17
    scene = np.zeros((64, 64 + steps * 4, 3), np.uint8)
    scene[..., 0] = blocks.repeat(4, 0).repeat(4, 1)
    frames = [scene[:, t * move : t * move + 64] for t in range(steps)]
    frames += [frames[-1]] * 2
    store = EpisodeStore.create(root, "unit", frame_size=64, extra={"frameskip": 3})
    store.add_episode("scroll", np.stack(frames), split="val")
    return store


def test_moved_by_camera_moves_the_content_the_other_way_and_repeats_the_edge():
    x = torch.arange(8.0).reshape(1, 1, 1, 8).expand(1, 1, 2, 8)
    moved = moved_by_camera(x, torch.tensor([[2, 0]]))
    assert moved[0, 0, 0].tolist() == [2, 3, 4, 5, 6, 7, 7, 7]


def test_codes_that_follow_the_content_keep_their_place_once_moved(tmp_path):
    scores = token_stability.stability_scores(BlockTokenizer(), scrolling_store(tmp_path), "val", 5)
    assert scores["transitions"] == 7 and abs(scores["moving_share"] - 5 / 7) < 1e-6
    assert scores["still_unchanged"] == 1.0 and scores["reencoded"] == 1.0
    assert 15 / 16 <= scores["moving_shifted"] < 1.0  # all but the column that came into view (chance matches)
    assert scores["moving_unchanged"] < 0.2  # a plain copy: the texture's chance matches


def test_the_benchmark_adds_each_run_to_its_json(trained_run, monkeypatch, tmp_path):
    out = tmp_path / "stability.json"
    out.write_text(json.dumps({"runs/earlier": {"moving_shifted": 0.5}}))
    monkeypatch.setattr(sys, "argv", ["token_stability", str(trained_run), "--episodes", "2", "--out", str(out)])
    token_stability.main()
    written = json.loads(out.read_text())
    assert written["runs/earlier"] == {"moving_shifted": 0.5}
    scores = written[str(trained_run)]
    assert 0.0 <= scores["reencoded"] <= 1.0 and scores["transitions"] >= 1 and scores["num_codes"] >= 2
