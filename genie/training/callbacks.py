"""Callbacks every stage uses: a progress bar that names the stage, the final checkpoint, W&B run hygiene."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback
from tqdm.auto import tqdm


class StageProgress(Callback):
    """One bar per stage over optimiser steps: ``[tokenizer] 1200/3000 [02:10<03:15, loss=0.003]``."""

    def __init__(self, stage: str):
        self.stage = stage
        self.bar: tqdm | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            total = trainer.max_steps if trainer.max_steps > 0 else None
            self.bar = tqdm(total=total, initial=trainer.global_step, desc=f"[{self.stage}]", unit="step",
                            dynamic_ncols=True)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.bar is not None:
            self.bar.update(trainer.global_step - self.bar.n)
            loss = trainer.callback_metrics.get("train/loss")
            if loss is not None:
                self.bar.set_postfix(loss=f"{float(loss):.4g}", refresh=False)

    def on_validation_end(self, trainer, pl_module) -> None:
        if self.bar is not None and not trainer.sanity_checking:
            shown = {k.split("/", 1)[1]: f"{float(v):.4g}" for k, v in trainer.callback_metrics.items()
                     if k.startswith("val/")}
            self.bar.write(f"[{self.stage}] step {trainer.global_step}: " + ", ".join(f"{k}={v}" for k, v in shown.items()))

    def on_train_end(self, trainer, pl_module) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class SaveFinal(Callback):
    """Write ``path`` when training ends (by max_steps, max_time or an interrupt), on every strategy."""

    def __init__(self, path: Path):
        self.path = str(path)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.save_checkpoint(self.path)


class FinishWandb(Callback):
    """Close this stage's W&B run, so the next stage (or the next multirun job) gets its own."""

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage == "fit" and trainer.is_global_zero:
            import sys

            wandb = sys.modules.get("wandb")
            if wandb is not None and wandb.run is not None:
                wandb.finish()
