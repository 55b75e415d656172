"""Latent action model: which of K discrete actions explains the change from x_t to x_{t+1}.

The encoder sees the history ``x_{t-W+1..t}`` and the next frame ``x_{t+1}``, and emits one vector that is
quantised to one of ``num_actions`` codes. The decoder sees only the history and that code and must reconstruct
``x_{t+1}`` (as a residual on x_t); the code is a log2(K)-bit bottleneck, so it can only carry the part of the
change that the history does not predict — ideally, the player's action.

In practice a plain LAM spends its few bits on whatever changes most (camera scroll, momentum), which the history
*does* predict. With ``history_adversary_weight`` > 0 a small adversary learns to guess the code from the history
alone, and the encoder is pushed to make its codes unguessable (adversarial training, the same effect as a
gradient-reversal layer): for a random agent, what the history cannot predict is the action.

With ``expected_next`` a history-only predictor (no action) is trained beside the LAM. The encoder also sees the
*surprise* ``x_{t+1} - E[x_{t+1} | history]``, and the decoder adds the action's effect to that expectation instead
of to x_t, so the code is spent on what the history did not foretell.

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
from genie.nn.blocks import FiLMResBlock, ResBlock, downsampler, upsampler
from genie.nn.quantizer import QuantizerOutput, VectorQuantizer
from genie.nn.warp import warp

FLOW_PIXELS = 4.0  # pixels of flow per unit of decoder output: moves of a few pixels per frame stay small outputs


@dataclass
class LatentActionConfig:
    num_actions: int = 8
    window: int = 4  # history frames in a clip
    history: int | None = None  # of those, how many the encoder and decoder read (the most recent); None: all
    code_dim: int = 32
    hidden: int = 64
    downsamples: int = 3  # 64x64 -> 8x8 encoder features
    res_blocks: int = 1
    decay: float = 0.95
    commitment: float = 0.25
    restart_threshold: float = 0.3
    entropy_weight: float = 0.001
    entropy_temperature: float = 1.0
    history_adversary_weight: float = 0.0  # > 0: penalise codes that the history alone predicts
    expected_next: bool = False  # encode the surprise against a history-only prediction of the next frame
    warp: bool = False  # decode as x_t moved along a predicted flow field plus a residual (else: x_t + residual)
    flow_block: int = 1  # with warp: the flow is averaged over blocks this many pixels wide (8: one move per 8x8)


@dataclass
class LAMOutput:
    prediction: torch.Tensor  # [B, 3, H, W] the next frame predicted from history + latent action
    vq: QuantizerOutput  # the quantised latent action
    z: torch.Tensor  # [B, D] encoder vectors before quantisation
    expected: torch.Tensor | None  # [B, 3, H, W] the history-only prediction (expected_next), else None


class LatentActionNet(nn.Module):
    def __init__(self, cfg: LatentActionConfig, frame_size: int = 64):
        super().__init__()
        self.cfg = cfg
        self.history = check_history(cfg)
        feat = frame_size // 2**cfg.downsamples
        in_channels = 3 * (self.history + 1) + (3 if cfg.expected_next else 0)  # frames (+ the surprise)
        self.encoder = nn.Sequential(
            downsampler(in_channels, cfg.hidden, cfg.hidden, cfg.downsamples, cfg.res_blocks),
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
        self.expectation = None
        if cfg.expected_next:
            self.expectation = nn.Sequential(
                downsampler(3 * self.history, cfg.hidden, cfg.hidden, 2, 0),
                ResBlock(cfg.hidden),
                ResBlock(cfg.hidden),
                upsampler(cfg.hidden, cfg.hidden, 3, 2, 0),
            )
        self.history_adversary = None
        if cfg.history_adversary_weight > 0:
            self.history_adversary = nn.Sequential(
                downsampler(3 * self.history, cfg.hidden // 2, cfg.hidden // 2, cfg.downsamples, 0),
                nn.Flatten(),
                nn.ReLU(),
                nn.Linear(cfg.hidden // 2 * feat * feat, cfg.num_actions),
            )

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

    def expected_next_frame(self, history_BTCHW: torch.Tensor) -> torch.Tensor:
        """history [B, window, 3, H, W] -> the history-only prediction of the next frame [B, 3, H, W]."""
        return history_BTCHW[:, -1] + self.expectation(self.stack(self.recent(history_BTCHW)))

    def embed(self, frames_BTCHW: torch.Tensor, expected_BCHW: torch.Tensor | None = None) -> torch.Tensor:
        """frames [B, window + 1, 3, H, W] in [0, 1] -> encoder vectors z [B, D] (before quantisation)."""
        x = self.stack(frames_BTCHW[:, -(self.history + 1) :])  # the recent history and the next frame
        if self.expectation is not None:
            if expected_BCHW is None:
                expected_BCHW = self.expected_next_frame(frames_BTCHW[:, :-1])
            surprise_BCHW = frames_BTCHW[:, -1] - expected_BCHW.detach()
            x = torch.cat([x, surprise_BCHW * 4], dim=1)  # x4: surprises are small next to frames in [-1, 1]
        return self.encoder(x)

    def encode(self, frames_BTCHW: torch.Tensor) -> QuantizerOutput:
        """frames [B, window + 1, 3, H, W] in [0, 1] -> one quantised action per clip (its last transition)."""
        return self.quantizer(self.embed(frames_BTCHW))

    def decode(self, history_BTCHW: torch.Tensor, action_BD: torch.Tensor,
               expected_BCHW: torch.Tensor | None = None) -> torch.Tensor:
        """history [B, window, 3, H, W] + action vectors [B, D] -> predicted next frame [B, 3, H, W]: the action's
        effect added to x_t, or to the history-only expectation where the net has one (moved along a flow with
        ``warp``)."""
        h = self.history_encoder(self.stack(self.recent(history_BTCHW)))
        for block in self.action_blocks:
            h = block(h, action_BD)
        if self.expectation is not None and expected_BCHW is None:
            expected_BCHW = self.expected_next_frame(history_BTCHW)
        base = history_BTCHW[:, -1] if expected_BCHW is None else expected_BCHW.detach()
        out = self.decoder(h)
        if self.cfg.warp:
            flow_B2HW = out[:, :2] * FLOW_PIXELS
            if self.cfg.flow_block > 1:  # one move per block: the code cannot buy local detail with the flow
                block = self.cfg.flow_block
                flow_B2HW = F.interpolate(F.avg_pool2d(flow_B2HW, block), scale_factor=block, mode="bilinear")
            return warp(base, flow_B2HW) + out[:, 2:]
        return base + out

    def forward(self, frames_BTCHW: torch.Tensor) -> LAMOutput:
        history_BTCHW = frames_BTCHW[:, :-1]
        expected = self.expected_next_frame(history_BTCHW) if self.expectation is not None else None
        z_BD = self.embed(frames_BTCHW, expected)
        out = self.quantizer(z_BD)
        return LAMOutput(self.decode(history_BTCHW, out.quantized, expected), out, z_BD, expected)

    def history_adversary_losses(self, frames_BTCHW: torch.Tensor, z_BD: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, accuracy): the adversary's cross-entropy at guessing the code from the history (trains the
        adversary only) plus ``weight * sum_k p_k log q_k`` (trains the encoder only: it lowers the probability the
        adversary gives the encoder's soft code ``p``). Accuracy near chance means codes carry no history."""
        with torch.autocast(device_type=z_BD.device.type, enabled=False):
            p_BK = torch.softmax(-self.quantizer.distances(z_BD.float()) / self.cfg.entropy_temperature, dim=1)
            logits_BK = self.history_adversary(self.stack(self.recent(frames_BTCHW[:, :-1]))).float()
            codes = p_BK.argmax(1).detach()
            adversary = F.cross_entropy(logits_BK, codes)
            log_q_BK = F.log_softmax(logits_BK, dim=1).detach()
            encoder = self.cfg.history_adversary_weight * (p_BK * log_q_BK).sum(1).mean()
        accuracy = (logits_BK.argmax(1) == codes).float().mean()
        return adversary + encoder, accuracy

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
