"""Stage 3: the dynamics model p(z_{t+1} | z_{t-W+1..t}, a_t) as a LightningModule, trained on a token store."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F

from genie.models.optim import adamw_with_warmup
from genie.nn.cnn_forecaster import CNNForecaster, CNNForecasterConfig


def build_dynamics_net(kind: str, net: dict[str, Any]) -> torch.nn.Module:
    if kind == "cnn":
        return CNNForecaster(CNNForecasterConfig(**net))
    raise ValueError(f"model.dynamics.kind: unknown dynamics model {kind!r} (known: cnn)")


class DynamicsModule(L.LightningModule):
    stage = "dynamics"

    def __init__(self, net: dict[str, Any], kind: str = "cnn", token_grid: int = 16, frame_size: int = 64,
                 lr: float = 1e-4, weight_decay: float = 0.0, warmup_steps: int = 100):
        super().__init__()
        self.save_hyperparameters()
        self.net = build_dynamics_net(kind, net)

    @property
    def window(self) -> int:
        return self.net.cfg.window

    def compute_loss(self, batch: dict[str, torch.Tensor]):
        tokens_BThw = batch["tokens"]
        history, target = tokens_BThw[:, :-1], tokens_BThw[:, -1]
        action_B = batch["latent_actions"][:, -1]  # a_t: the transition history[-1] -> target
        logits_BKhw = self.net(history, action_B)
        loss = F.cross_entropy(logits_BKhw.float(), target)
        accuracy = (logits_BKhw.argmax(1) == target).float().mean()
        return loss, {"token_accuracy": accuracy}

    def training_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/token_accuracy", logs["token_accuracy"])
        return loss

    def validation_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        self.log("val/loss", loss, sync_dist=True)
        self.log("val/token_accuracy", logs["token_accuracy"], sync_dist=True)

    def configure_optimizers(self):
        return adamw_with_warmup(self, self.hparams.lr, self.hparams.weight_decay, self.hparams.warmup_steps)
