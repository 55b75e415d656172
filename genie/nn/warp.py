"""Backward warping: move an image's pixels along a dense flow field (bilinear, edges repeated)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def warp(image_BCHW: torch.Tensor, flow_B2HW: torch.Tensor) -> torch.Tensor:
    """Output pixel (y, x) samples ``image`` at (y + flow_y, x + flow_x); flow in pixels, channel 0 = x, 1 = y.
    A flow of +1 everywhere in x moves the picture one pixel left."""
    B, _, H, W = image_BCHW.shape
    ys, xs = torch.meshgrid(torch.arange(H, device=image_BCHW.device, dtype=image_BCHW.dtype),
                            torch.arange(W, device=image_BCHW.device, dtype=image_BCHW.dtype), indexing="ij")
    x_BHW = (xs + flow_B2HW[:, 0]) * (2 / (W - 1)) - 1  # grid_sample wants [-1, 1] (align_corners=True)
    y_BHW = (ys + flow_B2HW[:, 1]) * (2 / (H - 1)) - 1
    grid_BHW2 = torch.stack([x_BHW, y_BHW], dim=-1)
    return F.grid_sample(image_BCHW, grid_BHW2, mode="bilinear", padding_mode="border", align_corners=True)
