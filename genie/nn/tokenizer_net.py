"""What the world model needs from a tokenizer net, whichever it is (conv VQ-VAE or ST-ViViT): frames in, tokens out,
and back. The world model tokenises frame by frame, so a temporal tokenizer is used on one-frame clips."""

from __future__ import annotations

from typing import Protocol

import torch


class TokenizerNet(Protocol):
    @property
    def num_codes(self) -> int: ...

    def grid_size(self, frame_size: int) -> int:
        """Token grid side for frames of ``frame_size`` pixels."""

    def encode(self, x_BCHW: torch.Tensor) -> torch.Tensor:
        """frames [B, 3, H, W] in [0, 1] -> tokens int64 [B, h, w]."""

    def decode(self, tokens_Bhw: torch.Tensor) -> torch.Tensor:
        """tokens int [B, h, w] -> frames [B, 3, H, W] in [0, 1]."""
