"""Stage 1: the video tokenizer as a LightningModule: the conv VQ-VAE (``kind="conv"``, frame by frame) or the
ST-ViViT (``kind="st_vivit"``, trained on clips of ``clip_len`` frames with causal temporal attention)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

from genie.models.optim import configure_optimization
from genie.nn.conv_vqvae import ConvVQVAE, ConvVQVAEConfig
from genie.nn.pixels import to_model
from genie.nn.st_vivit import STViViT, STViViTConfig


NETS = {"conv": (ConvVQVAE, ConvVQVAEConfig), "st_vivit": (STViViT, STViViTConfig)}


def build_tokenizer_net(kind: str, net: dict[str, Any]) -> ConvVQVAE | STViViT:
    if kind not in NETS:
        raise ValueError(f"model.tokenizer.kind: unknown tokenizer {kind!r} (known: {', '.join(NETS)})")
    model, config = NETS[kind]
    settings = [f.name for f in fields(config)]
    unknown = sorted(set(net) - set(settings))
    if unknown:
        raise ValueError(f"model.tokenizer.net: {unknown} are not settings of the {kind} tokenizer "
                         f"(its settings: {', '.join(settings)})")
    return model(config(**net))


class TokenizerModule(L.LightningModule):
    """``clip_len``: frames per training clip (1 for the conv net, which sees every frame alone anyway). A temporal
    net (ST-ViViT) is trained on whole clips and also validated frame by frame, the way the world model uses it
    (``val/psnr_framewise``)."""

    stage = "tokenizer"

    def __init__(self, net: dict[str, Any], kind: str = "conv", clip_len: int = 1, frame_size: int = 64,
                 lr: float = 1e-3, weight_decay: float = 0.0, warmup_steps: int = 100,
                 optimizer: dict[str, Any] | None = None, scheduler: dict[str, Any] | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.net = build_tokenizer_net(kind, net)
        self.temporal = isinstance(self.net, STViViT)
        self.val_psnr = PeakSignalNoiseRatio(data_range=1.0)
        self.val_psnr_framewise = PeakSignalNoiseRatio(data_range=1.0) if self.temporal else None
        self.val_ssim = StructuralSimilarityIndexMeasure(data_range=1.0)
        self.register_buffer("val_code_counts", torch.zeros(self.net.num_codes), persistent=False)

    @property
    def clip_len(self) -> int:
        return self.hparams.clip_len

    @property
    def token_grid(self) -> int:
        return self.net.grid_size(self.hparams.frame_size)

    def compute_loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        x_BTCHW = to_model(batch["frames"])
        x_NCHW = x_BTCHW.flatten(0, 1)  # every frame of every clip
        if self.temporal:
            recon_BTCHW, vq = self.net.forward_clip(x_BTCHW)
            recon = recon_BTCHW.flatten(0, 1)
        else:
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
        framewise = self.net(logs["target"])[0] if self.temporal else None  # each frame alone, as the world decodes
        with torch.autocast(self.device.type, enabled=False):  # metrics in float32 (SSIM's filters too)
            self.val_psnr.update(recon, logs["target"])
            self.val_ssim.update(recon, logs["target"])
            if framewise is not None:
                self.val_psnr_framewise.update(framewise.float().clamp(0, 1), logs["target"])
        self.val_code_counts += torch.bincount(logs["codes"], minlength=self.net.num_codes).float()
        self.log("val/loss", loss, sync_dist=True)

    def on_validation_epoch_end(self):
        self.log("val/psnr", self.val_psnr.compute(), sync_dist=True)
        self.log("val/ssim", self.val_ssim.compute(), sync_dist=True)
        counts = self.trainer.strategy.reduce(self.val_code_counts, reduce_op="sum")  # codes seen on any rank
        self.log("val/codebook_usage", (counts > 0).float().mean())
        self.val_psnr.reset()
        if self.temporal:
            self.log("val/psnr_framewise", self.val_psnr_framewise.compute(), sync_dist=True)
            self.val_psnr_framewise.reset()
        self.val_ssim.reset()
        self.val_code_counts.zero_()

    def configure_optimizers(self):
        return configure_optimization(self)

