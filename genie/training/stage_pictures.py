"""The pictures a stage shows at validation (genie/training/media.py logs them): each a uint8 image [H, W, 3] and a
caption, made from a few validation frames or tokens by the stage's nets. The caller computes them in float32
without gradients.

    reconstruction       rows: val frames, the tokenizer's reconstructions
    code_usage           bar chart: the share of the val transitions given each latent code
    next_frame_per_code  rows: val transitions; columns: x_t, x_t+1, then the next frame the LAM's decoder predicts
                         under each latent code (outlined in green: the code the LAM infers for the transition)
    teacher_forced       rows: real frames, the dynamics model's one-step predictions from the real history
    dream                rows: real frames, a dream from the same start under the real latent actions
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from genie.nn.latent_action_net import LatentActionNet
from genie.nn.pixels import to_uint8

Picture = tuple[np.ndarray, str]  # (uint8 [H, W, 3], caption)
MIN_FRAME_PIXELS = 64  # smaller frames are scaled up (nearest neighbour), so they stay visible in a W&B panel
GREEN = (40, 220, 40)


def grid(rows: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Rows of frames uint8 [N, H, W, 3] (N may differ per row) -> one image with white gaps, left-aligned."""
    H, W = rows[0].shape[1:3]
    scale = max(1, MIN_FRAME_PIXELS // H)
    columns = max(len(r) for r in rows)
    image = np.full((len(rows) * (H * scale + gap) - gap, columns * (W * scale + gap) - gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, frame in enumerate(row):
            y, x = i * (H * scale + gap), j * (W * scale + gap)
            image[y : y + H * scale, x : x + W * scale] = frame.repeat(scale, 0).repeat(scale, 1)
    return image


def outline(frame_HWC: np.ndarray, colour: tuple[int, int, int] = GREEN) -> np.ndarray:
    """A copy of the frame with a 1-pixel border in ``colour``."""
    framed = frame_HWC.copy()
    framed[[0, -1]] = colour
    framed[:, [0, -1]] = colour
    return framed


def pixels(frames_NCHW: torch.Tensor) -> np.ndarray:
    """float [N, 3, H, W] in [0, 1] -> uint8 [N, H, W, 3] on the CPU."""
    return to_uint8(frames_NCHW.float()).cpu().numpy()


def reconstruction(original_NCHW: torch.Tensor, recon_NCHW: torch.Tensor) -> Picture:
    return (grid([pixels(original_NCHW), pixels(recon_NCHW)]),
            f"top: {len(original_NCHW)} val frames; bottom: their reconstructions")


def code_usage(counts_K: np.ndarray) -> Picture:
    """Bar chart of the latent codes' shares of ``counts_K.sum()`` val transitions."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    K, total = len(counts_K), int(counts_K.sum())
    figure = Figure(figsize=(max(3.0, 0.35 * K), 2.4), dpi=100)
    canvas = FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.bar(np.arange(K), counts_K / max(total, 1), color="#3b75af")
    ax.set_xticks(np.arange(K) if K <= 32 else np.arange(0, K, K // 16))
    ax.set_ylim(0, 1)
    ax.set_xlabel("latent code")
    ax.set_ylabel("share")
    figure.tight_layout()
    canvas.draw()
    used = int((counts_K > 0).sum())
    return np.asarray(canvas.buffer_rgba())[..., :3].copy(), f"{used}/{K} codes used by {total} val transitions"


def next_frame_per_code(lam: LatentActionNet, transitions_BTCHW: torch.Tensor) -> Picture:
    """``transitions_BTCHW``: B transitions as frames [B, window + 1, 3, H, W] in [0, 1] (history, then x_t+1)."""
    B, K = transitions_BTCHW.shape[0], lam.num_actions
    history_BTCHW = transitions_BTCHW[:, :-1]
    inferred_B = lam.infer(transitions_BTCHW).tolist()
    codes = torch.arange(K, device=transitions_BTCHW.device).repeat(B)  # [B*K]: 0..K-1 for each transition
    predicted = lam.decode(history_BTCHW.repeat_interleave(K, dim=0), lam.action_vectors(codes)).clamp(0, 1)
    predicted_BKHWC = pixels(predicted).reshape(B, K, *predicted.shape[-2:], 3)
    rows = []
    for b in range(B):
        cells = [*pixels(transitions_BTCHW[b, -2:]), *predicted_BKHWC[b]]
        cells[2 + inferred_B[b]] = outline(cells[2 + inferred_B[b]])
        rows.append(np.stack(cells))
    return grid(rows), (f"rows: val transitions; columns: x_t, x_t+1, then x_t+1 predicted under latent code "
                        f"0..{K - 1} (green: the code the LAM infers)")


def dynamics_strips(dynamics: torch.nn.Module, context_Whw: torch.Tensor, future_Shw: torch.Tensor,
                    actions_S: torch.Tensor, decode: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, Picture]:
    """``context_Whw``: the tokens of ``window`` real frames, int64; ``future_Shw``: the S real frames after them;
    ``actions_S``: latent actions, ``actions_S[s]`` moves to ``future_Shw[s]``; ``decode``: tokens [N, h, w] ->
    frames float [N, 3, H, W] in [0, 1]. ``dynamics`` implements ``predict_next(history [B, window, h, w],
    action [B]) -> tokens [B, h, w]`` (argmax at its default temperature 0)."""
    W, S = context_Whw.shape[0], future_Shw.shape[0]
    real_Thw = torch.cat([context_Whw, future_Shw])
    histories_SWhw = torch.stack([real_Thw[s : s + W] for s in range(S)])  # the real history before each future frame
    teacher_Shw = dynamics.predict_next(histories_SWhw, actions_S)
    dreamed_Thw = context_Whw
    for s in range(S):
        nxt_hw = dynamics.predict_next(dreamed_Thw[None, -W:], actions_S[s : s + 1])[0]
        dreamed_Thw = torch.cat([dreamed_Thw, nxt_hw[None]])
    real = pixels(decode(future_Shw))
    start = pixels(decode(context_Whw[-1:]))
    return {
        "teacher_forced": (grid([real, pixels(decode(teacher_Shw))]),
                           f"top: {S} real frames (decoded tokens); bottom: each predicted from the real history"),
        "dream": (grid([np.concatenate([start, real]), np.concatenate([start, pixels(decode(dreamed_Thw[W:]))])]),
                  f"top: the last context frame and {S} real frames; bottom: {S} frames dreamed from {W} real ones "
                  "under the real latent actions"),
    }
