"""Camera moves in pixels: how far the view scrolled between two frames, and a frame moved as the camera would.

Both work on any game (label-free): a move is the whole-frame translation that best explains the change. They
measure the dream (genie/eval/scene_motion.py, key response) and how a tokenizer's codes survive a scrolling view
(benchmarks/token_stability.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MOVE_PER_GAME_FRAME = 3  # pixels: a running, jumping CoinRun player moves the 64-px camera at most about this far


def search_radius(frameskip: int) -> int:
    """How far (pixels) a camera move is looked for between two stored frames ``frameskip`` game frames apart."""
    return MOVE_PER_GAME_FRAME * frameskip


def camera_shift(a_BCHW: torch.Tensor, b_BCHW: torch.Tensor, radius: int = MOVE_PER_GAME_FRAME) -> torch.Tensor:
    """The camera's move from frame a to frame b, float [B, 2] (dx, dy) in whole pixels, right and down positive:
    the offset with b[y, x] closest to a[y + dy, x + dx] (mean squared error over the frame minus a ``radius``
    border; the content moved by (-dx, -dy)); where offsets tie (a flat frame), no move. float32 throughout."""
    a, b = a_BCHW.float(), b_BCHW.float()
    r = radius
    target = b[..., r:-r, r:-r]
    best_err = ((a[..., r:-r, r:-r] - target) ** 2).mean((1, 2, 3))  # no move, which only a better offset beats
    best = torch.zeros(len(a), 2, device=a.device)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            moved = a[..., r + dy : a.shape[-2] - r + dy, r + dx : a.shape[-1] - r + dx]
            err = ((moved - target) ** 2).mean((1, 2, 3))
            better = err < best_err
            best_err = torch.where(better, err, best_err)
            best[better] = torch.tensor([dx, dy], dtype=torch.float32, device=a.device)
    return best


def moved_by_camera(frames_BCHW: torch.Tensor, shift_B2: torch.Tensor) -> torch.Tensor:
    """Frames float [B, C, H, W] as the camera sees them after moving by ``shift_B2`` (dx, dy) whole pixels: the
    content moves the other way; what comes into view repeats the frame's edge."""
    r = int(shift_B2.abs().max()) if len(shift_B2) else 0
    padded = F.pad(frames_BCHW, (r, r, r, r), mode="replicate")
    H, W = frames_BCHW.shape[-2:]
    return torch.stack([p[:, r + dy : r + dy + H, r + dx : r + dx + W]
                        for p, (dx, dy) in zip(padded, shift_B2.long().tolist())])

