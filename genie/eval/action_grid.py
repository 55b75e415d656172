"""Action grid: rows = start frames from different held-out episodes, columns = latent actions 0..K-1, each cell
rolled forward ``steps`` frames under that one action. Consistent latent actions move every row the same way.
Each row starts mid-episode: CoinRun levels all open at their left wall, so first frames would look alike."""

from __future__ import annotations

import numpy as np
import torch

from genie.controls.previews import action_rollouts
from genie.data.store import EpisodeStore
from genie.drawing import label, upscale
from genie.world import WorldModel


@torch.no_grad()
def action_grid_video(world: WorldModel, store: EpisodeStore, split: str = "test", rows: int = 4, steps: int = 12,
                      scale: int = 2, gap: int = 2) -> np.ndarray:
    """uint8 [steps + 1, rows * (H*scale + gap), K * (W*scale + gap), 3]."""
    episodes = [e for e in store.episodes(split) if e.length >= world.window][:rows]
    K = world.num_actions
    cells = []  # [rows][K] uint8 [steps + 1, H, W, 3]
    for info in episodes:
        start = (info.length - world.window) // 2
        frames = torch.from_numpy(np.array(store.frames(info.name)[start : start + world.window]))
        cells.append(action_rollouts(world, world.encode(frames[None])[0], steps))
    T = steps + 1
    H, W = cells[0][0].shape[1] * scale, cells[0][0].shape[2] * scale
    grid = np.full((T, len(cells) * (H + gap), K * (W + gap), 3), 255, np.uint8)
    for r, row in enumerate(cells):
        for a, video in enumerate(row):
            big = upscale(video, scale)
            if r == 0:
                big = np.stack([label(f, f"a={a}") for f in big])
            grid[:, r * (H + gap) : r * (H + gap) + H, a * (W + gap) : a * (W + gap) + W] = big
    return grid
