"""Stage 3: the dynamics model p(z_{t+1} | z_{t-W+1..t}, a_t) as a LightningModule, trained on a token store.

``action_source``: ``latent`` (the LAM's codes, label-free: the default) or ``game``: the game's true actions, each
mapped to its effect (CoinRun: LEFT / RIGHT / JUMP / NOTHING). A ``game`` world is the action-conditioned reference:
the same dynamics, told what the player pressed, which separates what the dynamics can express from what the latent
actions carry (docs/evaluation.md, "Key response").

``action_balance``: training clips drawn with weight ``count(action) ** -action_balance`` by the action of the
transition predicted first (genie/data/action_balance.py): rare actions seen more often. ``action_balance_history``
h > 0: balanced by the run of that action and the h before it, so a change of action (a walk started from rest) is
drawn more often than the same action held."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from genie.data.action_balance import ActionBalance
from genie.errors import UserError
from genie.models.optim import configure_optimization
from genie.nn.cnn_forecaster import CNNForecaster, CNNForecasterConfig
from genie.nn.maskgit import MaskGITConfig, MaskGITDynamics


ACTION_SOURCES = ("latent", "game")


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
                 optimizer: dict[str, Any] | None = None, scheduler: dict[str, Any] | None = None,
                 action_source: str = "latent", effect_of_action: list[int] | None = None,
                 effect_names: list[str] | None = None, action_balance: float = 0.5,
                 action_balance_history: int = 1):
        super().__init__()
        self.save_hyperparameters()
        if action_balance < 0:
            raise UserError(f"model.dynamics.action_balance: must be >= 0 (0: clips drawn uniformly), "
                            f"got {action_balance}")
        if action_source not in ACTION_SOURCES:
            raise UserError(f"model.dynamics.action_source: unknown {action_source!r} "
                            f"(known: {', '.join(ACTION_SOURCES)})")
        if action_source == "game" and not effect_of_action:
            raise UserError("model.dynamics.action_source=game needs a store whose true actions have known effects")
        # true action id -> effect id (the conditioning of a ``game`` world)
        self.register_buffer("effect_of_action", torch.tensor(effect_of_action or [0], dtype=torch.long),
                             persistent=False)
        # channels-last convolutions: ~1.1x the training steps/s of the default layout on a 2-core AVX2 CPU
        self.net = build_dynamics_net(kind, net).to(memory_format=torch.channels_last)
        if not 0 <= action_balance_history <= self.predicted_action_position:
            raise UserError(f"model.dynamics.action_balance_history: between 0 and the {self.predicted_action_position} "
                            f"actions a clip holds before the predicted one, got {action_balance_history}")

    @property
    def window(self) -> int:
        return self.net.cfg.window

    @property
    def clip_len(self) -> int:
        """Frames per training clip: window + 1, or more where the net trains on its own rollouts."""
        return getattr(self.net, "clip_len", self.window + 1)

    @property
    def predicted_action_position(self) -> int:
        """Index, in a training clip's actions, of the transition predicted first."""
        return getattr(self.net, "history_frames", self.window) - 1

    def action_balance(self) -> ActionBalance:
        """How training clips are drawn: by the action (as the net reads it) of the first predicted transition, and
        the ``action_balance_history`` before it."""
        hp = self.hparams
        effects = tuple(hp.effect_of_action) if hp.action_source == "game" else None
        return ActionBalance(self.predicted_action_position, hp.action_balance, effects, hp.action_balance_history)

    def compute_loss(self, batch: dict[str, torch.Tensor]):
        """Every dynamics net implements ``compute_loss(tokens [B, T, h, w], actions [B, T-1])`` and
        ``predict_next(history [B, window, h, w], action [B], temperature, generator) -> tokens [B, h, w]``."""
        if self.hparams.action_source == "game":
            return self.net.compute_loss(batch["tokens"], self.effect_of_action[batch["actions"]])
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
