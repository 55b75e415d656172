"""The optimiser every stage uses: AdamW, linear warm-up, then cosine decay to 10 % over the run's max_steps."""

from __future__ import annotations

import math

import lightning as L
import torch


class WarmupCosine:
    """Picklable LR factor (``ddp_spawn`` pickles the optimiser configuration)."""

    def __init__(self, warmup_steps: int, total_steps: int, final: float = 0.1):
        self.warmup, self.total, self.final = max(warmup_steps, 1), total_steps, final

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        if self.total <= self.warmup:
            return 1.0
        progress = min(1.0, (step - self.warmup) / (self.total - self.warmup))
        return self.final + (1 - self.final) * 0.5 * (1 + math.cos(math.pi * progress))


def adamw_with_warmup(module: L.LightningModule, lr: float, weight_decay: float, warmup_steps: int):
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    total = module.trainer.max_steps if module._trainer is not None and module.trainer.max_steps > 0 else 0
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(warmup_steps, total))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
