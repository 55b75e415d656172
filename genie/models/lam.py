"""Stage 2: the latent action model as a LightningModule."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from sklearn.metrics import normalized_mutual_info_score
from torchmetrics.classification import MulticlassAccuracy

from genie.errors import UserError
from genie.models.action_labels import EffectHead, labelled_transitions
from genie.models.code_pairs import CodePairs
from genie.models.optim import configure_optimization
from genie.nn.latent_action_net import LatentActionConfig, LatentActionNet
from genie.nn.pixels import to_model


class LAMModule(L.LightningModule):
    stage = "lam"

    def __init__(self, net: dict[str, Any], frame_size: int = 64, lr: float = 1e-3, weight_decay: float = 0.0,
                 warmup_steps: int = 100, optimizer: dict[str, Any] | None = None,
                 scheduler: dict[str, Any] | None = None, labelled_fraction: float = 0.0, label_weight: float = 1.0,
                 effect_of_action: list[int] | None = None, effect_names: list[str] | None = None,
                 relative_loss: bool = False):
        """``labelled_fraction`` > 0: that share of the store's transitions trains an effect head on the encoder's
        vectors with their true actions (genie/models/action_labels.py); ``effect_of_action`` maps the store's action
        ids to ``effect_names`` (the store's, set by the stage builder). ``relative_loss``: the reconstruction term is
        the prediction's squared error over that of copying the last frame, each the batch's mean, so it weighs as
        much beside the quantiser's losses on a game whose frames barely change (a Pong paddle, a Breakout ball) as on
        a scrolling one."""
        super().__init__()
        self.save_hyperparameters()
        self.net = LatentActionNet(LatentActionConfig(**net), frame_size)
        self.val_code_pairs = CodePairs()
        if not 0.0 <= labelled_fraction <= 1.0:
            raise UserError(f"model.lam.labelled_fraction: a share of the transitions in [0, 1], "
                            f"got {labelled_fraction}")
        self.effect_head = None
        if labelled_fraction > 0:
            if not effect_of_action or not effect_names:
                raise UserError("model.lam.labelled_fraction > 0 needs a store whose true actions have known effects "
                                "(CoinRun and Atari stores)")
            self.register_buffer("effect_of_action", torch.tensor(effect_of_action, dtype=torch.long),
                                 persistent=False)
            self.effect_head = EffectHead(self.net.cfg.code_dim, len(effect_names))
            self.val_effect_accuracy = MulticlassAccuracy(len(effect_names), average="micro")

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
        x_t_BCHW, target_BCHW = x_BTCHW[:, self.window - 1], x_BTCHW[:, self.window]
        mse = ((out.prediction.float() - target_BCHW) ** 2).mean()
        logs = {"recon_mse": mse, "perplexity": out.vq.perplexity, "codes": out.vq.codes}
        reconstruction = mse
        if self.hparams.relative_loss:  # the share of the step's change the prediction leaves unexplained
            reconstruction = mse / ((x_t_BCHW - target_BCHW) ** 2).mean().clamp_min(1e-8)
        loss = out.vq.loss + reconstruction
        if self.effect_head is not None:
            logs.update(self.effect_supervision(batch, out.z))
            loss = loss + self.hparams.label_weight * logs["label_loss"]
        return loss, logs

    def effect_supervision(self, batch: dict[str, torch.Tensor], z_BD: torch.Tensor) -> dict[str, torch.Tensor]:
        """The effect head's loss on the batch's labelled transitions (from the encoder vectors ``z`` before
        quantisation), its logits and the true effect of every clip."""
        t = self.window - 1
        action_B = batch["actions"][:, t]
        effect_B = self.effect_of_action[action_B.clamp(min=0)]
        labelled_B = labelled_transitions(batch["episode"], batch["start"] + t, self.hparams.labelled_fraction)
        labelled_B &= action_B >= 0  # a clip without a recorded action is never labelled
        logits_BE = self.effect_head(z_BD)
        return {"label_loss": self.effect_head.loss(logits_BE, effect_B, labelled_B), "effect_logits": logits_BE,
                "effects": effect_B, "labelled": labelled_B.float().mean()}

    def training_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        counts = torch.bincount(logs["codes"], minlength=self.net.num_actions)
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/recon_mse", logs["recon_mse"])
        self.log("train/perplexity", logs["perplexity"])
        self.log("train/codes_used", (counts > 0).sum().float())
        if self.effect_head is not None:
            self.log("train/label_loss", logs["label_loss"])
            self.log("train/labelled_share", logs["labelled"])
        return loss

    def validation_step(self, batch, batch_idx):
        loss, logs = self.compute_loss(batch)
        self.log("val/loss", loss, sync_dist=True)
        self.log("val/recon_mse", logs["recon_mse"], sync_dist=True)
        self.val_code_pairs.update(logs["codes"], batch["actions"][:, self.window - 1])
        if self.effect_head is not None:  # every val clip: how well the encoder's vectors say what the player did
            self.val_effect_accuracy.update(logs["effect_logits"].argmax(-1), logs["effects"])
            self.log("val/effect_accuracy", self.val_effect_accuracy)

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
