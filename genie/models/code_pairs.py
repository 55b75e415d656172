"""Latent codes and true actions collected over a validation epoch, gathered from every rank under DDP."""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat


class CodePairs(Metric):
    """``update(codes [N], true [N])``; ``compute()`` gives both, concatenated over batches and ranks."""

    full_state_update = False

    def __init__(self):
        super().__init__()
        self.add_state("codes", default=[], dist_reduce_fx="cat")
        self.add_state("true", default=[], dist_reduce_fx="cat")

    def update(self, codes: torch.Tensor, true: torch.Tensor) -> None:
        self.codes.append(codes.long())
        self.true.append(true.long())

    def compute(self) -> tuple[torch.Tensor, torch.Tensor]:
        return dim_zero_cat(self.codes).cpu(), dim_zero_cat(self.true).cpu()
