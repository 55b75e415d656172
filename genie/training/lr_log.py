"""The learning-rate monitor, quiet when the run has no logger (``logger=none``) instead of refusing to start."""

from __future__ import annotations

from lightning.pytorch.callbacks import LearningRateMonitor


class LearningRateLog(LearningRateMonitor):
    def on_train_start(self, trainer, *args, **kwargs) -> None:
        if trainer.loggers:
            super().on_train_start(trainer, *args, **kwargs)

    def on_train_batch_start(self, trainer, *args, **kwargs) -> None:
        if trainer.loggers:
            super().on_train_batch_start(trainer, *args, **kwargs)

    def on_train_epoch_start(self, trainer, *args, **kwargs) -> None:
        if trainer.loggers:
            super().on_train_epoch_start(trainer, *args, **kwargs)
