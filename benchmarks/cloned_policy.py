"""Behaviour cloning from unlabelled video, played in the real game (the Genie paper's CoinRun case study).

A policy reads the last few frames of a competent player's videos (and, if asked, the classes of the steps before)
and learns to predict, at each step, either the *latent action* the LAM infers for that step (no labels: the videos
alone) or the true button (the oracle, every label). The latent policy's codes become buttons through a map fitted
on ``n`` labelled transitions (each code -> the button it most often came with). Both are then played in procgen
CoinRun on held-out levels: the share of levels finished (the coin reached) is the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genie.data.coinrun import LEVEL_OFFSETS, NOOP, make_env
from genie.data.store import EpisodeStore
from genie.nn.pixels import to_model
from genie.world import infer_latent_actions

Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (obs uint8 [N, H, W, 3], first bool [N]) -> buttons [N]


@dataclass
class CloneConfig:
    frames: int = 2  # frames the policy reads: the current one and those before it
    previous: int = 0  # classes of the steps before the current frame the policy reads (0: none)
    hidden: int = 64
    steps: int = 1500  # optimiser steps
    batch_size: int = 64
    lr: float = 1e-3
    bf16: bool = False  # train and play under bf16 autocast (2x the steps/s on a native-bf16 CPU)


class BCPolicy(nn.Module):
    """frames uint8 [B, F, H, W, 3] (the last F frames, oldest first) and, with ``previous`` > 0, the classes of the
    steps before the current frame int64 [B, previous] (``classes`` where there was none: before an episode's start)
    -> logits [B, classes]."""

    def __init__(self, classes: int, frames: int = 2, previous: int = 0, hidden: int = 64, frame_size: int = 64):
        super().__init__()
        self.classes, self.frames, self.previous = classes, frames, previous
        self.features = nn.Sequential(
            nn.Conv2d(3 * frames, hidden // 2, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(hidden // 2, hidden, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(hidden * (frame_size // 8) ** 2 + previous * (classes + 1), 256),
                                  nn.ReLU(), nn.Linear(256, classes))

    def forward(self, frames_BFHWC: torch.Tensor, previous_BP: torch.Tensor | None = None) -> torch.Tensor:
        x_BD = self.features(to_model(frames_BFHWC).flatten(1, 2))
        if self.previous:
            x_BD = torch.cat([x_BD, F.one_hot(previous_BP, self.classes + 1).flatten(1).to(x_BD.dtype)], 1)
        return self.head(x_BD)


@dataclass
class Demonstrations:
    """Every step of a player's episodes: the frames a policy reads, the true buttons and the latent actions."""

    frames: list[np.ndarray]  # per episode uint8 [T, H, W, 3]
    actions: np.ndarray  # int64 [N]: the true button of each step
    codes: np.ndarray  # int64 [N]: the LAM's code of each step
    index: np.ndarray  # int64 [N, 2]: (episode, t) of each step, episode by episode

    @classmethod
    def from_episodes(cls, frames: list[np.ndarray], actions: list[np.ndarray], lam) -> "Demonstrations":
        """Episodes of frames uint8 [T, H, W, 3] and buttons int [T-1]; the LAM labels each step."""
        codes = [infer_latent_actions(lam, torch.from_numpy(f)).cpu().numpy() for f in frames]
        index = [np.stack([np.full(len(a), e), np.arange(len(a))], 1) for e, a in enumerate(actions)]
        return cls(frames, np.concatenate(actions).astype(np.int64), np.concatenate(codes), np.concatenate(index))

    @classmethod
    def from_store(cls, store: EpisodeStore, split: str, lam) -> "Demonstrations":
        frames, actions = [], []
        for e in store.episodes(split):
            true = store.actions(e.name)
            if true is None:
                raise ValueError(f"{store.root}: episode {e.name} has no true actions")
            frames.append(store.read_frames(e.name, 0, e.length))
            actions.append(np.asarray(true, np.int64))
        return cls.from_episodes(frames, actions, lam)

    def windows(self, rows: np.ndarray, count: int) -> torch.Tensor:
        """uint8 [len(rows), count, H, W, 3]: the ``count`` frames up to each step's own, oldest first (an episode's
        first frame repeated before its start)."""
        out = []
        for episode, t in self.index[rows]:
            out.append(self.frames[episode][np.maximum(np.arange(t - count + 1, t + 1), 0)])
        return torch.from_numpy(np.stack(out))

    def previous(self, rows: np.ndarray, targets: np.ndarray, count: int, none: int) -> torch.Tensor:
        """int64 [len(rows), count]: ``targets`` of the ``count`` steps before each step, oldest first (``none``
        before its episode's start)."""
        back_RP = np.arange(-count, 0)[None] + rows[:, None]
        inside_RP = back_RP >= rows[:, None] - self.index[rows, 1:2]
        return torch.from_numpy(np.where(inside_RP, targets[np.maximum(back_RP, 0)], none))


def clone(demos: Demonstrations, targets: np.ndarray, classes: int, cfg: CloneConfig = CloneConfig(),
          rows: np.ndarray | None = None, seed: int = 0) -> BCPolicy:
    """Cross-entropy of ``targets`` (int [N], one per step of ``demos``) from the frames (and previous targets),
    learnt on the steps ``rows`` (default: all), drawn uniformly."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rows = np.arange(len(targets)) if rows is None else np.asarray(rows)
    policy = BCPolicy(classes, cfg.frames, cfg.previous, cfg.hidden)
    optimiser = torch.optim.AdamW(policy.parameters(), lr=cfg.lr)
    target_N = torch.from_numpy(targets)
    for _ in range(cfg.steps):
        batch = rows[rng.integers(0, len(rows), cfg.batch_size)]
        previous = demos.previous(batch, targets, cfg.previous, classes) if cfg.previous else None
        with torch.autocast("cpu", torch.bfloat16, enabled=cfg.bf16):
            logits = policy(demos.windows(batch, cfg.frames), previous)
        loss = F.cross_entropy(logits.float(), target_N[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return policy.eval()


class ClonedPlayer:
    """A BC policy as a player: it keeps each env's last frames (and chosen classes), samples its class from the
    softmax (a uniformly random class instead with probability ``epsilon``) and turns it into a button
    (``to_button``). Called with ``playing`` (bool [N]), it reads and plays only those envs (the rest get NOOP).
    ``bf16``: the policy runs under bf16 autocast."""

    def __init__(self, policy: BCPolicy, to_button: np.ndarray, seed: int = 0, epsilon: float = 0.0,
                 bf16: bool = False):
        self.policy, self.to_button, self.epsilon, self.bf16 = policy, np.asarray(to_button), epsilon, bf16
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.frames_NFHWC: np.ndarray | None = None
        self.previous_NP: np.ndarray | None = None

    def remember(self, obs_NHWC: np.ndarray, first_N: np.ndarray) -> None:
        """The newest frame joins each env's window; an episode's first frame fills its window, its history none."""
        if self.frames_NFHWC is None:
            self.frames_NFHWC = np.repeat(obs_NHWC[:, None], self.policy.frames, 1)
            self.previous_NP = np.full((len(obs_NHWC), self.policy.previous), self.policy.classes)
        self.frames_NFHWC = np.concatenate([self.frames_NFHWC[:, 1:], obs_NHWC[:, None]], 1)
        self.frames_NFHWC[first_N] = obs_NHWC[first_N][:, None]
        self.previous_NP[first_N] = self.policy.classes

    @torch.no_grad()
    def __call__(self, obs_NHWC: np.ndarray, first_N: np.ndarray, playing_N: np.ndarray | None = None) -> np.ndarray:
        self.remember(obs_NHWC, np.asarray(first_N, bool))
        rows = np.arange(len(obs_NHWC)) if playing_N is None else np.nonzero(playing_N)[0]
        buttons_N = np.full(len(obs_NHWC), NOOP)
        if len(rows) == 0:
            return buttons_N
        with torch.autocast("cpu", torch.bfloat16, enabled=self.bf16):
            logits = self.policy(torch.from_numpy(self.frames_NFHWC[rows]), torch.from_numpy(self.previous_NP[rows]))
        sampled_R = torch.multinomial(F.softmax(logits.float(), 1), 1, generator=self.generator)[:, 0].numpy()
        random_R = self.rng.integers(0, self.policy.classes, len(rows))
        classes_R = np.where(self.rng.random(len(rows)) < self.epsilon, random_R, sampled_R)
        self.previous_NP[rows] = np.concatenate([self.previous_NP[rows, 1:], classes_R[:, None]], 1)
        buttons_N[rows] = self.to_button[classes_R]
        return buttons_N


def play_coinrun(make_player: Callable[[Any], Policy], split: str = "test", levels: int = 100,
                 episodes_per_env: int = 4, num_envs: int = 32, distribution_mode: str = "easy", seed: int = 0,
                 max_steps: int = 20_000) -> dict[str, float]:
    """Play ``episodes_per_env`` episodes in each of ``num_envs`` CoinRun envs on the split's levels (procgen's own
    episode ends: the coin, a death, or its 1 000-step limit); ``make_player(env)`` gives the player (the expert
    looks ahead in ``env``; the others ignore it). -> {success (share of episodes that reached the coin), reward
    (mean episode reward), episodes, steps}."""
    env = make_env(num_envs, LEVEL_OFFSETS[split], levels, distribution_mode, seed)
    player = make_player(env)
    _, obs, _ = env.observe()
    first = np.ones(num_envs, bool)  # every env starts an episode
    done = np.zeros(num_envs, np.int64)
    returns, episode_return, steps = [], np.zeros(num_envs), 0
    while (done < episodes_per_env).any() and steps < max_steps:
        env.act(player(obs["rgb"], first))
        reward, obs, first = env.observe()
        first = np.asarray(first, bool)
        episode_return += reward
        steps += 1
        for i in np.nonzero(first)[0]:
            if done[i] < episodes_per_env:
                returns.append(float(episode_return[i]))
                done[i] += 1
            episode_return[i] = 0.0
    del env
    returns_N = np.asarray(returns)
    return {"success": float((returns_N > 0).mean()) if len(returns_N) else 0.0,
            "reward": float(returns_N.mean()) if len(returns_N) else 0.0, "episodes": len(returns_N), "steps": steps}
