"""Stage 2: the latent action model as a LightningModule."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from sklearn.metrics import normalized_mutual_info_score

from genie.models.optim import adamw_with_warmup
from genie.nn.latent_action_net import LatentActionConfig, LatentActionNet
from genie.nn.pixels import to_model


class LAMModule(L.LightningModule):
    stage = "lam"

    def __init__(self, net: dict[str, Any], frame_size: int = 64, lr: float = 1e-4, weight_decay: float = 0.0,
                 warmup_steps: int = 100, relative_error_floor: float = 0.0):
        super().__init__()
        self.save_hyperparameters()
        self.net = LatentActionNet(LatentActionConfig(**net), frame_size)
        self._val_codes: list[torch.Tensor] = []
        self._val_true: list[torch.Tensor] = []

    @property
    def window(self) -> int:
        return self.net.cfg.window

    def compute_loss(self, batch: dict[str, torch.Tensor]):
        x_BTCHW = to_model(batch["frames"])
        out = self.net(x_BTCHW)
        error_B = ((out.prediction.float() - x_BTCHW[:, -1]) ** 2).flatten(1).mean(1)
        mse = error_B.mean()
        logs = {"recon_mse": mse, "perplexity": out.vq.perplexity, "codes": out.vq.codes}
        loss = out.vq.loss + (mse if self.hparams.relative_error_floor <= 0
                              else relative_error(error_B, x_BTCHW, self.hparams.relative_error_floor))
        if out.expected is not None:  # the history-only predictor learns from its own error
            logs["expected_mse"] = F.mse_loss(out.expected.float(), x_BTCHW[:, -1])
            loss = loss + logs["expected_mse"]
        if self.net.history_adversary is not None:
            adversary_loss, logs["adversary_accuracy"] = self.net.history_adversary_losses(x_BTCHW, out.z)
            loss = loss + adversary_loss
        return loss, logs

    def training_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        counts = torch.bincount(logs["codes"], minlength=self.net.num_actions)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/recon_mse", logs["recon_mse"])
        self.log("train/perplexity", logs["perplexity"])
        for key in ("adversary_accuracy", "expected_mse"):
            if key in logs:
                self.log(f"train/{key}", logs[key])
        self.log("train/codes_used", (counts > 0).sum().float())
        return loss

    def validation_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        self.log("val/loss", loss, sync_dist=True)
        self.log("val/recon_mse", logs["recon_mse"], sync_dist=True)
        self._val_codes.append(logs["codes"].cpu())
        self._val_true.append(batch["actions"][:, -1].cpu())

    def on_validation_epoch_end(self):
        if not self._val_codes:
            return
        codes, true = torch.cat(self._val_codes), torch.cat(self._val_true)
        self._val_codes, self._val_true = [], []
        for key, value in code_metrics(codes, true, self.net.num_actions).items():
            self.log(f"val/{key}", value, sync_dist=True)

    def configure_optimizers(self):
        return adamw_with_warmup(self, self.hparams.lr, self.hparams.weight_decay, self.hparams.warmup_steps)


def relative_error(error_B: torch.Tensor, frames_BTCHW: torch.Tensor, floor: float) -> torch.Tensor:
    """Each clip's squared error over its own change ``mean (x_{t+1} - x_t)^2`` (+ ``floor``), times ``floor``: every
    transition weighs alike, so a one-pixel run is worth a code as much as a fall that changes half the frame."""
    change_B = ((frames_BTCHW[:, -1] - frames_BTCHW[:, -2]) ** 2).flatten(1).mean(1)
    return (error_B / (change_B + floor)).mean() * floor


def code_metrics(codes: torch.Tensor, true: torch.Tensor, num_actions: int) -> dict[str, float]:
    """Latent codes int [N] vs true actions int [N] (-1: unlabelled): codes used, code perplexity, and the NMI of
    codes and true actions when every clip is labelled."""
    counts = torch.bincount(codes, minlength=num_actions).float()
    p = counts / counts.sum()
    perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
    metrics = {"codes_used": float((counts > 0).sum()), "perplexity": float(perplexity)}
    if (true >= 0).all():
        metrics["action_nmi"] = float(normalized_mutual_info_score(true.numpy(), codes.numpy()))
    return metrics
