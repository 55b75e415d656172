"""Conv VQ-VAE tokenizer: frames [B, 3, H, W] in [0, 1] -> tokens int64 [B, H/p, W/p] in [0, num_codes),
p = 2 ** downsamples (4 by default).

Two layouts (``stem``): ``patch`` unfolds each p x p pixel patch into channels and works at the token grid only
(pixel unshuffle / shuffle); ``strided`` downsamples with strided convolutions (the classic VQ-VAE). On CoinRun at
equal CPU time the patch layout reconstructs better (docs/experiments/2026-11-24-tokenizer-fidelity.md)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genie.nn.blocks import downsampler, patch_decoder, patch_encoder, upsampler
from genie.nn.quantizer import QuantizerOutput, VectorQuantizer


@dataclass
class ConvVQVAEConfig:
    num_codes: int = 512
    code_dim: int = 64
    hidden: int = 64
    downsamples: int = 2  # 64x64 frames -> 16x16 tokens
    res_blocks: int = 2
    decay: float = 0.99
    commitment: float = 0.1
    restart_threshold: float = 0.01
    stem: str = "patch"  # patch | strided


STEMS = {"strided": (downsampler, upsampler), "patch": (patch_encoder, patch_decoder)}


class ConvVQVAE(nn.Module):
    def __init__(self, cfg: ConvVQVAEConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.stem not in STEMS:
            raise ValueError(f"model.tokenizer.net.stem: unknown layout {cfg.stem!r} (known: {', '.join(STEMS)})")
        encoder, decoder = STEMS[cfg.stem]
        self.encoder = encoder(3, cfg.hidden, cfg.code_dim, cfg.downsamples, cfg.res_blocks)
        self.decoder = decoder(cfg.code_dim, cfg.hidden, 3, cfg.downsamples, cfg.res_blocks)
        self.quantizer = VectorQuantizer(
            cfg.num_codes, cfg.code_dim, cfg.decay, cfg.commitment, cfg.restart_threshold
        )

    @property
    def num_codes(self) -> int:
        return self.cfg.num_codes

    def grid_size(self, frame_size: int) -> int:
        return frame_size // 2**self.cfg.downsamples

    def quantize(self, x_BCHW: torch.Tensor) -> tuple[QuantizerOutput, tuple[int, int, int]]:
        z_BDhw = self.encoder(x_BCHW * 2 - 1)
        B, D, h, w = z_BDhw.shape
        out = self.quantizer(z_BDhw.permute(0, 2, 3, 1).reshape(-1, D))
        return out, (B, h, w)

    def forward(self, x_BCHW: torch.Tensor) -> tuple[torch.Tensor, QuantizerOutput]:
        """Reconstruction [B, 3, H, W] (unclamped, ~[0, 1]) and the quantiser's output."""
        out, (B, h, w) = self.quantize(x_BCHW)
        q_BDhw = out.quantized.reshape(B, h, w, -1).permute(0, 3, 1, 2)
        return self.decoder(q_BDhw), out

    @torch.no_grad()
    def encode(self, x_BCHW: torch.Tensor) -> torch.Tensor:
        """frames [B, 3, H, W] in [0, 1] -> tokens int64 [B, h, w]."""
        z_BDhw = self.encoder(x_BCHW * 2 - 1)
        B, D, h, w = z_BDhw.shape
        return self.quantizer.nearest(z_BDhw.permute(0, 2, 3, 1).reshape(-1, D)).reshape(B, h, w)

    @torch.no_grad()
    def decode(self, tokens_Bhw: torch.Tensor) -> torch.Tensor:
        """tokens int [B, h, w] -> frames [B, 3, H, W] clamped to [0, 1]."""
        q_BDhw = self.quantizer.lookup(tokens_Bhw.long()).permute(0, 3, 1, 2)
        return self.decoder(q_BDhw).clamp(0, 1)
