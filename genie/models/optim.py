"""The optimiser every stage uses: AdamW, linear warm-up, then cosine decay to 10 %.

The decay follows whichever budget runs out first: ``max_steps`` or the stage's wall-clock ``max_time``. A run cut
short by its time budget on a slow or busy machine still ends with an annealed learning rate (worth ~0.5-1 dB of
tokenizer PSNR here) instead of stopping mid-schedule.
"""

from __future__ import annotations

import math
import time

import lightning as L
import torch
from lightning.pytorch.callbacks import Timer


class WarmupCosine:
    """LR factor of step ``step``. Holds only numbers (``LambdaLR`` checkpoints its ``__dict__``, and ``ddp_spawn``
    pickles it). Training time is accumulated between calls; a gap over ``max_gap_s`` (an interruption, a resume)
    is not counted."""

    def __init__(self, warmup_steps: int, total_steps: int, time_budget_s: float | None = None,
                 final: float = 0.1, max_gap_s: float = 300.0):
        self.warmup, self.total, self.final = max(warmup_steps, 1), total_steps, final
        self.time_budget_s, self.max_gap_s = time_budget_s, max_gap_s
        self.elapsed_s, self.last_call = 0.0, None

    def progress(self, step: int) -> float:
        now = time.time()
        if self.last_call is not None and now - self.last_call < self.max_gap_s:
            self.elapsed_s += now - self.last_call
        self.last_call = now
        by_steps = (step - self.warmup) / (self.total - self.warmup) if self.total > self.warmup else 0.0
        by_time = self.elapsed_s / self.time_budget_s if self.time_budget_s else 0.0
        return min(1.0, max(by_steps, by_time))

    def __call__(self, step: int) -> float:
        progress = self.progress(step)
        if step < self.warmup:
            return (step + 1) / self.warmup
        return self.final + (1 - self.final) * 0.5 * (1 + math.cos(math.pi * progress))


def adamw_with_warmup(module: L.LightningModule, lr: float, weight_decay: float, warmup_steps: int):
    optimizer = torch.optim.AdamW(module.parameters(), lr=lr, weight_decay=weight_decay)
    total_steps, time_budget_s = 0, None
    if module._trainer is not None:
        trainer = module.trainer
        total_steps = max(trainer.max_steps, 0)
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
        if timer is not None and timer.time_remaining() is not None:
            time_budget_s = timer.time_remaining("train") + timer.time_elapsed("train")
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(warmup_steps, total_steps, time_budget_s))
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
