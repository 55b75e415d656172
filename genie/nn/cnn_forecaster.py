"""CNN residual forecaster: tokens of the last W frames + latent action a_t -> logits of z_{t+1}, in one pass.

Tokens are embedded and stacked over time on channels, then a stack of dilated residual blocks (FiLM-conditioned
on the action) sees the whole 16x16 grid. A learned *copy prior* adds ``copy_bias * onehot(z_t)`` to the logits, so
the network only has to model what changes: most tokens of a game frame stay put from one step to the next.

Holding together over long rollouts. Trained only on real histories, a forecaster never sees its own mistakes, and
in a dream its history is nothing but its own output (exposure bias). With ``unroll`` > 1 each training clip has
window + unroll frames: after the first prediction from real history, the next ``unroll - 1`` steps read the model's
own (argmax, detached) predictions as history, and every step's cross-entropy counts (README, "Long play").
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
    num_actions: int = 16
    window: int = 4
    token_dim: int = 32
    hidden: int = 96
    action_dim: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    unroll: int = 1  # training steps per clip; steps after the first read the model's own predictions


class CNNForecaster(nn.Module):
    def __init__(self, cfg: CNNForecasterConfig):
        super().__init__()
        if cfg.unroll < 1:
            raise ValueError(f"model.dynamics.net.unroll: must be >= 1, got {cfg.unroll}")
        self.cfg = cfg
        self.token_embedding = nn.Embedding(cfg.num_codes, cfg.token_dim)
        self.action_embedding = nn.Embedding(cfg.num_actions, cfg.action_dim)
        self.stem = nn.Conv2d(cfg.window * cfg.token_dim, cfg.hidden, 3, padding=1)
        self.blocks = nn.ModuleList([FiLMResBlock(cfg.hidden, cfg.action_dim, d) for d in cfg.dilations])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(cfg.hidden, cfg.num_codes, 1))
        self.copy_bias = nn.Parameter(torch.tensor(3.0))

    @property
    def clip_len(self) -> int:
        """Frames per training clip."""
        return self.cfg.window + self.cfg.unroll

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
        # the copy prior, added in place at each position's current code (a one-hot [B, K, h, w] would cost more
        # memory traffic than the head itself)
        copy_B1hw = self.copy_bias.to(logits_BKhw.dtype).expand(B, 1, h, w)
        return logits_BKhw.scatter_add(1, tokens_BThw[:, -1:], copy_B1hw)

    def compute_loss(self, tokens_BThw: torch.Tensor, actions_BT: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Next-frame loss on a clip: tokens int [B, window + unroll, h, w], actions int [B, window + unroll - 1]
        (``actions[:, t]`` moves frame t to t+1). Step j predicts frame window + j from the action before it;
        from j = 1 on, the history ends in the model's own predictions. Token accuracy is the first step's."""
        W, steps = self.cfg.window, tokens_BThw.shape[1] - self.cfg.window
        if steps < 1:
            raise ValueError(f"CNN forecaster needs clips of window + unroll = {self.clip_len} frames, "
                             f"got {tokens_BThw.shape[1]}")
        history = tokens_BThw[:, :W]
        losses, first_accuracy = [], None
        for j in range(steps):
            target = tokens_BThw[:, W + j]
            logits_BKhw = self(history, actions_BT[:, W - 1 + j])
            losses.append(F.cross_entropy(logits_BKhw.float(), target))
            predicted = logits_BKhw.argmax(1).detach()
            if first_accuracy is None:
                first_accuracy = (predicted == target).float().mean()
            history = torch.cat([history[:, 1:], predicted[:, None]], dim=1)
        logs = {"token_accuracy": first_accuracy}
        if steps > 1:
            logs["unrolled_loss"] = torch.stack(losses[1:]).mean().detach()
        return torch.stack(losses).mean(), logs

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
