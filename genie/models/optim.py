"""How every stage optimises: the ``optimizer`` and ``scheduler`` config groups (partials, by default AdamW and
``WarmupCosine``: linear warm-up, then cosine decay to 10 %) with the stage's own ``lr``, ``weight_decay`` and
``warmup_steps`` (``model.<stage>.*``). Weight decay reaches only parameters with ndim >= 2 (weight matrices,
convolution kernels, embeddings), never biases or norm scales.

The decay follows whichever budget runs out first: ``max_steps`` or the stage's wall-clock ``max_time``. A run cut
short by its time budget on a slow or busy machine still ends with an annealed learning rate (worth ~0.5-1 dB of
tokenizer PSNR here) instead of stopping mid-schedule.
"""

from __future__ import annotations

import math
import time
from typing import Any

import lightning as L
import torch
from hydra.utils import instantiate
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


def decay_groups(module: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """The module's trainable parameters as two optimiser groups: ndim >= 2 with ``weight_decay``, the rest without."""
    trainable = [p for p in module.parameters() if p.requires_grad]
    return [{"params": [p for p in trainable if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in trainable if p.ndim < 2], "weight_decay": 0.0}]


def from_config(config: dict[str, Any] | None, default: Any) -> Any:
    """A ``_partial_: true`` config instantiated (a functools.partial), or ``default`` where there is none."""
    return instantiate(config, _convert_="all") if config else default


def time_budget(module: L.LightningModule) -> tuple[int, float | None]:
    """(max_steps, the wall-clock seconds of the Timer callback) of the module's trainer; (0, None) without one."""
    if module._trainer is None:
        return 0, None
    trainer = module.trainer
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    seconds = None
    if timer is not None and timer.time_remaining() is not None:
        seconds = timer.time_remaining("train") + timer.time_elapsed("train")
    return max(trainer.max_steps, 0), seconds


def configure_optimization(module: L.LightningModule) -> dict[str, Any]:
    """``configure_optimizers`` of every stage, from the module's hyperparameters: ``optimizer`` / ``scheduler``
    (configs of the groups; None: AdamW / WarmupCosine with their defaults), ``lr``, ``weight_decay``,
    ``warmup_steps``."""
    hparams = module.hparams
    make_optimizer = from_config(hparams.get("optimizer"), torch.optim.AdamW)
    optimizer = make_optimizer(decay_groups(module, hparams.weight_decay), lr=hparams.lr)
    total_steps, time_budget_s = time_budget(module)
    make_factor = from_config(hparams.get("scheduler"), WarmupCosine)
    factor = make_factor(warmup_steps=hparams.warmup_steps, total_steps=total_steps, time_budget_s=time_budget_s)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step"}}
