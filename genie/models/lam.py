"""Stage 2: the latent action model as a LightningModule."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from sklearn.metrics import normalized_mutual_info_score

from genie.models.code_pairs import CodePairs
from genie.models.optim import configure_optimization
from genie.nn.latent_action_net import LatentActionConfig, LatentActionNet
from genie.nn.pixels import to_model


class LAMModule(L.LightningModule):
    stage = "lam"

    def __init__(self, net: dict[str, Any], frame_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
                 warmup_steps: int = 100, optimizer: dict[str, Any] | None = None,
                 scheduler: dict[str, Any] | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.net = LatentActionNet(LatentActionConfig(**net), frame_size)
        self.val_code_pairs = CodePairs()

    @property
    def window(self) -> int:
        return self.net.cfg.window

    @property
    def clip_len(self) -> int:
        """Frames per training clip: the history, the next frame and the encoder's look-ahead."""
        return self.net.clip_len

    def compute_loss(self, batch: dict[str, torch.Tensor]):
        x_BTCHW = to_model(batch["frames"])
        out = self.net(x_BTCHW)
        mse = ((out.prediction.float() - x_BTCHW[:, self.window]) ** 2).mean()
        logs = {"recon_mse": mse, "perplexity": out.vq.perplexity, "codes": out.vq.codes}
        return out.vq.loss + mse, logs

    def training_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        counts = torch.bincount(logs["codes"], minlength=self.net.num_actions)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/recon_mse", logs["recon_mse"])
        self.log("train/perplexity", logs["perplexity"])
        self.log("train/codes_used", (counts > 0).sum().float())
        return loss

    def validation_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        self.log("val/loss", loss, sync_dist=True)
        self.log("val/recon_mse", logs["recon_mse"], sync_dist=True)
        self.val_code_pairs.update(logs["codes"], batch["actions"][:, self.window - 1])

    def on_validation_epoch_end(self):
        if not self.val_code_pairs.update_count:
            return
        codes, true = self.val_code_pairs.compute()  # every rank's clips
        self.val_code_pairs.reset()
        for key, value in code_metrics(codes, true, self.net.num_actions).items():
            self.log(f"val/{key}", value)

    def configure_optimizers(self):
        return configure_optimization(self)


def code_metrics(codes: torch.Tensor, true: torch.Tensor, num_actions: int) -> dict[str, float]:
    """Latent codes int [N] vs true actions int [N] (-1: unlabelled): codes used, code perplexity, and the NMI of
    codes and true actions when every clip is labelled."""
    # torchmetrics hands back the state of a lone validation clip as a 0-d tensor
    codes, true = codes.reshape(-1), true.reshape(-1)
    counts = torch.bincount(codes, minlength=num_actions).float()
    p = counts / counts.sum()
    perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
    metrics = {"codes_used": float((counts > 0).sum()), "perplexity": float(perplexity)}
    if (true >= 0).all():
        metrics["action_nmi"] = float(normalized_mutual_info_score(true.numpy(), codes.numpy()))
    return metrics
