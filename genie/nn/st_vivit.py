"""ST-ViViT tokenizer (Genie, Bruce et al., 2024, §2.1): frames in [0, 1] -> tokens int64 in [0, num_codes), one token
per p x p pixel patch (p = 4: 64x64 frames -> 16x16 tokens, the conv tokenizer's grid).

Encoder. Each p x p x 3 patch is flattened and linearly embedded; learned row, column and frame-index embeddings are
added; ST blocks (genie/nn/st_transformer.py: spatial attention within a frame -> causal temporal attention of one
patch position across frames -> MLP) mix the patches; a linear map gives one code_dim vector per patch, quantised by
the EMA VectorQuantizer with dead-code restart that the conv tokenizer uses.
Decoder. The code vectors are embedded the same way (own position embeddings) -> ST blocks -> a linear map back to the
p x p x 3 pixels of each patch.

Causality. Temporal attention is causal in the encoder and in the decoder: the tokens of frame t depend on frames
<= t only, and the pixels decoded for frame t on the tokens of frames <= t only. A single frame is a clip of T = 1, so
``encode``/``decode``/``forward`` on frames [B, 3, H, W] compute exactly what frame 0 of a clip gets. The ``*_clip``
methods take clips [B, T, 3, H, W]; TokenizerModule trains on clips of ``clip_len`` frames through them.

Inference. The world model (genie/world.py: ``encode_frames``, ``WorldModel.decode``), the dynamics token store
(genie/training/tokenize.py) and the dream report call ``encode``/``decode`` on single frames: each frame is
tokenised and decoded as the first frame of a clip, without temporal context. That is self-consistent (the dynamics
model learns and dreams tokens made this way) and is a position every training clip contains, but frames 1.. of a
training clip, where the temporal attention sees history, are not used at inference. TokenizerModule logs both
``val/psnr`` (clips, as trained) and ``val/psnr_framewise`` (the inference path) so the difference is visible.

Legend (tensor names carry their layout):
    B batch   T frames   H W pixels   p patch side   h w token grid (H / p, W / p)   N = h * w patches per frame
    P = 3 * p * p pixel values per patch   C model width (in pixel tensors x_BTCHW: the 3 colour channels)
    D code_dim
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from genie.nn.quantizer import QuantizerOutput, VectorQuantizer
from genie.nn.st_transformer import STBlock


@dataclass
class STViViTConfig:
    num_codes: int = 512
    code_dim: int = 64  # D: width of a quantised patch vector
    patch: int = 4  # 64x64 frames -> 16x16 tokens
    d_model: int = 128
    heads: int = 4
    encoder_layers: int = 2
    decoder_layers: int = 2
    mlp_ratio: int = 4
    max_grid: int = 16  # largest token grid side (frame side / patch) the position embeddings cover
    max_frames: int = 16  # longest clip the frame-index embeddings cover
    decay: float = 0.99
    commitment: float = 0.25
    restart_threshold: float = 1.0


# ---------------------------------------------------------------------- pixels <-> patches
def patchify(x_BTCHW: torch.Tensor, p: int) -> torch.Tensor:
    """[B, T, 3, H, W] -> [B, T, N, P]: each p x p patch flattened (channel, row, column), patches row-major."""
    B, T, channels, H, W = x_BTCHW.shape
    x = x_BTCHW.view(B, T, channels, H // p, p, W // p, p).permute(0, 1, 3, 5, 2, 4, 6)
    return x.reshape(B, T, (H // p) * (W // p), channels * p * p)


def unpatchify(x_BTNP: torch.Tensor, h: int, w: int, p: int) -> torch.Tensor:
    """[B, T, N, P] -> [B, T, 3, h * p, w * p], the inverse of ``patchify``."""
    B, T = x_BTNP.shape[:2]
    x = x_BTNP.view(B, T, h, w, -1, p, p).permute(0, 1, 4, 2, 5, 3, 6)
    return x.reshape(B, T, -1, h * p, w * p)


class PositionEmbedding(nn.Module):
    """Adds learned row + column + frame-index embeddings to x [B, T, N, C] (patches row-major on an h x w grid)."""

    def __init__(self, max_grid: int, max_frames: int, dim: int):
        super().__init__()
        self.row, self.column = nn.Embedding(max_grid, dim), nn.Embedding(max_grid, dim)
        self.frame = nn.Embedding(max_frames, dim)
        for embedding in (self.row, self.column, self.frame):
            nn.init.normal_(embedding.weight, std=0.02)

    def forward(self, x_BTNC: torch.Tensor, h: int, w: int) -> torch.Tensor:
        T = x_BTNC.shape[1]
        grid_NC = (self.row.weight[:h, None] + self.column.weight[None, :w]).reshape(h * w, -1)
        return x_BTNC + grid_NC + self.frame.weight[:T, None]


class STViViT(nn.Module):
    def __init__(self, cfg: STViViTConfig):
        super().__init__()
        self.cfg = cfg
        C, P = cfg.d_model, 3 * cfg.patch**2
        self.encoder_in = nn.Linear(P, C)
        self.encoder_positions = PositionEmbedding(cfg.max_grid, cfg.max_frames, C)
        self.encoder_blocks = nn.ModuleList([STBlock(C, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.encoder_layers)])
        self.encoder_out = nn.Sequential(nn.LayerNorm(C), nn.Linear(C, cfg.code_dim))
        self.quantizer = VectorQuantizer(cfg.num_codes, cfg.code_dim, cfg.decay, cfg.commitment,
                                         cfg.restart_threshold)
        self.decoder_in = nn.Linear(cfg.code_dim, C)
        self.decoder_positions = PositionEmbedding(cfg.max_grid, cfg.max_frames, C)
        self.decoder_blocks = nn.ModuleList([STBlock(C, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.decoder_layers)])
        self.decoder_out = nn.Sequential(nn.LayerNorm(C), nn.Linear(C, P))

    @property
    def num_codes(self) -> int:
        return self.cfg.num_codes

    def grid_size(self, frame_size: int) -> int:
        return frame_size // self.cfg.patch

    # ------------------------------------------------------------------ clips [B, T, 3, H, W]
    def embed_clip(self, x_BTCHW: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
        """Clips in [0, 1] -> encoder vectors [B * T * h * w, D] (one per patch) and (B, T, h, w)."""
        B, T, _, H, W = x_BTCHW.shape
        h, w = self._check_clip(T, H, W)
        x_BTNC = self.encoder_positions(self.encoder_in(patchify(x_BTCHW * 2 - 1, self.cfg.patch)), h, w)
        z_BTND = self.encoder_out(self._run(self.encoder_blocks, x_BTNC))
        return z_BTND.reshape(-1, self.cfg.code_dim), (B, T, h, w)

    def quantize_clip(self, x_BTCHW: torch.Tensor) -> tuple[QuantizerOutput, tuple[int, int, int, int]]:
        """Clips in [0, 1] -> the quantiser's output over every patch (N = B * T * h * w rows) and (B, T, h, w)."""
        z_ND, shape = self.embed_clip(x_BTCHW)
        return self.quantizer(z_ND), shape

    def decode_vectors(self, q_BThwD: torch.Tensor) -> torch.Tensor:
        """Code vectors [B, T, h, w, D] -> frames [B, T, 3, H, W], unclamped (~[0, 1])."""
        B, T, h, w, D = q_BThwD.shape
        x_BTNC = self.decoder_positions(self.decoder_in(q_BThwD.reshape(B, T, h * w, D)), h, w)
        return unpatchify(self.decoder_out(self._run(self.decoder_blocks, x_BTNC)), h, w, self.cfg.patch)

    def forward_clip(self, x_BTCHW: torch.Tensor) -> tuple[torch.Tensor, QuantizerOutput]:
        """Clips [B, T, 3, H, W] in [0, 1] -> reconstruction [B, T, 3, H, W] (unclamped, ~[0, 1]) and the
        quantiser's output; frame t of the reconstruction depends on frames <= t only."""
        out, (B, T, h, w) = self.quantize_clip(x_BTCHW)
        return self.decode_vectors(out.quantized.reshape(B, T, h, w, -1)), out

    @torch.no_grad()
    def encode_clip(self, x_BTCHW: torch.Tensor) -> torch.Tensor:
        """Clips [B, T, 3, H, W] in [0, 1] -> tokens int64 [B, T, h, w]."""
        z_ND, shape = self.embed_clip(x_BTCHW)
        return self.quantizer.nearest(z_ND).reshape(shape)

    @torch.no_grad()
    def decode_clip(self, tokens_BThw: torch.Tensor) -> torch.Tensor:
        """Tokens int [B, T, h, w] -> frames [B, T, 3, H, W] clamped to [0, 1]."""
        B, T, h, w = tokens_BThw.shape
        self._check_clip(T, h * self.cfg.patch, w * self.cfg.patch)
        return self.decode_vectors(self.quantizer.lookup(tokens_BThw.long())).clamp(0, 1)

    # ------------------------------------------------------------------ single frames [B, 3, H, W] = clips of T = 1
    def quantize(self, x_BCHW: torch.Tensor) -> tuple[QuantizerOutput, tuple[int, int, int]]:
        out, (B, _, h, w) = self.quantize_clip(x_BCHW[:, None])
        return out, (B, h, w)

    def forward(self, x_BCHW: torch.Tensor) -> tuple[torch.Tensor, QuantizerOutput]:
        """Frames [B, 3, H, W] in [0, 1] -> reconstruction [B, 3, H, W] (unclamped, ~[0, 1]) and the quantiser's
        output."""
        recon_BTCHW, out = self.forward_clip(x_BCHW[:, None])
        return recon_BTCHW[:, 0], out

    @torch.no_grad()
    def encode(self, x_BCHW: torch.Tensor) -> torch.Tensor:
        """Frames [B, 3, H, W] in [0, 1] -> tokens int64 [B, h, w]."""
        return self.encode_clip(x_BCHW[:, None])[:, 0]

    @torch.no_grad()
    def decode(self, tokens_Bhw: torch.Tensor) -> torch.Tensor:
        """Tokens int [B, h, w] -> frames [B, 3, H, W] clamped to [0, 1]."""
        return self.decode_clip(tokens_Bhw[:, None])[:, 0]

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _run(blocks: nn.ModuleList, x_BTNC: torch.Tensor) -> torch.Tensor:
        for block in blocks:
            x_BTNC, _ = block(x_BTNC)
        return x_BTNC

    def _check_clip(self, T: int, H: int, W: int) -> tuple[int, int]:
        """The token grid (h, w) of T frames of H x W pixels; a clear error where the embeddings do not cover it."""
        cfg, p = self.cfg, self.cfg.patch
        if H % p or W % p or max(H, W) // p > cfg.max_grid or T > cfg.max_frames:
            raise ValueError(f"st_vivit: {T} frames of {H}x{W} pixels need sides divisible by patch={p}, at most "
                             f"max_grid * patch = {cfg.max_grid * p} pixels and at most max_frames={cfg.max_frames}")
        return H // p, W // p
