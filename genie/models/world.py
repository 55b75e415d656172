"""Stage ``world``: the LAM and the dynamics model co-trained on pixel clips, as in Genie (and the seed's joint
trainer), beside the separate ``lam`` -> ``dynamics`` stages.

A training clip has ``2 * window`` frames, so that every one of the ``window`` transitions the dynamics model sees
gets its latent action from a full LAM history, as ``genie.world.infer_latent_actions`` labels a whole episode::

    clip frames   0 .. 2W-1
    LAM windows   n = 0..W-1: frames n .. n+W (its transition: frame n+W-1 -> n+W)     -> codes [B, W]
    dynamics      tokens of frames W-1 .. 2W-1 [B, W+1, h, w] under actions = codes [B, W]

The LAM loss is LAMModule's, on all B*W windows. The dynamics model reads the codes as integers (its own action
embedding), so its loss never reaches the LAM: a stop-gradient by construction. The tokenizer is trained before and
frozen here: no gradient, always in eval mode (its EMA codebook does not move); its weights ride along in this
module's checkpoint only so that a resumed run has them.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from genie.errors import UserError
from genie.models.code_pairs import CodePairs
from genie.models.dynamics import DynamicsModule
from genie.models.lam import LAMModule, code_metrics
from genie.models.optim import configure_optimization
from genie.models.tokenizer import build_tokenizer_net
from genie.nn.pixels import to_model


class WorldTrainingModule(L.LightningModule):
    """``tokenizer``: {kind, net} of the frozen tokenizer; ``lam`` / ``dynamics``: the keyword arguments of
    LAMModule / DynamicsModule, which are also the hyperparameters of the checkpoints the parts are saved as."""

    stage = "world"

    def __init__(self, tokenizer: dict[str, Any], lam: dict[str, Any], dynamics: dict[str, Any],
                 dynamics_weight: float = 1.0, lr: float = 1e-3, weight_decay: float = 0.0, warmup_steps: int = 100,
                 optimizer: dict[str, Any] | None = None, scheduler: dict[str, Any] | None = None):
        super().__init__()
        self.save_hyperparameters()
        if lam.get("labelled_fraction", 0.0) > 0:
            raise UserError("model.lam.labelled_fraction: stage=world co-training is label-free; train the LAM with "
                            "labels in its own stage (stage=all or stage=lam)")
        self.tokenizer = build_tokenizer_net(tokenizer["kind"], tokenizer["net"]).requires_grad_(False)
        self.lam = LAMModule(**lam)
        self.dynamics = DynamicsModule(**dynamics)
        if self.lam.window != self.dynamics.window:
            raise ValueError(f"lam window {self.lam.window} != dynamics window {self.dynamics.window}")
        self.val_code_pairs = CodePairs()

    @property
    def window(self) -> int:
        return self.lam.window

    @property
    def clip_len(self) -> int:
        return 2 * self.window

    def train(self, mode: bool = True) -> WorldTrainingModule:
        super().train(mode)
        self.tokenizer.eval()  # frozen: its EMA codebook must not follow the training clips
        return self

    def compute_losses(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, dict[str, Any]]:
        """(LAM loss, dynamics loss, logs) of clips ``frames`` uint8 [B, 2W, H, W, 3]; logs["codes"] is int [B*W]."""
        frames_BTHWC = batch["frames"]
        B, T, W = frames_BTHWC.shape[0], frames_BTHWC.shape[1], self.window
        if T != self.clip_len:
            raise ValueError(f"world clips must have 2 * window = {self.clip_len} frames, got {T}")
        index_NL = torch.arange(W)[:, None] + torch.arange(W + 1)[None]  # N = W windows of L = W+1 frames
        windows_BNLHWC = frames_BTHWC[:, index_NL.to(frames_BTHWC.device)]
        lam_loss, lam_logs = self.lam.compute_loss({"frames": windows_BNLHWC.flatten(0, 1)})
        actions_BW = lam_logs["codes"].view(B, W).detach()  # stop-gradient: the dynamics loss stays out of the LAM
        with torch.no_grad():
            x_NCHW = to_model(frames_BTHWC[:, W - 1 :].flatten(0, 1))
            tokens_BThw = self.tokenizer.encode(x_NCHW).unflatten(0, (B, W + 1))
        dynamics_loss, dynamics_logs = self.dynamics.compute_loss({"tokens": tokens_BThw, "latent_actions": actions_BW})
        return lam_loss, dynamics_loss, {**lam_logs, **dynamics_logs}

    def training_step(self, batch, batch_idx):
        lam_loss, dynamics_loss, logs = self.compute_losses(batch)
        loss = lam_loss + self.hparams.dynamics_weight * dynamics_loss
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/lam_loss", lam_loss)
        self.log("train/dynamics_loss", dynamics_loss)
        for key, value in logs.items():
            if key != "codes":
                self.log(f"train/{key}", value)
        return loss

    def validation_step(self, batch, batch_idx):
        lam_loss, dynamics_loss, logs = self.compute_losses(batch)
        self.log("val/loss", lam_loss + self.hparams.dynamics_weight * dynamics_loss, sync_dist=True)
        self.log("val/lam_loss", lam_loss, sync_dist=True)
        self.log("val/dynamics_loss", dynamics_loss, sync_dist=True)
        self.log("val/recon_mse", logs["recon_mse"], sync_dist=True)
        self.log("val/token_accuracy", logs["token_accuracy"], sync_dist=True)
        transitions = batch["actions"][:, self.window - 1 :].flatten()  # the true actions of the windows' transitions
        self.val_code_pairs.update(logs["codes"], transitions)

    def on_validation_epoch_end(self):
        if not self.val_code_pairs.update_count:
            return
        codes, true = self.val_code_pairs.compute()  # every rank's clips
        self.val_code_pairs.reset()
        for key, value in code_metrics(codes, true, self.lam.net.num_actions).items():
            self.log(f"val/{key}", value)

    def configure_optimizers(self):
        return configure_optimization(self)
