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

``lookahead`` L > 0 lets the encoder see where the trajectory goes (LAOM; VPT's non-causal inverse dynamics): besides
x_{t+1} it reads one frame up to L steps later, x_{t+1+j}, while the decoder still predicts x_{t+1} alone. In
training j is drawn from 0..L per clip (clips hold window + 1 + L frames); when labelling (``eval`` mode) j = L, or the
last frame a clip has. So the first frames of a walk, which barely move, get the code of the walk they start.

``from_still`` codes a clip against the same history standing still: the encoder's vector for the clip minus its
vector for the clip with x_t in place of the later frames. Where a step changes a few pixels (a Pong paddle), the
plain encoder's vectors differ between clips by about a sixtieth of what they share, the codebook is seeded on one
point, and the first training steps move every vector past every code at once, so one code wins everything. Against
the still clip, what all clips share cancels, a clip with nothing moving encodes to zero, and the change alone sets
the code.
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
    lookahead: int = 2  # the encoder also reads a frame up to this many steps after x_{t+1} (0: none)
    from_still: bool = False  # the encoder's vector minus its vector for the same history with nothing moving


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
        if cfg.lookahead < 0:
            raise UserError(f"model.lam.net.lookahead: must be >= 0, got {cfg.lookahead}")
        encoder_frames = self.history + 1 + (cfg.lookahead > 0)
        self.encoder = nn.Sequential(
            downsampler(3 * encoder_frames, cfg.hidden, cfg.hidden, cfg.downsamples, cfg.res_blocks),
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

    @property
    def clip_len(self) -> int:
        """Frames a clip gives the encoder: the window, the next frame and the look-ahead."""
        return self.cfg.window + 1 + self.cfg.lookahead

    def embed(self, frames_BTCHW: torch.Tensor) -> torch.Tensor:
        """frames [B, window + 1 (+ up to lookahead), 3, H, W] in [0, 1] -> encoder vectors z [B, D] (before
        quantisation), from the recent history, the next frame and, with ``lookahead``, a later one."""
        W = self.cfg.window
        seen = frames_BTCHW[:, W - self.history : W + 1]
        if self.cfg.lookahead > 0:
            furthest = min(self.cfg.lookahead, frames_BTCHW.shape[1] - W - 1)
            B = len(frames_BTCHW)
            if self.training:
                ahead_B = torch.randint(0, furthest + 1, (B,), device=frames_BTCHW.device)
            else:
                ahead_B = torch.full((B,), furthest, device=frames_BTCHW.device)
            later = frames_BTCHW[torch.arange(B, device=frames_BTCHW.device), W + ahead_B]
            seen = torch.cat([seen, later[:, None]], dim=1)
        if not self.cfg.from_still:
            return self.encoder(self.stack(seen))
        still = seen.clone()
        still[:, self.history :] = seen[:, self.history - 1 : self.history]  # x_t where the change would be
        moving_BD, still_BD = self.encoder(self.stack(torch.cat([seen, still]))).chunk(2)
        return moving_BD - still_BD

    def encode(self, frames_BTCHW: torch.Tensor) -> QuantizerOutput:
        """frames [B, window + 1 (+ look-ahead), 3, H, W] in [0, 1] -> one quantised action per clip: the
        transition from frame window - 1 to frame window."""
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
        """frames [B, window + 1 (+ look-ahead), 3, H, W]: the prediction of frame ``window`` from the frames
        before it and the code."""
        z_BD = self.embed(frames_BTCHW)
        out = self.quantizer(z_BD)
        return LAMOutput(self.decode(frames_BTCHW[:, : self.cfg.window], out.quantized), out, z_BD)

    @torch.no_grad()
    def infer(self, frames_BTCHW: torch.Tensor) -> torch.Tensor:
        """frames [B, window + 1 (+ look-ahead), 3, H, W] -> latent action int64 [B] of the transition from frame
        window - 1 to frame window."""
        return self.quantizer.nearest(self.embed(frames_BTCHW))

    def action_vectors(self, actions_B: torch.Tensor) -> torch.Tensor:
        """Codebook lookup: int [B] -> [B, D]. At inference only this (the codebook) is needed to act."""
        return self.quantizer.lookup(actions_B)


def check_history(cfg: LatentActionConfig) -> int:
    """The number of history frames the net reads: ``cfg.history``, or all ``cfg.window`` when it is None."""
    history = cfg.window if cfg.history is None else cfg.history
    if not 1 <= history <= cfg.window:
        raise UserError(f"model.lam.net.history: must be between 1 and window = {cfg.window}, got {cfg.history}")
    return history
