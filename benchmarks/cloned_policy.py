"""Behaviour cloning from unlabelled video, played in the real game (the Genie paper's CoinRun case study).

A policy reads the last two frames of a competent player's videos and learns to predict, at each step, either the
*latent action* the LAM infers for that step (no labels: the videos alone) or the true button (the oracle, every
label). The latent policy's codes become buttons through a map fitted on ``n`` labelled transitions (each code ->
the button it most often came with, genie/eval/grounding.py). Both are then played in procgen CoinRun on held-out
levels: the share of levels finished (the coin reached) is the score.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genie.data.coinrun import LEVEL_OFFSETS, make_env
from genie.data.store import EpisodeStore
from genie.nn.pixels import to_model
from genie.world import infer_latent_actions

Policy = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (obs uint8 [N, H, W, 3], first bool [N]) -> buttons [N]


class BCPolicy(nn.Module):
    """frames uint8 [B, 2, H, W, 3] (the previous and the current frame) -> logits [B, classes]."""

    def __init__(self, classes: int, hidden: int = 64, frame_size: int = 64):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(6, hidden // 2, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(hidden // 2, hidden, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(hidden, hidden, 4, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(), nn.Linear(hidden * (frame_size // 8) ** 2, 256), nn.ReLU(), nn.Linear(256, classes),
        )

    def forward(self, frames_BTHWC: torch.Tensor) -> torch.Tensor:
        return self.net(to_model(frames_BTHWC).flatten(1, 2))


@dataclass
class Demonstrations:
    """Every step of a store's episodes: the frame pairs a policy reads, the true buttons and the latent actions."""

    frames: list[np.ndarray]  # per episode uint8 [T, H, W, 3]
    actions: np.ndarray  # int64 [N]: the true button of each step
    codes: np.ndarray  # int64 [N]: the LAM's code of each step
    index: np.ndarray  # int64 [N, 2]: (episode, t) of each step

    @classmethod
    def from_store(cls, store: EpisodeStore, split: str, lam) -> "Demonstrations":
        frames, actions, codes, index = [], [], [], []
        for e in store.episodes(split):
            episode_frames = store.read_frames(e.name, 0, e.length)
            true = store.actions(e.name)
            if true is None:
                raise ValueError(f"{store.root}: episode {e.name} has no true actions")
            frames.append(episode_frames)
            actions.append(np.asarray(true, np.int64))
            codes.append(infer_latent_actions(lam, torch.from_numpy(episode_frames)).cpu().numpy())
            index.append(np.stack([np.full(len(true), len(frames) - 1), np.arange(len(true))], 1))
        return cls(frames, np.concatenate(actions), np.concatenate(codes), np.concatenate(index))

    def pairs(self, rows: np.ndarray) -> torch.Tensor:
        """uint8 [len(rows), 2, H, W, 3]: the frame before each step (itself at an episode's start) and its frame."""
        out = []
        for episode, t in self.index[rows]:
            f = self.frames[episode]
            out.append(np.stack([f[max(t - 1, 0)], f[t]]))
        return torch.from_numpy(np.stack(out))


def clone(demos: Demonstrations, targets: np.ndarray, classes: int, steps: int = 1500, batch_size: int = 64,
          lr: float = 1e-3, seed: int = 0) -> BCPolicy:
    """Cross-entropy of ``targets`` (int [N], one per step of ``demos``) from the frame pairs."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    policy = BCPolicy(classes)
    optimiser = torch.optim.AdamW(policy.parameters(), lr=lr)
    target = torch.from_numpy(targets)
    for _ in range(steps):
        rows = rng.integers(0, len(targets), batch_size)
        loss = F.cross_entropy(policy(demos.pairs(rows)), target[rows])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return policy.eval()


class ClonedPlayer:
    """A BC policy as a player: samples its class from the softmax and turns it into a button (``to_button``)."""

    def __init__(self, policy: BCPolicy, to_button: np.ndarray, seed: int = 0):
        self.policy, self.to_button = policy, np.asarray(to_button)
        self.generator = torch.Generator().manual_seed(seed)
        self.previous: np.ndarray | None = None

    @torch.no_grad()
    def __call__(self, obs_NHWC: np.ndarray, first_N: np.ndarray) -> np.ndarray:
        if self.previous is None:
            self.previous = obs_NHWC.copy()
        self.previous[first_N] = obs_NHWC[first_N]  # an episode's first frame has no frame before it
        pairs = torch.from_numpy(np.stack([self.previous, obs_NHWC], 1))
        probs = F.softmax(self.policy(pairs).float(), dim=1)
        self.previous = obs_NHWC.copy()
        return self.to_button[torch.multinomial(probs, 1, generator=self.generator)[:, 0].numpy()]


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
