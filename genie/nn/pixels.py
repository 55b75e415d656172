"""Pixel convention (DESIGN §3): uint8 [.., H, W, 3] on disk and in batches; float [.., 3, H, W] in [0, 1] in models."""

from __future__ import annotations

import torch


def to_model(frames_BTHWC: torch.Tensor) -> torch.Tensor:
    """uint8 [..., H, W, 3] -> float32 [..., 3, H, W] in [0, 1]."""
    return frames_BTHWC.movedim(-1, -3).float().div(255.0)


def to_uint8(frames_BTCHW: torch.Tensor) -> torch.Tensor:
    """float [..., 3, H, W] in [0, 1] -> uint8 [..., H, W, 3]."""
    return frames_BTCHW.clamp(0, 1).mul(255).round().to(torch.uint8).movedim(-3, -1)
