"""CNN residual forecaster: tokens of the last W frames + latent action a_t -> logits of z_{t+1}, in one pass.

Tokens are embedded and stacked over time on channels, then a stack of dilated residual blocks (FiLM-conditioned
on the action) sees the whole 16x16 grid. A learned *copy prior* adds ``copy_bias * onehot(z_t)`` to the logits, so
the network only has to model what changes: most tokens of a game frame stay put from one step to the next.

Holding together over long rollouts. Trained only on real histories, a forecaster never sees its own mistakes, and
in a dream its history is nothing but its own output (exposure bias). With ``unroll`` > 1 each training clip has
window + unroll frames: after the first prediction from real history, the next ``unroll - 1`` steps read the model's
own (argmax, detached) predictions as history, and every step's cross-entropy counts (README, "Long play").

Iterative decoding. One pass predicts every token of the next frame independently, so where the future is
multimodal (a scroll of one or two pixels, a jump or not) neighbouring tokens can take different modes. With
``decode_steps`` > 1 the net also reads the next frame's tokens, partly masked: it is trained to fill in a random
50-100 % of them (loss on the masked ones), and ``predict_next`` decodes like MaskGIT, committing the most confident
tokens first over ``decode_steps`` passes (cosine schedule), so later tokens agree with earlier ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genie.nn.blocks import FiLMResBlock
from genie.nn.maskgit import MaskGITDynamics, masked_fraction


@dataclass
class CNNForecasterConfig:
    num_codes: int = 512
    num_actions: int = 8
    window: int = 4
    token_dim: int = 32
    hidden: int = 96
    action_dim: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    unroll: int = 1  # training steps per clip; steps after the first read the model's own predictions
    decode_steps: int = 1  # passes per predicted frame; > 1: trained on partly masked next frames, MaskGIT decoding


class CNNForecaster(nn.Module):
    def __init__(self, cfg: CNNForecasterConfig):
        super().__init__()
        if cfg.unroll < 1 or cfg.decode_steps < 1:
            raise ValueError(f"model.dynamics.net: unroll and decode_steps must be >= 1, got {cfg.unroll} and "
                             f"{cfg.decode_steps}")
        self.cfg = cfg
        self.token_embedding = nn.Embedding(cfg.num_codes, cfg.token_dim)
        self.action_embedding = nn.Embedding(cfg.num_actions, cfg.action_dim)
        # the next frame's partly decided tokens, index num_codes = still masked
        self.next_embedding = nn.Embedding(cfg.num_codes + 1, cfg.token_dim) if self.iterative else None
        self.stem = nn.Conv2d((cfg.window + self.iterative) * cfg.token_dim, cfg.hidden, 3, padding=1)
        self.blocks = nn.ModuleList([FiLMResBlock(cfg.hidden, cfg.action_dim, d) for d in cfg.dilations])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(cfg.hidden, cfg.num_codes, 1))
        self.copy_bias = nn.Parameter(torch.tensor(3.0))

    @property
    def iterative(self) -> bool:
        return self.cfg.decode_steps > 1

    @property
    def clip_len(self) -> int:
        """Frames per training clip."""
        return self.cfg.window + self.cfg.unroll

    def forward(self, tokens_BThw: torch.Tensor, actions_B: torch.Tensor,
                partial_next_Bhw: torch.Tensor | None = None) -> torch.Tensor:
        """tokens int [B, window, h, w], action int [B] (and, when iterative, the next frame's decided tokens int
        [B, h, w], num_codes where masked; None: all masked) -> logits [B, num_codes, h, w] of the next frame."""
        B, T, h, w = tokens_BThw.shape
        if T != self.cfg.window:
            raise ValueError(f"CNN forecaster expects {self.cfg.window} history frames, got {T}")
        e_BThwE = self.token_embedding(tokens_BThw)
        if self.iterative:
            if partial_next_Bhw is None:
                partial_next_Bhw = torch.full_like(tokens_BThw[:, -1], self.cfg.num_codes)
            e_BThwE = torch.cat([e_BThwE, self.next_embedding(partial_next_Bhw)[:, None]], dim=1)
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
            masked_Bhw = self.sample_mask(target) if self.iterative else torch.ones_like(target, dtype=torch.bool)
            partial = target.masked_fill(masked_Bhw, self.cfg.num_codes) if self.iterative else None
            logits_BKhw = self(history, actions_BT[:, W - 1 + j], partial)
            if self.iterative:  # the loss of the masked tokens only
                losses.append(F.cross_entropy(logits_BKhw.float().permute(0, 2, 3, 1)[masked_Bhw], target[masked_Bhw]))
            else:
                losses.append(F.cross_entropy(logits_BKhw.float(), target))
            predicted = torch.where(masked_Bhw, logits_BKhw.argmax(1), target).detach()
            if first_accuracy is None:
                first_accuracy = (predicted == target)[masked_Bhw].float().mean()
            history = torch.cat([history[:, 1:], predicted[:, None]], dim=1)
        logs = {"token_accuracy": first_accuracy}
        if steps > 1:
            logs["unrolled_loss"] = torch.stack(losses[1:]).mean().detach()
        return torch.stack(losses).mean(), logs

    @staticmethod
    def sample_mask(target_Bhw: torch.Tensor) -> torch.Tensor:
        """bool [B, h, w]: a random 50-100 % of each frame's tokens (at least one), as MaskGIT dynamics trains."""
        B, h, w = target_Bhw.shape
        count_B = torch.ceil((torch.rand(B, device=target_Bhw.device) * 0.5 + 0.5) * h * w).long()
        rank_BM = torch.rand(B, h * w, device=target_Bhw.device).argsort(-1).argsort(-1)
        return (rank_BM < count_B[:, None]).view(B, h, w)

    @torch.no_grad()
    def predict_next(
        self, tokens_BThw: torch.Tensor, actions_B: torch.Tensor, temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Next frame's tokens int64 [B, h, w]: argmax at temperature 0, else sampled from softmax(logits / T); in
        ``decode_steps`` passes, the most confident tokens decided first, when iterative."""
        if self.iterative:
            return self.decode_iteratively(tokens_BThw, actions_B, temperature, generator)
        logits_BKhw = self(tokens_BThw, actions_B).float()
        if temperature <= 0:
            return logits_BKhw.argmax(1)
        B, K, h, w = logits_BKhw.shape
        probs = F.softmax(logits_BKhw.permute(0, 2, 3, 1).reshape(-1, K) / temperature, dim=-1)
        return torch.multinomial(probs, 1, generator=generator).reshape(B, h, w)

    def decode_iteratively(self, tokens_BThw: torch.Tensor, actions_B: torch.Tensor, temperature: float,
                           generator: torch.Generator | None) -> torch.Tensor:
        """MaskGIT decoding of the next frame -> int64 [B, h, w] (``genie.nn.maskgit`` decodes the same way)."""
        B, _, h, w = tokens_BThw.shape
        M, steps = h * w, self.cfg.decode_steps
        partial_BM = torch.full((B, M), self.cfg.num_codes, dtype=torch.long, device=tokens_BThw.device)
        masked_BM = torch.ones(B, M, dtype=torch.bool, device=tokens_BThw.device)
        for step in range(steps):
            logits_BKhw = self(tokens_BThw, actions_B, partial_BM.view(B, h, w)).float()
            guess_BM, confidence_BM = MaskGITDynamics.guess(logits_BKhw.flatten(2).transpose(1, 2), temperature,
                                                            generator)
            partial_BM = torch.where(masked_BM, guess_BM, partial_BM)
            confidence_BM = confidence_BM.masked_fill(~masked_BM, math.inf)  # decided tokens stay decided
            still_masked = math.floor(M * masked_fraction((step + 1) / steps, "cosine"))
            masked_BM = torch.zeros_like(masked_BM).scatter_(1, confidence_BM.argsort(dim=1)[:, :still_masked], True)
            partial_BM = partial_BM.masked_fill(masked_BM, self.cfg.num_codes)
        return partial_BM.view(B, h, w)
