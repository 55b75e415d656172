"""The supervised ceiling of the LAM's NMI: an inverse-dynamics model with the LAM encoder's architecture and inputs
(``window`` history frames + the next frame), trained on the *true* actions of the store's train split.

On random-agent CoinRun much of an action is invisible (a jump pressed in mid-air does nothing), so even this
supervised model stays well below NMI 1; a LAM is judged against this number, not against 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from genie.data.clips import PixelClips
from genie.data.store import EpisodeStore
from genie.eval.held_out import held_out_clips
from genie.eval.metrics import nmi
from genie.models.optim import WarmupCosine
from genie.nn.latent_action_net import LatentActionConfig, LatentActionNet, check_history
from genie.nn.pixels import to_model


class InverseDynamics(nn.Module):
    """frames [B, window + 1, 3, H, W] in [0, 1] -> logits of the last transition's true action [B, num_actions]
    and, where the source defines effect classes (CoinRun: left, right, jump, nothing), of its effect [B, E]."""

    def __init__(self, lam: LatentActionConfig, num_actions: int, effect_of_action: list[int] | None = None,
                 frame_size: int = 64):
        super().__init__()
        lam = replace(lam, lookahead=0)  # a label names one transition: the ceiling reads it, not where play goes next
        self.window = lam.window
        self.encoder = LatentActionNet(lam, frame_size).encoder  # the layers the LAM's codes come from
        self.inputs = check_history(lam) + 1  # the frames the LAM reads: its recent history and the next frame
        self.action_head = nn.Linear(lam.code_dim, num_actions)
        self.effect_head = None
        if effect_of_action is not None:
            self.register_buffer("effect_of_action", torch.as_tensor(effect_of_action, dtype=torch.long))
            self.effect_head = nn.Linear(lam.code_dim, max(effect_of_action) + 1)

    def forward(self, frames_BTCHW: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        z_BD = self.encoder(LatentActionNet.stack(frames_BTCHW[:, -self.inputs :]))
        return self.action_head(z_BD), None if self.effect_head is None else self.effect_head(z_BD)

    def loss(self, frames_BTCHW: torch.Tensor, actions_B: torch.Tensor) -> torch.Tensor:
        action_logits, effect_logits = self(frames_BTCHW)
        loss = F.cross_entropy(action_logits, actions_B)
        if effect_logits is not None:  # several buttons share an effect: learning the effect directly is easier
            loss = loss + F.cross_entropy(effect_logits, self.effect_of_action[actions_B])
        return loss


@dataclass
class CeilingScores:
    action_nmi: float
    effect_nmi: float | None
    accuracy: float  # of the true action
    clips: int
    effect_accuracy: float | None = None  # of the true action's effect, from the effect head


def train_inverse_dynamics(store: EpisodeStore, lam: LatentActionConfig, steps: int = 800, batch_size: int = 32,
                           lr: float = 1e-3, seed: int = 0) -> InverseDynamics:
    """Cross-entropy on the true action (and effect) of each train clip's last transition, with the stages'
    warm-up + cosine schedule."""
    if store.num_actions is None:
        raise ValueError(f"{store.root}: the store has no true actions, so there is no supervised ceiling")
    torch.manual_seed(seed)
    effects = store.effects()
    model = InverseDynamics(lam, store.num_actions, effects[0] if effects else None, store.frame_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(min(100, steps // 10 + 1), steps, final=0.0))
    loader = DataLoader(PixelClips(store.root, "train", lam.window + 1), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed), drop_last=True)
    model.train()
    done = 0
    while done < steps:
        for batch in loader:
            loss = model.loss(to_model(batch["frames"]), batch["actions"][:, -1])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            done += 1
            if done == steps:
                break
    return model.eval()


@torch.no_grad()
def ceiling_scores(model: InverseDynamics, store: EpisodeStore, split: str = "test", max_clips: int = 2048,
                   batch_size: int = 128) -> CeilingScores:
    """The model's predicted actions on held-out clips against the true actions and effects, as for the LAM."""
    clips = held_out_clips(store, split, model.window + 1, max_clips)
    actions, effects, true = [], [], []
    for start in range(0, min(len(clips), max_clips), batch_size):
        items = [clips[i] for i in range(start, min(start + batch_size, len(clips), max_clips))]
        action_logits, effect_logits = model(to_model(torch.stack([it["frames"] for it in items])))
        actions.append(action_logits.argmax(1))
        if effect_logits is not None:
            effects.append(effect_logits.argmax(1))
        true.append(torch.stack([it["actions"][-1] for it in items]))
    predicted_N, true_N = torch.cat(actions).numpy(), torch.cat(true)
    effect_nmi = effect_accuracy = None
    if effects:
        true_effects_N, predicted_effects_N = model.effect_of_action[true_N].numpy(), torch.cat(effects).numpy()
        effect_nmi = nmi(true_effects_N, predicted_effects_N)
        effect_accuracy = float((true_effects_N == predicted_effects_N).mean())
    true_N = true_N.numpy()
    return CeilingScores(nmi(true_N, predicted_N), effect_nmi, float((predicted_N == true_N).mean()), len(true_N),
                         effect_accuracy)


def supervised_ceiling(train_store: EpisodeStore, lam: LatentActionConfig, eval_stores: dict[str, EpisodeStore],
                       steps: int = 800, seed: int = 0) -> dict[str, dict]:
    """Train once on ``train_store``; score on the test split of each of ``eval_stores`` (e.g. random, scripted)."""
    model = train_inverse_dynamics(train_store, lam, steps, seed=seed)
    return {name: asdict(ceiling_scores(model, store)) for name, store in eval_stores.items()}
