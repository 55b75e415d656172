"""Stage 3: the dynamics model p(z_{t+1} | z_{t-W+1..t}, a_t) as a LightningModule, trained on a token store."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from genie.models.optim import configure_optimization
from genie.nn.cnn_forecaster import CNNForecaster, CNNForecasterConfig
from genie.nn.maskgit import MaskGITConfig, MaskGITDynamics


def build_dynamics_net(kind: str, net: dict[str, Any]) -> torch.nn.Module:
    if kind == "cnn":
        return CNNForecaster(CNNForecasterConfig(**net))
    if kind == "maskgit":
        return MaskGITDynamics(MaskGITConfig(**net))
    raise ValueError(f"model.dynamics.kind: unknown dynamics model {kind!r} (known: cnn, maskgit)")


class DynamicsModule(L.LightningModule):
    stage = "dynamics"

    def __init__(self, net: dict[str, Any], kind: str = "cnn", token_grid: int = 16, frame_size: int = 64,
                 lr: float = 1e-3, weight_decay: float = 0.0, warmup_steps: int = 100,
                 optimizer: dict[str, Any] | None = None, scheduler: dict[str, Any] | None = None):
        super().__init__()
        self.save_hyperparameters()
        # channels-last convolutions: ~1.1x the training steps/s of the default layout on a 2-core AVX2 CPU
        self.net = build_dynamics_net(kind, net).to(memory_format=torch.channels_last)

    @property
    def window(self) -> int:
        return self.net.cfg.window

    @property
    def clip_len(self) -> int:
        """Frames per training clip: window + 1, or more where the net trains on its own rollouts."""
        return getattr(self.net, "clip_len", self.window + 1)

    def compute_loss(self, batch: dict[str, torch.Tensor]):
        """Every dynamics net implements ``compute_loss(tokens [B, T, h, w], actions [B, T-1])`` and
        ``predict_next(history [B, window, h, w], action [B], temperature, generator) -> tokens [B, h, w]``."""
        return self.net.compute_loss(batch["tokens"], batch["latent_actions"])

    def training_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        for key, value in logs.items():
            self.log(f"train/{key}", value)
        return loss

    def validation_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        self.log("val/loss", loss, sync_dist=True)
        for key, value in logs.items():
            self.log(f"val/{key}", value, sync_dist=True)

    def configure_optimizers(self):
        return configure_optimization(self)
