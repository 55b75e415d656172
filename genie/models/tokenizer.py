"""Stage 1: the video tokenizer (conv VQ-VAE) as a LightningModule."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from genie.models.optim import adamw_with_warmup
from genie.nn.conv_vqvae import ConvVQVAE, ConvVQVAEConfig
from genie.nn.pixels import to_model


class TokenizerModule(L.LightningModule):
    stage = "tokenizer"

    def __init__(self, net: dict[str, Any], frame_size: int = 64, lr: float = 1e-4, weight_decay: float = 0.0,
                 warmup_steps: int = 100):
        super().__init__()
        self.save_hyperparameters()
        self.net = ConvVQVAE(ConvVQVAEConfig(**net))
        self.val_psnr = PeakSignalNoiseRatio(data_range=1.0)
        self.val_ssim = StructuralSimilarityIndexMeasure(data_range=1.0)
        self.register_buffer("val_code_counts", torch.zeros(self.net.num_codes), persistent=False)

    @property
    def token_grid(self) -> int:
        return self.net.grid_size(self.hparams.frame_size)

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        x_NCHW = to_model(batch["frames"]).flatten(0, 1)  # every frame of every clip
        recon, vq = self.net(x_NCHW)
        mse = F.mse_loss(recon.float(), x_NCHW)
        logs = {"recon_mse": mse, "vq_loss": vq.loss, "perplexity": vq.perplexity, "codebook_usage": vq.usage}
        return mse + vq.loss, recon, logs | {"codes": vq.codes, "target": x_NCHW}

    def training_step(self, batch, batch_idx):
        loss, _, logs = self.compute_loss(batch)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/psnr", -10 * torch.log10(logs["recon_mse"].detach()))
        for key in ("recon_mse", "perplexity", "codebook_usage"):
            self.log(f"train/{key}", logs[key])
        return loss

    def validation_step(self, batch, batch_idx):
        loss, recon, logs = self.compute_loss(batch)
        recon = recon.float().clamp(0, 1)
        self.val_psnr.update(recon, logs["target"])
        self.val_ssim.update(recon, logs["target"])
        self.val_code_counts += torch.bincount(logs["codes"], minlength=self.net.num_codes).float()
        self.log("val/loss", loss, sync_dist=True)

    def on_validation_epoch_end(self):
        self.log("val/psnr", self.val_psnr.compute(), sync_dist=True)
        self.log("val/ssim", self.val_ssim.compute(), sync_dist=True)
        self.log("val/codebook_usage", (self.val_code_counts > 0).float().mean(), sync_dist=True)
        self.val_psnr.reset()
        self.val_ssim.reset()
        self.val_code_counts.zero_()

    def configure_optimizers(self):
        return adamw_with_warmup(self, self.hparams.lr, self.hparams.weight_decay, self.hparams.warmup_steps)

