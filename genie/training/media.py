"""ValidationMedia: pictures of what a stage has learnt, at the end of its validations, for the loggers that take
images (W&B's ``WandbLogger.log_image``; the others are skipped). The stage is read from ``pl_module.stage``:

    tokenizer  val/reconstruction
    lam        val/code_usage, val/next_frame_per_code
    dynamics   val/teacher_forced, val/dream  (decoded with the tokenizer that made the token store)
    world      all four of lam and dynamics, with the module's own tokenizer

What each picture shows: genie/training/stage_pictures.py.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from genie.checkpoints import load_module
from genie.nn.pixels import to_model
from genie.training import stage_pictures as pictures
from genie.training.stage_pictures import Picture

log = logging.getLogger(__name__)


def image_loggers(trainer: L.Trainer) -> list:
    """The loggers whose class has ``log_image`` (not Lightning's DummyLogger of fast_dev_run, which answers any
    method name with a no-op)."""
    return [logger for logger in trainer.loggers if callable(getattr(type(logger), "log_image", None))]


def transitions(frames_BTHWC: torch.Tensor, window: int) -> torch.Tensor:
    """Every run of ``window + 1`` consecutive frames of each clip:
    [B, T, H, W, C] -> [B * (T - window), window + 1, H, W, C]."""
    runs_BNHWCL = frames_BTHWC.unfold(1, window + 1, 1)
    return runs_BNHWCL.movedim(-1, 2).flatten(0, 1)


class ValidationMedia(Callback):
    """``frames``: frames per picture (transitions per LAM picture, steps per dynamics strip);
    ``every_n_validations``: pictures at the first validation and every n-th one after it (never at the sanity check).

    Rank zero only; nothing is computed when no logger takes images. The pictures come from the first val batch
    (the LAM's code usage: from every val batch of rank zero; the dynamics strips: from the first val episode of the
    token store), in float32 outside autocast and without gradients."""

    def __init__(self, frames: int = 4, every_n_validations: int = 1):
        if frames < 1 or every_n_validations < 1:
            raise ValueError(f"ValidationMedia: frames and every_n_validations must be >= 1, got {frames} and "
                             f"{every_n_validations}")
        self.frames = frames
        self.every = every_n_validations
        self.validations = 0  # validations seen in this fit, sanity check excluded
        self.due = False  # whether this validation ends with pictures
        self.batch: dict[str, torch.Tensor] | None = None  # the first few clips of this validation's first batch
        self.code_counts: np.ndarray | None = None  # LAM codes of this validation's transitions
        self.tokenizers: dict[str, torch.nn.Module] = {}  # tokenizer checkpoint -> net, for the dynamics stage

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.batch, self.code_counts = None, None
        if trainer.sanity_checking:
            self.due = False
            return
        self.due = trainer.is_global_zero and self.validations % self.every == 0 and bool(image_loggers(trainer))
        self.validations += 1
        if self.due and pl_module.stage not in STAGE_PICTURES:
            log.warning("ValidationMedia: no pictures for stage %r (known: %s)", pl_module.stage,
                        ", ".join(STAGE_PICTURES))
            self.due = False

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if not self.due:
            return
        if self.batch is None:
            self.batch = {k: v[: self.frames].clone() for k, v in batch.items() if isinstance(v, torch.Tensor)}
        lam = {"lam": pl_module, "world": getattr(pl_module, "lam", None)}.get(pl_module.stage)
        if lam is not None:
            with float32(pl_module):
                codes = lam.net.infer(to_model(transitions(batch["frames"], lam.window)))
            counts = np.bincount(codes.cpu().numpy(), minlength=lam.net.num_actions)
            self.code_counts = counts if self.code_counts is None else self.code_counts + counts

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.due or self.batch is None:
            return
        with float32(pl_module):
            shown = STAGE_PICTURES[pl_module.stage](self, trainer, pl_module)
        for logger in image_loggers(trainer):
            for key, (image, caption) in shown.items():
                logger.log_image(key=f"val/{key}", images=[image], step=trainer.global_step, caption=[caption])
        self.batch, self.code_counts = None, None

    # ------------------------------------------------------------------ per stage
    def tokenizer_pictures(self, trainer, module) -> dict[str, Picture]:
        _, recon_NCHW, logs = module.compute_loss({"frames": self.batch["frames"]})
        n = self.frames
        return {"reconstruction": pictures.reconstruction(logs["target"][:n], recon_NCHW[:n].clamp(0, 1))}

    def lam_pictures(self, trainer, module) -> dict[str, Picture]:
        lam = getattr(module, "lam", module)  # the world module holds a LAMModule
        runs = to_model(transitions(self.batch["frames"], lam.window)[: self.frames])
        return {"code_usage": pictures.code_usage(self.code_counts),
                "next_frame_per_code": pictures.next_frame_per_code(lam.net, runs)}

    def dynamics_pictures(self, trainer, module) -> dict[str, Picture]:
        """From the first val episode of the token store the stage reads, long enough for one step."""
        clips = trainer.val_dataloaders.dataset  # genie.data.token_store.TokenClips
        W = module.window
        episode = next(e for e in clips.episodes if e["length"] > W)
        steps = min(self.frames, episode["length"] - W)
        tokens_Thw = torch.from_numpy(np.asarray(clips.store.array(episode["name"], "tokens")[: W + steps], np.int64))
        actions_S = torch.from_numpy(np.asarray(
            clips.store.array(episode["name"], "latent_actions")[W - 1 : W - 1 + steps], np.int64))
        tokenizer = self.tokenizer_of(clips.store.header["tokenizer"])
        device = module.device
        return pictures.dynamics_strips(module.net, tokens_Thw[:W].to(device), tokens_Thw[W:].to(device),
                                        actions_S.to(device), lambda t: tokenizer.decode(t.cpu()))

    def world_pictures(self, trainer, module) -> dict[str, Picture]:
        """The LAM's pictures, then the dynamics strips of the first val clip: its first ``window`` frames as context,
        the rest as the future, under the latent actions the LAM infers for them."""
        W = module.window
        frames_THWC = self.batch["frames"][0]
        tokens_Thw = module.tokenizer.encode(to_model(frames_THWC))
        runs = transitions(frames_THWC[None], W)  # run n ends with the move from frame W-1+n to frame W+n
        steps = min(self.frames, frames_THWC.shape[0] - W)
        actions_S = module.lam.net.infer(to_model(runs[:steps]))
        strips = pictures.dynamics_strips(module.dynamics.net, tokens_Thw[:W], tokens_Thw[W : W + steps], actions_S,
                                          module.tokenizer.decode)
        return {**self.lam_pictures(trainer, module), **strips}

    def tokenizer_of(self, checkpoint: str) -> torch.nn.Module:
        if checkpoint not in self.tokenizers:
            self.tokenizers[checkpoint] = load_module(checkpoint, "tokenizer").net.eval()
        return self.tokenizers[checkpoint]


STAGE_PICTURES: dict[str, Callable[[ValidationMedia, L.Trainer, Any], dict[str, Picture]]] = {
    "tokenizer": ValidationMedia.tokenizer_pictures,
    "lam": ValidationMedia.lam_pictures,
    "dynamics": ValidationMedia.dynamics_pictures,
    "world": ValidationMedia.world_pictures,
}


@contextmanager
def float32(module: L.LightningModule) -> Iterator[None]:
    """Pictures in float32 (autocast off) without gradients, with the module in eval mode (restored after)."""
    was_training = module.training
    module.eval()
    try:
        with torch.autocast(module.device.type, enabled=False), torch.no_grad():
            yield
    finally:
        module.train(was_training)
