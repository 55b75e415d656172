"""CoinRun's player detector: is the player's sprite in the centre of the view, where CoinRun's camera keeps it?

In every real CoinRun frame the camera follows the player, so its sprite sits in the central box (a quarter of the
frame wide). A dreamed world that has lost the player, or turned into wall, shows no sprite there. The detector is a
small classifier trained on tokenizer reconstructions of real *train* frames: central boxes are positives, boxes
that do not overlap the centre (from the same frames) negatives. It is validated on held-out real frames, raw and
reconstructed; a detector that is not accurate there says so in its numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from genie.data.store import EpisodeStore
from genie.eval.frame_classifier import fit_classifier, predict
from genie.nn.pixels import to_model
from genie.world import WorldModel

NEGATIVES_PER_FRAME = 3


def sample_frames(store: EpisodeStore, split: str, count: int, seed: int) -> np.ndarray:
    """``count`` frames drawn uniformly from the split's episodes: uint8 [count, H, W, 3]."""
    episodes = store.episodes(split)
    lengths = np.array([e.length for e in episodes])
    rng = np.random.default_rng(seed)
    flat = np.sort(rng.choice(lengths.sum(), size=min(count, lengths.sum()), replace=False))
    episode_of = np.searchsorted(np.cumsum(lengths), flat, side="right")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return np.stack([store.frames(episodes[e].name)[i - starts[e]] for e, i in zip(episode_of, flat)])


def reconstruct(world: WorldModel, frames_NHWC: np.ndarray, batch: int = 256) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> the tokenizer's reconstructions, float [N, 3, H, W] in [0, 1] (on the CPU)."""
    out = []
    for i in range(0, len(frames_NHWC), batch):
        tokens = world.encode(torch.from_numpy(frames_NHWC[i : i + batch])[:, None])
        out.append(world.decode(tokens)[:, 0].float().cpu())
    return torch.cat(out)


def centre_box(frames_NCHW: torch.Tensor) -> torch.Tensor:
    """float [N, 3, H, W] -> the central box [N, 3, H/4, W/4], where CoinRun's camera keeps the player."""
    H, W = frames_NCHW.shape[-2:]
    bh, bw = H // 4, W // 4
    return frames_NCHW[..., (H - bh) // 2 : (H - bh) // 2 + bh, (W - bw) // 2 : (W - bw) // 2 + bw]


def off_centre_boxes(frames_NCHW: torch.Tensor, per_frame: int, seed: int) -> torch.Tensor:
    """``per_frame`` boxes of the centre box's size from each frame, none overlapping the centre box:
    float [N * per_frame, 3, H/4, W/4]."""
    N, _, H, W = frames_NCHW.shape
    bh, bw = H // 4, W // 4
    cy, cx = (H - bh) // 2, (W - bw) // 2
    rng = np.random.default_rng(seed)
    boxes = []
    for n in range(N):
        for _ in range(per_frame):
            while True:
                y, x = int(rng.integers(0, H - bh + 1)), int(rng.integers(0, W - bw + 1))
                if abs(y - cy) >= bh or abs(x - cx) >= bw:
                    break
            boxes.append(frames_NCHW[n, :, y : y + bh, x : x + bw])
    return torch.stack(boxes)


@dataclass
class PlayerDetector:
    model: nn.Module
    accuracy: float  # balanced accuracy on held-out reconstructions: centre boxes vs off-centre boxes
    in_view_real: float  # detected rate on held-out reconstructions of real frames (the camera always shows it)
    in_view_raw: float  # detected rate on held-out raw frames
    false_positive_rate: float  # detected rate on off-centre boxes of held-out reconstructions

    def in_view(self, frames_NCHW: torch.Tensor) -> torch.Tensor:
        """float [N, 3, H, W] in [0, 1] -> bool [N]: the player's sprite is in the centre of the view."""
        return predict(self.model, centre_box(frames_NCHW.float().cpu())) > 0.5

    def metrics(self) -> dict[str, float]:
        return {
            "long_play/player_detector_accuracy": self.accuracy,
            "long_play/player_in_view_real": self.in_view_real,
            "long_play/player_in_view_real_raw": self.in_view_raw,
            "long_play/player_detector_false_positive_rate": self.false_positive_rate,
        }


def fit_player_detector(world: WorldModel, store: EpisodeStore, train_split: str = "train", test_split: str = "test",
                        frames: int = 1024, seed: int = 0) -> PlayerDetector:
    """Train on reconstructions of ``frames`` real frames of ``train_split``; validate on ``test_split``."""
    train_x = reconstruct(world, sample_frames(store, train_split, frames, seed))
    positives, negatives = centre_box(train_x), off_centre_boxes(train_x, NEGATIVES_PER_FRAME, seed)
    x = torch.cat([positives.repeat(NEGATIVES_PER_FRAME, 1, 1, 1), negatives])  # balanced
    y = torch.cat([torch.ones(len(negatives)), torch.zeros(len(negatives))])
    model = fit_classifier(x, y, steps=400, seed=seed)
    raw = sample_frames(store, test_split, frames // 2, seed + 1)
    test_x = reconstruct(world, raw)
    hit = float((predict(model, centre_box(test_x)) > 0.5).float().mean())
    false_alarm = float((predict(model, off_centre_boxes(test_x, NEGATIVES_PER_FRAME, seed + 1)) > 0.5).float().mean())
    hit_raw = float((predict(model, centre_box(to_model(torch.from_numpy(raw)))) > 0.5).float().mean())
    return PlayerDetector(model, (hit + 1 - false_alarm) / 2, hit, hit_raw, false_alarm)
