"""Does the dream move like the game? Two label-free checks on what a player sees.

* **Walk from rest** (``walk_from_rest``): from held-out states where the world stands still (the last ``window``
  real frames identical), each latent action is held for ``steps`` dreamed frames, and the camera's travel is
  measured from the decoded frames (``camera_shift``: the whole-frame translation that best explains each step).
  A world a player can walk in has a code that carries the camera right from rest and one that carries it left;
  the same measurement on the real frames that follow such rests is the reference (``motion/real_*``).
* **Frozen worlds** (``frozen_rate``): the share of rollouts whose frame did not change at all over the last
  ``span`` steps, although the policy kept changing keys; on real frames a world only freezes while nobody presses
  anything.
"""

from __future__ import annotations

import numpy as np
import torch

from genie.data.store import EpisodeStore
from genie.nn.camera import MOVE_PER_GAME_FRAME, camera_shift, search_radius
from genie.world import WorldModel


def store_frameskip(store: EpisodeStore) -> int:
    """Game frames per stored frame (1 unless the store was recorded with a frameskip)."""
    return int(store.manifest.get("extra", {}).get("frameskip", 1))


def rest_windows(store: EpisodeStore, split: str, window: int, steps: int, count: int) -> np.ndarray:
    """Up to ``count`` real stretches of ``window + steps`` frames whose first ``window`` frames are identical (the
    world at rest), spread over the split's episodes: uint8 [N, window + steps, H, W, 3]."""
    found = []
    for e in store.episodes(split):
        frames = store.frames(e.name)
        for t in range(window - 1, len(frames) - steps):
            if (frames[t - window + 1 : t + 1] == frames[t]).all() and (frames[t + 1] != frames[t]).any():
                found.append(frames[t - window + 1 : t + 1 + steps])
                break  # one per episode: many levels, not one long rest
        if len(found) >= count:
            break
    if not found:
        return np.zeros((0, window + steps, store.frame_size, store.frame_size, 3), np.uint8)
    return np.stack(found)


@torch.no_grad()
def travel(world: WorldModel, tokens_BThw: torch.Tensor, radius: int = MOVE_PER_GAME_FRAME) -> torch.Tensor:
    """Camera travel per step over a sequence of token frames: float [B, T - 1, 2] (dx, dy) in pixels, each step
    looked for up to ``radius`` pixels."""
    frames = world.decode(tokens_BThw).float().cpu()
    return torch.stack([camera_shift(frames[:, t], frames[:, t + 1], radius) for t in range(frames.shape[1] - 1)], 1)


@torch.no_grad()
def held_code_moves(world: WorldModel, history_NThw: torch.Tensor, steps: int, radius: int) -> torch.Tensor:
    """Each latent action held ``steps`` dreamed frames after each history: the camera's move at every step,
    float [K, N, steps, 2] (dx, dy) in pixels."""
    moves = []
    for a in range(world.num_actions):
        dreamed = world.rollout(history_NThw, torch.full((len(history_NThw), steps), a))[:, world.window - 1 :].cpu()
        moves.append(travel(world, dreamed, radius))
    return torch.stack(moves)


@torch.no_grad()
def walk_from_rest(world: WorldModel, store: EpisodeStore, split: str, steps: int = 24, count: int = 32,
                   min_travel: float = 2.0) -> dict[str, float]:
    """Camera travel in pixels over ``steps`` frames after a rest: under each latent action held
    (``motion/code{a}_dx``, ``_dy``), and the farthest any code goes right / left / up (``motion/reach_right``,
    ``_left``, ``_up``). The reference is how far the real game went in the frames after those rests, over the
    rests the player left in that direction (more than ``min_travel`` pixels; ``motion/real_reach_right`` ...,
    and how many did, ``motion/real_rests_right`` ...). Moves are looked for as far as the store's frameskip allows."""
    rests = rest_windows(store, split, world.window, steps, count)
    if not len(rests):
        return {}
    radius = search_radius(store_frameskip(store))
    real_tokens = world.encode(torch.from_numpy(rests)).cpu()
    metrics: dict[str, float] = {"motion/rests": float(len(rests)), "motion/steps": float(steps)}
    codes = held_code_moves(world, real_tokens[:, : world.window], steps, radius).sum(2).mean(1)  # [K, 2]
    for a, (dx, dy) in enumerate(codes.tolist()):
        metrics[f"motion/code{a}_dx"], metrics[f"motion/code{a}_dy"] = dx, dy
    metrics["motion/reach_right"] = max(0.0, float(codes[:, 0].max()))
    metrics["motion/reach_left"] = max(0.0, float((-codes[:, 0]).max()))
    metrics["motion/reach_up"] = max(0.0, float((-codes[:, 1]).max()))
    real = travel(world, real_tokens[:, world.window - 1 :], radius).sum(1)  # [N, 2]
    for name, along in (("right", real[:, 0]), ("left", -real[:, 0]), ("up", -real[:, 1])):
        went = along[along > min_travel]
        metrics[f"motion/real_reach_{name}"] = float(went.mean()) if len(went) else 0.0
        metrics[f"motion/real_rests_{name}"] = float(len(went))
    return metrics


def frozen_rate(before_Rhw: torch.Tensor, after_Rhw: torch.Tensor) -> float:
    """The share of rollouts whose tokens are identical at two steps: float."""
    return float((before_Rhw == after_Rhw).flatten(1).all(1).float().mean())
