"""A few true actions as auxiliary supervision of the LAM (``model.lam.labelled_fraction``; 0, the default, is
label-free).

A fixed share of the store's transitions counts as labelled, the way a user might have the keys for a few per cent of
their video: a transition is labelled when the golden-ratio hash of (episode, frame) falls below the fraction, so the
same transitions are labelled in every epoch, on every rank and in every run on the store, spread evenly through
it. On a labelled transition the quantised latent action (the code's vector, straight-through to the encoder) predicts
the effect of the true action (CoinRun: LEFT / RIGHT / JUMP / NOTHING) through a linear head, so codes that would mix
effects are pulled apart (Zhang et al. 2025, LAOM: 1-2.5 % of labels). The decoder, the codebook and every
unlabelled transition train as before.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GOLDEN = 0.6180339887498949  # frac(k * GOLDEN) spreads consecutive k evenly over [0, 1)
EPISODE_STRIDE = 1_000_003  # a prime above any episode's length, so (episode, frame) keys never collide


def labelled_transitions(episode_B: torch.Tensor, frame_B: torch.Tensor, fraction: float) -> torch.Tensor:
    """bool [B]: whether the transition from ``frame`` to ``frame + 1`` of ``episode`` (its index in the split) is
    one of the ``fraction`` of the store's transitions whose true action is known."""
    key_B = episode_B.double() * EPISODE_STRIDE + frame_B.double()
    return torch.frac(key_B * GOLDEN) < fraction


class EffectHead(nn.Module):
    """Latent action vectors [B, D] -> logits over the store's effects [B, E]."""

    def __init__(self, code_dim: int, num_effects: int):
        super().__init__()
        self.linear = nn.Linear(code_dim, num_effects)

    def forward(self, action_BD: torch.Tensor) -> torch.Tensor:
        return self.linear(action_BD.float())

    def loss(self, logits_BE: torch.Tensor, effect_B: torch.Tensor, labelled_B: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over the labelled transitions (0, still connected to the head, when a batch has
        none: every rank's graph keeps the same parameters under DDP)."""
        ce_B = F.cross_entropy(logits_BE, effect_B, reduction="none")
        return (ce_B * labelled_B).sum() / labelled_B.sum().clamp(min=1)
