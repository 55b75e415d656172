"""Spatio-temporal (ST) transformer block, after Genie (Bruce et al., 2024, Fig. 4): spatial self-attention among the
tokens of one frame -> causal temporal self-attention of one token position across frames -> MLP, each pre-norm and
residual. Attending within a frame and then along time costs O(T N^2 + N T^2) instead of O((T N)^2) for full
attention over the clip, and the causal temporal mask makes frame t depend on frames <= t only.

Legend (tensor names carry their layout):
    B batch   T frames   N tokens per frame (h * w)   C model width   H heads   D head width (C / H)
    S independent sequences of one attention call (B * T for spatial, B * N for temporal)   L their length
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

KeysValues = tuple[torch.Tensor, torch.Tensor]  # keys, values: each float [S, H, L, D]


class SelfAttention(nn.Module):
    """Multi-head self-attention along the second axis of x [S, L, C]: S independent sequences of length L."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x_SLC: torch.Tensor, is_causal: bool = False,
                past: KeysValues | None = None) -> tuple[torch.Tensor, KeysValues]:
        """Returns (y [S, L, C], keys/values of the whole context). ``past``: keys/values of earlier positions
        (each [S, H, L_past, D]) that the L new positions also attend to; with ``past``, L must be 1."""
        S, L, C = x_SLC.shape
        q_SHLD, k_SHLD, v_SHLD = self.qkv(x_SLC).view(S, L, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        if past is not None:
            if L != 1:
                raise ValueError(f"attention with a cache extends one position at a time, got {L}")
            k_SHLD, v_SHLD = torch.cat([past[0], k_SHLD], dim=2), torch.cat([past[1], v_SHLD], dim=2)
            is_causal = False  # the one new position is the last: it may see every cached one
        y_SHLD = F.scaled_dot_product_attention(q_SHLD, k_SHLD, v_SHLD, is_causal=is_causal)
        return self.proj(y_SHLD.transpose(1, 2).reshape(S, L, C)), (k_SHLD, v_SHLD)


class STBlock(nn.Module):
    """x [B, T, N, C] -> [B, T, N, C]; frame t of the output depends on frames <= t of the input only."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.spatial_norm, self.spatial = nn.LayerNorm(dim), SelfAttention(dim, heads)
        self.temporal_norm, self.temporal = nn.LayerNorm(dim), SelfAttention(dim, heads)
        self.mlp_norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))

    def forward(self, x_BTNC: torch.Tensor, past: KeysValues | None = None) -> tuple[torch.Tensor, KeysValues]:
        """Returns (x [B, T, N, C], temporal keys/values of every frame so far, each [B * N, H, T_past + T, D]).

        ``past``: what this block returned for the earlier frames of the same clip; the input is then the one
        frame after them (T = 1). This is how decoding reuses the history instead of recomputing it."""
        B, T, N, C = x_BTNC.shape
        s_SLC = self.spatial_norm(x_BTNC).reshape(B * T, N, C)
        x_BTNC = x_BTNC + self.spatial(s_SLC)[0].view(B, T, N, C)
        t_SLC = self.temporal_norm(x_BTNC).transpose(1, 2).reshape(B * N, T, C)
        y_SLC, keys_values = self.temporal(t_SLC, is_causal=True, past=past)
        x_BTNC = x_BTNC + y_SLC.view(B, N, T, C).transpose(1, 2)
        return x_BTNC + self.mlp(self.mlp_norm(x_BTNC)), keys_values
