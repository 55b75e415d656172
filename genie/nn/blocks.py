"""Convolutional building blocks shared by the tokenizer, the LAM and the CNN forecaster."""

from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    """x + conv1x1(relu(conv3x3(relu(x)))), with a bottleneck of ``channels // 2``: shape-preserving [B, C, H, W]."""

    def __init__(self, channels: int, dilation: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(channels, channels // 2, 3, padding=dilation, dilation=dilation),
            nn.ReLU(),
            nn.Conv2d(channels // 2, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class FiLMResBlock(nn.Module):
    """Residual block whose hidden activations are scaled and shifted by a conditioning vector (an action)."""

    def __init__(self, channels: int, cond_dim: int, dilation: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.film = nn.Linear(cond_dim, 2 * channels)
        self.act = nn.ReLU()

    def modulation(self, cond_BE: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(scale, shift) [B, C, 1, 1] of a conditioning vector [B, E]."""
        scale_BC11, shift_BC11 = self.film(cond_BE)[:, :, None, None].chunk(2, dim=1)
        return scale_BC11, shift_BC11

    def modulated(self, x_BCHW: torch.Tensor, scale_BC11: torch.Tensor, shift_BC11: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(x_BCHW))
        h = h * (1 + scale_BC11) + shift_BC11
        return x_BCHW + self.conv2(self.act(h))

    def forward(self, x_BCHW: torch.Tensor, cond_BE: torch.Tensor) -> torch.Tensor:
        return self.modulated(x_BCHW, *self.modulation(cond_BE))


def downsampler(in_channels: int, hidden: int, out_channels: int, downsamples: int, res_blocks: int) -> nn.Sequential:
    """[B, in, H, W] -> [B, out, H / 2^downsamples, W / 2^downsamples]; strided 4x4 convs, then residual blocks
    at the lowest resolution (cheap on a CPU: no convolution runs at full resolution)."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, hidden, 4, stride=2, padding=1)]
    for _ in range(downsamples - 1):
        layers += [nn.ReLU(), nn.Conv2d(hidden, hidden, 4, stride=2, padding=1)]
    layers += [ResBlock(hidden) for _ in range(res_blocks)]
    layers += [nn.ReLU(), nn.Conv2d(hidden, out_channels, 1)]
    return nn.Sequential(*layers)


def upsampler(in_channels: int, hidden: int, out_channels: int, upsamples: int, res_blocks: int) -> nn.Sequential:
    """[B, in, h, w] -> [B, out, h * 2^upsamples, w * 2^upsamples]; residual blocks at the lowest resolution,
    then transposed 4x4 convs."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, hidden, 3, padding=1)]
    layers += [ResBlock(hidden) for _ in range(res_blocks)]
    for i in range(upsamples):
        last = i == upsamples - 1
        layers += [nn.ReLU(), nn.ConvTranspose2d(hidden, out_channels if last else hidden, 4, stride=2, padding=1)]
    return nn.Sequential(*layers)


def patch_encoder(in_channels: int, hidden: int, out_channels: int, downsamples: int, res_blocks: int) -> nn.Sequential:
    """[B, in, H, W] -> [B, out, H / 2^downsamples, W / 2^downsamples]: each (2^downsamples)^2 pixel patch is
    unfolded into channels (pixel unshuffle), then mixed by residual blocks. Nothing runs at full resolution, and the
    identity is one linear map away, so it learns several times faster per CPU-second than strided convolutions."""
    factor = 2**downsamples
    layers: list[nn.Module] = [nn.PixelUnshuffle(factor), nn.Conv2d(in_channels * factor**2, hidden, 1)]
    layers += [ResBlock(hidden) for _ in range(res_blocks)]
    layers += [nn.ReLU(), nn.Conv2d(hidden, out_channels, 1)]
    return nn.Sequential(*layers)


def patch_decoder(in_channels: int, hidden: int, out_channels: int, upsamples: int, res_blocks: int) -> nn.Sequential:
    """[B, in, h, w] -> [B, out, h * 2^upsamples, w * 2^upsamples]: residual blocks at the token grid, then each
    position's channels are folded back into its pixel patch (pixel shuffle)."""
    factor = 2**upsamples
    layers: list[nn.Module] = [nn.Conv2d(in_channels, hidden, 3, padding=1)]
    layers += [ResBlock(hidden) for _ in range(res_blocks)]
    layers += [nn.ReLU(), nn.Conv2d(hidden, out_channels * factor**2, 1), nn.PixelShuffle(factor)]
    return nn.Sequential(*layers)
