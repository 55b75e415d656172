"""A few true actions as auxiliary supervision of the LAM (``model.lam.labelled_fraction``; 0, the default, is
label-free).

A fixed share of the store's transitions counts as labelled, the way a user might have the keys for a few per cent of
their video: a transition is labelled when the golden-ratio hash of (episode, frame) falls below the fraction, so the
same transitions are labelled in every epoch, on every rank and in every run on the store, spread evenly through it.

On a labelled transition a linear head reads the encoder's vector before quantisation and predicts the effect of
the true action (CoinRun: LEFT / RIGHT / JUMP / NOTHING), as LAOM's probe does (Nikulin et al. 2025; Zhang et al.
2025 used 1 % of labels): the encoder learns to put what the player did into the vector the codes are cut from. A
labelled clip weighs as one clip of the batch (the loss is summed over the labelled clips and divided by the batch
size, times ``model.lam.label_weight``). Tried on the default CoinRun store at 2 % of labels and dropped: the same head
on the quantised vector (the straight-through gradient pushes the encoder along the head's weights, which have
nothing to do with where the codes lie; averaged over the labelled clips alone, one of them outweighed a batch's
reconstruction a hundredfold and the codebook collapsed to 2 codes), and pulling labelled vectors towards the codes
that counted their effect (effect NMI of the codes 0.23 -> 0.15).
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
    """The LAM encoder's vectors before quantisation [B, D] -> logits over the store's effects [B, E]."""

    def __init__(self, code_dim: int, num_effects: int):
        super().__init__()
        self.linear = nn.Linear(code_dim, num_effects)

    def forward(self, z_BD: torch.Tensor) -> torch.Tensor:
        return self.linear(z_BD.float())

    def loss(self, logits_BE: torch.Tensor, effect_B: torch.Tensor, labelled_B: torch.Tensor) -> torch.Tensor:
        """The cross-entropy of the labelled clips, summed and divided by the batch size; 0, still connected to the
        head, when a batch has none (every rank's graph keeps the same parameters under DDP)."""
        ce_B = F.cross_entropy(logits_BE, effect_B, reduction="none")
        return (ce_B * labelled_B).sum() / len(ce_B)
