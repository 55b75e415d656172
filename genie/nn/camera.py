"""Camera moves in pixels: how far the view scrolled between two frames, and a frame moved as the camera would.

Both work on any game (label-free): a move is the whole-frame translation that best explains the change. They
measure the dream (genie/eval/scene_motion.py, key response) and make the *moved copy* a CNN dynamics model reads
(genie/nn/cnn_forecaster.py ``moved_copy``).
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
    content moves the other way; what comes into view repeats the frame's edge (``unseen_cells`` says where)."""
    r = int(shift_B2.abs().max()) if len(shift_B2) else 0
    padded = F.pad(frames_BCHW, (r, r, r, r), mode="replicate")
    H, W = frames_BCHW.shape[-2:]
    return torch.stack([p[:, r + dy : r + dy + H, r + dx : r + dx + W]
                        for p, (dx, dy) in zip(padded, shift_B2.long().tolist())])


def unseen_cells(shift_B2: torch.Tensor, h: int, w: int, cell_pixels: int) -> torch.Tensor:
    """Which cells of an [h, w] grid of ``cell_pixels``-px cells hold ground a camera move of ``shift_B2`` (dx, dy)
    brings into view (any of their pixels new): bool [B, h, w]. A move right uncovers the right-hand columns."""
    def cells(pixels_B11: torch.Tensor) -> torch.Tensor:  # whole cells a band of new pixels touches
        return (pixels_B11.clamp(min=0) + cell_pixels - 1) // cell_pixels

    dx_B11, dy_B11 = shift_B2[:, 0, None, None].long(), shift_B2[:, 1, None, None].long()
    new_right, new_left, new_bottom, new_top = cells(dx_B11), cells(-dx_B11), cells(dy_B11), cells(-dy_B11)
    col_11w = torch.arange(w, device=shift_B2.device)[None, None]
    row_1h1 = torch.arange(h, device=shift_B2.device)[None, :, None]
    return (col_11w >= w - new_right) | (col_11w < new_left) | (row_1h1 >= h - new_bottom) | (row_1h1 < new_top)
