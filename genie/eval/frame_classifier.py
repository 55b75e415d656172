"""A small binary image classifier, trained from scratch in seconds: the judge behind the realism score (dreamed
vs real frames) and the CoinRun player detector (is the player's sprite in this crop).

Trained and evaluated in float32 with autocast disabled, on a private random generator: the same inputs give the
same classifier, the caller's random state is left as it was, and it trains inside a caller's ``no_grad``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def frame_classifier(width: int = 32) -> nn.Sequential:
    """float [B, 3, S, S] in [0, 1] (S a multiple of 4) -> one logit [B]: 4x4 pixel patches unfolded into channels
    and mixed (about 3x faster on a CPU than a strided conv at full resolution), two stride-2 convs, global average
    pool, linear."""
    return nn.Sequential(
        nn.PixelUnshuffle(4), nn.Conv2d(48, width, 1), nn.ReLU(),
        nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 1), nn.Flatten(0),
    )


def fit_classifier(x_NCHW: torch.Tensor, y_N: torch.Tensor, steps: int = 300, batch_size: int = 64,
                   lr: float = 3e-3, seed: int = 0) -> nn.Module:
    """Train a fresh classifier on images ``x`` (float [N, 3, S, S] in [0, 1]) with labels ``y`` (0 or 1)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]), torch.enable_grad(), torch.autocast(x_NCHW.device.type, enabled=False):
        torch.manual_seed(seed)
        model = frame_classifier()
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
        x_NCHW, y_N = x_NCHW.float(), y_N.float()
        for _ in range(steps):
            pick = torch.randint(0, len(x_NCHW), (min(batch_size, len(x_NCHW)),), generator=generator)
            flip = torch.rand(len(pick), generator=generator) < 0.5  # mirrored frames: a left run looks like a right one
            batch = torch.where(flip[:, None, None, None], x_NCHW[pick].flip(-1), x_NCHW[pick])
            loss = F.binary_cross_entropy_with_logits(model(batch), y_N[pick])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, x_NCHW: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Probability of class 1, float [N]."""
    with torch.autocast(x_NCHW.device.type, enabled=False):
        return torch.cat([torch.sigmoid(model(x_NCHW[i : i + batch_size].float()))
                          for i in range(0, len(x_NCHW), batch_size)])
