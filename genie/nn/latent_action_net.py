"""Latent action model: which of K discrete actions explains the change from x_t to x_{t+1}.

The encoder sees the history ``x_{t-W+1..t}`` and the next frame ``x_{t+1}``, and emits one vector that is
quantised to one of ``num_actions`` codes. The decoder sees only the history and that code and must reconstruct
``x_{t+1}`` (as a residual on x_t); the code is a log2(K)-bit bottleneck, so it can only carry the part of the
change that the history does not predict — ideally, the player's action.

In practice a plain LAM spends its few bits on whatever changes most (camera scroll, momentum), which the history
*does* predict; the two options below shape what the code is spent on.

With ``warp`` the decoder predicts a flow field and a residual: the next frame is x_t with its pixels moved along
the flow, plus the residual. A scroll or a run is then a few numbers per pixel instead of a repainted frame, so a
small move is as cheap to express as it is important to the player (history 1 on scripted CoinRun, 5-min probes
of two seeds: effect NMI 0.13-0.18 -> 0.23-0.28; with ``flow_block: 8``: 0.27 and 0.27).

``history`` limits how many of the ``window`` history frames the encoder and the decoder read (the most recent
ones; clips keep ``window + 1`` frames). With ``history: 1`` the decoder cannot extrapolate momentum, so the code has
to carry the motion itself: on held-action play (scripted CoinRun) that motion *is* the action.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genie.errors import UserError
from genie.nn.blocks import FiLMResBlock, downsampler, upsampler
from genie.nn.quantizer import QuantizerOutput, VectorQuantizer
from genie.nn.warp import warp

FLOW_PIXELS = 4.0  # pixels of flow per unit of decoder output: moves of a few pixels per frame stay small outputs


@dataclass
class LatentActionConfig:
    num_actions: int = 16
    window: int = 4  # history frames in a clip
    history: int | None = 1  # of those, how many the encoder and decoder read (the most recent); None: all
    code_dim: int = 32
    hidden: int = 64
    downsamples: int = 3  # 64x64 -> 8x8 encoder features
    res_blocks: int = 1
    decay: float = 0.95
    commitment: float = 0.25
    restart_threshold: float = 0.3
    entropy_weight: float = 0.001
    entropy_temperature: float = 1.0
    warp: bool = True  # decode as x_t moved along a predicted flow field plus a residual (else: x_t + residual)
    flow_block: int = 8  # with warp: the flow is averaged over blocks this many pixels wide (one move per 8x8)


@dataclass
class LAMOutput:
    prediction: torch.Tensor  # [B, 3, H, W] the next frame predicted from history + latent action
    vq: QuantizerOutput  # the quantised latent action
    z: torch.Tensor  # [B, D] encoder vectors before quantisation


class LatentActionNet(nn.Module):
    def __init__(self, cfg: LatentActionConfig, frame_size: int = 64):
        super().__init__()
        self.cfg = cfg
        self.history = check_history(cfg)
        feat = frame_size // 2**cfg.downsamples
        self.encoder = nn.Sequential(
            downsampler(3 * (self.history + 1), cfg.hidden, cfg.hidden, cfg.downsamples, cfg.res_blocks),
            nn.Flatten(),
            nn.ReLU(),
            nn.Linear(cfg.hidden * feat * feat, cfg.code_dim),
        )
        self.quantizer = VectorQuantizer(
            cfg.num_actions, cfg.code_dim, cfg.decay, cfg.commitment, cfg.restart_threshold,
            cfg.entropy_weight, cfg.entropy_temperature,
        )
        self.history_encoder = downsampler(3 * self.history, cfg.hidden, cfg.hidden, 2, 0)
        self.action_blocks = nn.ModuleList([FiLMResBlock(cfg.hidden, cfg.code_dim) for _ in range(2)])
        self.decoder = upsampler(cfg.hidden, cfg.hidden, 3 + (2 if cfg.warp else 0), 2, 0)  # (flow x, y) + RGB
        if cfg.flow_block < 1 or frame_size % cfg.flow_block:
            raise UserError(f"model.lam.net.flow_block: must divide the frame size {frame_size}, got {cfg.flow_block}")
        if cfg.warp:  # start from "nothing moves, nothing changes"
            nn.init.zeros_(self.decoder[-1].weight)
            nn.init.zeros_(self.decoder[-1].bias)

    @property
    def num_actions(self) -> int:
        return self.cfg.num_actions

    @staticmethod
    def stack(frames_BTCHW: torch.Tensor) -> torch.Tensor:
        B, T, C, H, W = frames_BTCHW.shape
        return frames_BTCHW.reshape(B, T * C, H, W) * 2 - 1

    def recent(self, history_BTCHW: torch.Tensor) -> torch.Tensor:
        """The history frames this net reads: [B, T, ...] -> [B, history, ...] (the most recent)."""
        return history_BTCHW[:, -self.history :]

    def embed(self, frames_BTCHW: torch.Tensor) -> torch.Tensor:
        """frames [B, window + 1, 3, H, W] in [0, 1] -> encoder vectors z [B, D] (before quantisation), from the
        recent history and the next frame."""
        return self.encoder(self.stack(frames_BTCHW[:, -(self.history + 1) :]))

    def encode(self, frames_BTCHW: torch.Tensor) -> QuantizerOutput:
        """frames [B, window + 1, 3, H, W] in [0, 1] -> one quantised action per clip (its last transition)."""
        return self.quantizer(self.embed(frames_BTCHW))

    def decode(self, history_BTCHW: torch.Tensor, action_BD: torch.Tensor) -> torch.Tensor:
        """history [B, window, 3, H, W] + action vectors [B, D] -> predicted next frame [B, 3, H, W]: the action's
        effect added to x_t (moved along a flow with ``warp``)."""
        h = self.history_encoder(self.stack(self.recent(history_BTCHW)))
        for block in self.action_blocks:
            h = block(h, action_BD)
        x_t_BCHW = history_BTCHW[:, -1]
        out = self.decoder(h)
        if self.cfg.warp:
            flow_B2HW = out[:, :2] * FLOW_PIXELS
            if self.cfg.flow_block > 1:  # one move per block: the code cannot buy local detail with the flow
                block = self.cfg.flow_block
                flow_B2HW = F.interpolate(F.avg_pool2d(flow_B2HW, block), scale_factor=block, mode="bilinear")
            return warp(x_t_BCHW, flow_B2HW) + out[:, 2:]
        return x_t_BCHW + out

    def forward(self, frames_BTCHW: torch.Tensor) -> LAMOutput:
        z_BD = self.embed(frames_BTCHW)
        out = self.quantizer(z_BD)
        return LAMOutput(self.decode(frames_BTCHW[:, :-1], out.quantized), out, z_BD)

    @torch.no_grad()
    def infer(self, frames_BTCHW: torch.Tensor) -> torch.Tensor:
        """frames [B, window + 1, 3, H, W] -> latent action int64 [B] of the transition x_t -> x_{t+1}."""
        return self.encode(frames_BTCHW).codes

    def action_vectors(self, actions_B: torch.Tensor) -> torch.Tensor:
        """Codebook lookup: int [B] -> [B, D]. At inference only this (the codebook) is needed to act."""
        return self.quantizer.lookup(actions_B)


def check_history(cfg: LatentActionConfig) -> int:
    """The number of history frames the net reads: ``cfg.history``, or all ``cfg.window`` when it is None."""
    history = cfg.window if cfg.history is None else cfg.history
    if not 1 <= history <= cfg.window:
        raise UserError(f"model.lam.net.history: must be between 1 and window = {cfg.window}, got {cfg.history}")
    return history
