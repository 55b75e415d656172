"""CNN residual forecaster: tokens of the last W frames + latent action a_t -> logits of z_{t+1}, in one pass.

Tokens are embedded and stacked over time on channels, then a stack of dilated residual blocks (FiLM-conditioned
on the action) sees the whole 16x16 grid. A learned *copy prior* adds ``copy_bias * onehot(z_t)`` to the logits, so
the network only has to model what changes: most tokens of a game frame stay put from one step to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genie.nn.blocks import FiLMResBlock


@dataclass
class CNNForecasterConfig:
    num_codes: int = 512
    num_actions: int = 8
    window: int = 4
    token_dim: int = 32
    hidden: int = 96
    action_dim: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8)


class CNNForecaster(nn.Module):
    def __init__(self, cfg: CNNForecasterConfig):
        super().__init__()
        self.cfg = cfg
        self.token_embedding = nn.Embedding(cfg.num_codes, cfg.token_dim)
        self.action_embedding = nn.Embedding(cfg.num_actions, cfg.action_dim)
        self.stem = nn.Conv2d(cfg.window * cfg.token_dim, cfg.hidden, 3, padding=1)
        self.blocks = nn.ModuleList([FiLMResBlock(cfg.hidden, cfg.action_dim, d) for d in cfg.dilations])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(cfg.hidden, cfg.num_codes, 1))
        self.copy_bias = nn.Parameter(torch.tensor(3.0))

    def forward(self, tokens_BThw: torch.Tensor, actions_B: torch.Tensor) -> torch.Tensor:
        """tokens int [B, window, h, w], action int [B] -> logits [B, num_codes, h, w] of the next frame."""
        B, T, h, w = tokens_BThw.shape
        if T != self.cfg.window:
            raise ValueError(f"CNN forecaster expects {self.cfg.window} history frames, got {T}")
        e_BThwE = self.token_embedding(tokens_BThw)
        x = self.stem(e_BThwE.permute(0, 1, 4, 2, 3).reshape(B, -1, h, w))
        a_BE = self.action_embedding(actions_B)
        for block in self.blocks:
            x = block(x, a_BE)
        logits_BKhw = self.head(x)
        copy_BKhw = F.one_hot(tokens_BThw[:, -1], self.cfg.num_codes).permute(0, 3, 1, 2)
        return logits_BKhw + self.copy_bias * copy_BKhw.to(logits_BKhw.dtype)

    def compute_loss(self, tokens_BThw: torch.Tensor, actions_BT: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Teacher-forced next-frame loss on a clip: tokens int [B, window + 1, h, w], actions int [B, window]
        (``actions[:, t]`` moves frame t to t+1). The CNN predicts only the last frame, from the action before it."""
        history, target = tokens_BThw[:, :-1], tokens_BThw[:, -1]
        logits_BKhw = self(history, actions_BT[:, -1])
        loss = F.cross_entropy(logits_BKhw.float(), target)
        return loss, {"token_accuracy": (logits_BKhw.argmax(1) == target).float().mean()}

    @torch.no_grad()
    def predict_next(
        self, tokens_BThw: torch.Tensor, actions_B: torch.Tensor, temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Next frame's tokens int64 [B, h, w]: argmax at temperature 0, else sampled from softmax(logits / T)."""
        logits_BKhw = self(tokens_BThw, actions_B).float()
        if temperature <= 0:
            return logits_BKhw.argmax(1)
        B, K, h, w = logits_BKhw.shape
        probs = F.softmax(logits_BKhw.permute(0, 2, 3, 1).reshape(-1, K) / temperature, dim=-1)
        return torch.multinomial(probs, 1, generator=generator).reshape(B, h, w)
