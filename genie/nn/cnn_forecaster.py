"""CNN residual forecaster: tokens of the last W frames + latent action a_t -> logits of z_{t+1}, in one pass.

Tokens are embedded and stacked over time on channels, then a stack of dilated residual blocks (FiLM-conditioned
on the action) sees the whole 16x16 grid. A learned *copy prior* adds ``copy_bias * onehot(z_t)`` to the logits, so
the network only has to model what changes: most tokens of a game frame stay put from one step to the next.

Holding together over long rollouts. Trained only on real histories, a forecaster never sees its own mistakes, and
in a dream its history is nothing but its own output (exposure bias). With ``unroll`` > 1 each training clip has
window + unroll frames: after the first prediction from real history, the next ``unroll - 1`` steps read the model's
own (argmax, detached) predictions as history, and every step's cross-entropy counts
(docs/experiments/2026-12-02-long-play-dynamics.md).

Carrying an action through time. With ``action_history`` A > 1 the action conditioning reads the last A actions
(the current one and the A - 1 before it), mixed by a small MLP, so a held key can build up speed the way the game's
physics does (a walk from rest accelerates over several frames). Past actions a rollout does not know (those before
its real context) are ``UNKNOWN``; training hides the oldest past actions of a share of clips the same way, so a
dream starting from real frames reads what it will see.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genie.nn.blocks import FiLMResBlock


MODULATION_CACHE_SIZE = 4096  # runs of recent actions whose FiLM modulations a batch-1 dream keeps


@dataclass
class CNNForecasterConfig:
    num_codes: int = 512
    num_actions: int = 16
    window: int = 4
    token_dim: int = 32
    hidden: int = 128
    action_dim: int = 64
    dilations: tuple[int, ...] = (1, 2, 4, 8)
    unroll: int = 1  # training steps per clip; steps after the first read the model's own predictions
    action_history: int = 1  # actions the conditioning reads: the current one and the action_history - 1 before it
    unknown_past: float = 0.25  # with action_history > 1: share of training clips whose oldest past actions are hidden


class CNNForecaster(nn.Module):
    def __init__(self, cfg: CNNForecasterConfig):
        super().__init__()
        if cfg.unroll < 1:
            raise ValueError(f"model.dynamics.net.unroll: must be >= 1, got {cfg.unroll}")
        if cfg.action_history < 1:
            raise ValueError(f"model.dynamics.net.action_history: must be >= 1, got {cfg.action_history}")
        self.cfg = cfg
        self.token_embedding = nn.Embedding(cfg.num_codes, cfg.token_dim)
        self.action_embedding = nn.Embedding(cfg.num_actions + 1, cfg.action_dim)  # the last: UNKNOWN
        self.action_mixer = None
        if cfg.action_history > 1:
            self.action_mixer = nn.Sequential(nn.Linear(cfg.action_history * cfg.action_dim, cfg.action_dim),
                                              nn.SiLU(), nn.Linear(cfg.action_dim, cfg.action_dim))
        self.stem = nn.Conv2d(cfg.window * cfg.token_dim, cfg.hidden, 3, padding=1)
        self.blocks = nn.ModuleList([FiLMResBlock(cfg.hidden, cfg.action_dim, d) for d in cfg.dilations])
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(cfg.hidden, cfg.num_codes, 1))
        self.copy_bias = nn.Parameter(torch.tensor(3.0))
        self._modulation_cache: dict[tuple, list[tuple[torch.Tensor, torch.Tensor]]] = {}

    @property
    def unknown_action(self) -> int:
        """The index of an action nobody knows (before a rollout's real context)."""
        return self.cfg.num_actions

    @property
    def history_frames(self) -> int:
        """Frames of a training clip before the first predicted one: enough for the tokens and the actions."""
        return max(self.cfg.window, self.cfg.action_history)

    @property
    def clip_len(self) -> int:
        """Frames per training clip."""
        return self.history_frames + self.cfg.unroll

    def recent_actions(self, actions_BA: torch.Tensor) -> torch.Tensor:
        """Actions int [B] (the current one) or [B, A'] (oldest first, the current last) -> [B, action_history]:
        the most recent ``action_history``, left-padded with UNKNOWN."""
        if actions_BA.dim() == 1:
            actions_BA = actions_BA[:, None]
        A = self.cfg.action_history
        missing = A - actions_BA.shape[1]
        if missing > 0:
            pad = actions_BA.new_full((len(actions_BA), missing), self.unknown_action)
            actions_BA = torch.cat([pad, actions_BA], dim=1)
        return actions_BA[:, -A:]

    def action_condition(self, actions_BA: torch.Tensor) -> torch.Tensor:
        """[B] or [B, A'] actions -> the conditioning vector [B, action_dim]."""
        e_BAE = self.action_embedding(self.recent_actions(actions_BA))
        if self.action_mixer is None:
            return e_BAE[:, -1]
        return self.action_mixer(e_BAE.flatten(1))

    def modulations(self, actions_BA: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Each block's FiLM (scale, shift) [B, hidden, 1, 1] under the actions ([B] or [B, A'])."""
        a_BE = self.action_condition(actions_BA)
        return [block.modulation(a_BE) for block in self.blocks]

    def forward(self, tokens_BThw: torch.Tensor, actions_BA: torch.Tensor,
                modulations: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
        """tokens int [B, window, h, w], actions int [B] (the current one) or [B, A'] (the recent ones, the current
        last; see ``recent_actions``) -> logits [B, num_codes, h, w] of the next frame. ``modulations``: the
        actions' ``modulations``, where the caller has them already."""
        B, T, h, w = tokens_BThw.shape
        if T != self.cfg.window:
            raise ValueError(f"CNN forecaster expects {self.cfg.window} history frames, got {T}")
        e_BThwE = self.token_embedding(tokens_BThw)
        x = self.stem(e_BThwE.permute(0, 1, 4, 2, 3).reshape(B, -1, h, w))
        for block, (scale, shift) in zip(self.blocks, modulations or self.modulations(actions_BA)):
            x = block.modulated(x, scale, shift)
        logits_BKhw = self.head(x)
        # the copy prior, added in place at each position's current code (a one-hot [B, K, h, w] would cost more
        # memory traffic than the head itself)
        copy_B1hw = self.copy_bias.to(logits_BKhw.dtype).expand(B, 1, h, w)
        return logits_BKhw.scatter_add(1, tokens_BThw[:, -1:], copy_B1hw)

    def hide_old_actions(self, actions_BT: torch.Tensor) -> torch.Tensor:
        """In a share (``unknown_past``) of the clips, the past actions older than a random number of steps become
        UNKNOWN, as before a rollout's real context. int [B, T] -> int [B, T]."""
        if self.cfg.action_history == 1 or not self.training:
            return actions_BT
        B, T = actions_BT.shape
        known = torch.randint(0, self.cfg.action_history, (B, 1), device=actions_BT.device)  # past steps still known
        hidden = torch.rand(B, 1, device=actions_BT.device) < self.cfg.unknown_past
        first_known = self.history_frames - 1 - known  # the current action of the first step is never hidden
        old = torch.arange(T, device=actions_BT.device)[None] < first_known
        return actions_BT.masked_fill(hidden & old, self.unknown_action)

    def compute_loss(self, tokens_BThw: torch.Tensor, actions_BT: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Next-frame loss on a clip: tokens int [B, H + unroll, h, w], actions int [B, H + unroll - 1]
        (``actions[:, t]`` moves frame t to t+1; H = ``history_frames``). Step j predicts frame H + j from the
        ``window`` frames and ``action_history`` actions before it; from j = 1 on, the history ends in the model's
        own predictions. Token accuracy is the first step's."""
        H, W, A = self.history_frames, self.cfg.window, self.cfg.action_history
        steps = tokens_BThw.shape[1] - H
        if steps < 1:
            raise ValueError(f"CNN forecaster needs clips of {self.clip_len} frames, got {tokens_BThw.shape[1]}")
        actions_BT = self.hide_old_actions(actions_BT)
        history = tokens_BThw[:, H - W : H]
        losses, first_accuracy = [], None
        for j in range(steps):
            target = tokens_BThw[:, H + j]
            logits_BKhw = self(history, actions_BT[:, H + j - A : H + j])
            losses.append(F.cross_entropy(logits_BKhw.float(), target))
            predicted = logits_BKhw.argmax(1).detach()
            if first_accuracy is None:
                first_accuracy = (predicted == target).float().mean()
            history = torch.cat([history[:, 1:], predicted[:, None]], dim=1)
        logs = {"token_accuracy": first_accuracy}
        if steps > 1:
            logs["unrolled_loss"] = torch.stack(losses[1:]).mean().detach()
        return torch.stack(losses).mean(), logs

    def cached_modulations(self, actions_BA: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        """A single dream's FiLM modulations, computed once per run of recent actions (the same batch-1 arithmetic,
        so the same numbers): a step then runs only the convolutions (1.15x a batch-1 step on a CPU). None for
        batches. Keyed also by the weights' version, dtype and device and the autocast state, so a net trained,
        loaded, cast or moved since never reads a stale entry."""
        if len(actions_BA) != 1:
            return None
        weights = [self.action_embedding.weight, *(p for b in self.blocks for p in b.film.parameters())]
        if self.action_mixer is not None:
            weights += list(self.action_mixer.parameters())
        device = actions_BA.device.type
        key = (tuple(actions_BA.reshape(-1).tolist()), torch.is_autocast_enabled(device),
               torch.get_autocast_dtype(device), *((w.dtype, w.device, w._version) for w in weights))
        if key not in self._modulation_cache:
            if len(self._modulation_cache) >= MODULATION_CACHE_SIZE:
                self._modulation_cache.clear()
            self._modulation_cache[key] = self.modulations(actions_BA)
        return self._modulation_cache[key]

    @torch.no_grad()
    def predict_next(
        self, tokens_BThw: torch.Tensor, actions_BA: torch.Tensor, temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Next frame's tokens int64 [B, h, w]: argmax at temperature 0, else sampled from softmax(logits / T).
        ``actions_BA``: int [B] (the current action) or [B, A'] (the recent ones, the current last)."""
        logits_BKhw = self(tokens_BThw, actions_BA, self.cached_modulations(actions_BA))
        if temperature <= 0:  # bf16 -> float32 is exact: the argmax of either is the same
            # the first maximum, as argmax; 2-3x faster than argmax over channels on a CPU (1.1x a batch-1 step)
            return logits_BKhw.max(1).indices
        logits_BKhw = logits_BKhw.float()
        B, K, h, w = logits_BKhw.shape
        probs = F.softmax(logits_BKhw.permute(0, 2, 3, 1).reshape(-1, K) / temperature, dim=-1)
        return torch.multinomial(probs, 1, generator=generator).reshape(B, h, w)
