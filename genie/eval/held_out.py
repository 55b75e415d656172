"""Held-out real frames: the one way every evaluator picks them from a split (clips spread evenly over its
episodes), so the one-step metrics, the rollouts and long play read the same kind of sample."""

from __future__ import annotations

import numpy as np
import torch

from genie.data.clips import PixelClips
from genie.data.store import EpisodeStore


def held_out_clips(store: EpisodeStore, split: str, clip_len: int, max_clips: int) -> PixelClips:
    """Clips of ``clip_len`` frames spread evenly over the split's episodes (one every few frames), about
    ``max_clips`` of them; each item: {"frames": uint8 [clip_len, H, W, 3], "actions": int64 [clip_len], ...}."""
    total = sum(e.length for e in store.episodes(split))
    stride = max(1, total // max(max_clips, 1))
    return PixelClips(store.root, split, clip_len, stride)


def held_out_starts(store: EpisodeStore, split: str, window: int, count: int) -> torch.Tensor:
    """``count`` windows of ``window`` real frames spread evenly over the split: uint8 [count, window, H, W, 3]."""
    clips = held_out_clips(store, split, window, count)
    pick = np.linspace(0, len(clips) - 1, min(count, len(clips))).round().astype(int)
    return torch.stack([clips[int(i)]["frames"] for i in pick])
