"""Callbacks every stage gets whatever the ``callbacks`` config holds: the module's parameter counts for the loggers,
W&B run hygiene, the final checkpoint that world.json points at."""

from __future__ import annotations

import sys
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import WandbLogger


class LogParameterCounts(Callback):
    """The module's parameter counts, ``parameters: {total, trainable}``, as hyperparameters of every logger
    (the W&B run's config, the CSV logger's hparams.yaml) when fitting starts."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        params = list(pl_module.parameters())
        counts = {"total": sum(p.numel() for p in params),
                  "trainable": sum(p.numel() for p in params if p.requires_grad)}
        for logger in trainer.loggers:
            logger.log_hyperparams({"parameters": counts})


class SaveFinal(Callback):
    """Write ``path`` when training ends (by max_steps, max_time or an interrupt), on every strategy."""

    def __init__(self, path: Path):
        self.path = str(path)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        trainer.save_checkpoint(self.path, weights_only=False)  # the whole state: resumable like last.ckpt


class FinishWandb(Callback):
    """Close this stage's W&B run, so the next stage (or the next multirun job) gets its own.

    Lightning finalises its loggers after the callbacks' teardown; the checkpoints that ``log_model=True`` uploads at
    finalisation are uploaded here first, while the run is open (Lightning's own pass then finds nothing new)."""

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if stage != "fit" or not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.finalize("success")
        wandb = sys.modules.get("wandb")
        if wandb is not None and wandb.run is not None:
            wandb.finish()
