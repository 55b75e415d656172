"""Dreams: roll the world model forward from real frames of a held-out episode under chosen actions."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from genie.data.store import EpisodeStore
from genie.errors import UserError
from genie.nn.pixels import to_uint8
from genie.world import WorldModel


# The dream speed is the median of this many timed repeats of the dream, after the dream itself (its first steps pick
# kernels). A single timing right after training read 275-325 frames/s where the same process settled at 350-400 a
# few dreams later (2-core Xeon, docs/experiments/2026-12-05-time-to-world.md); each repeat costs about 0.2 s.
SPEED_REPEATS = 3


@dataclass
class Dream:
    real: np.ndarray  # uint8 [T, H, W, 3], the episode's frames over the same span
    dreamed: np.ndarray  # uint8 [T, H, W, 3], first `context` frames are tokenizer reconstructions of real ones
    actions: np.ndarray  # int [T - context]: the action that produced dreamed frame context + s
    context: int
    frames_per_second: float  # dynamics + decoding, batch 1: the median of SPEED_REPEATS timed dreams after this one


def pick_episode(store: EpisodeStore, split: str, episode: int | str, min_length: int) -> str:
    episodes = store.episodes(split)
    if not episodes:
        raise UserError(f"{store.root}: no '{split}' episodes to dream from")
    if isinstance(episode, str):
        if episode not in store:
            raise UserError(f"dream.episode={episode!r}: no such episode in {store.root}")
        return episode
    long_enough = [e for e in episodes if e.length >= min_length] or sorted(episodes, key=lambda e: -e.length)
    return long_enough[episode % len(long_enough)].name


def choose_actions(spec: str | list[int], inferred: np.ndarray, steps: int, num_actions: int, seed: int) -> np.ndarray:
    """``spec``: "inferred" (the LAM's labels of the real episode), "random", or a list of ids (cycled)."""
    if spec == "inferred":
        return inferred[:steps]
    if spec == "random":
        return np.random.default_rng(seed).integers(0, num_actions, size=steps)
    ids = [int(a) for a in (spec if isinstance(spec, (list, tuple)) else str(spec).strip("[]").split(","))]
    bad = [a for a in ids if not 0 <= a < num_actions]
    if not ids or bad:
        raise UserError(f"dream.actions={spec!r}: expected 'inferred', 'random' or ids in [0, {num_actions})")
    return np.resize(np.array(ids), steps)


@torch.no_grad()
def dream_episode(world: WorldModel, store: EpisodeStore, split: str = "test", episode: int | str = 0,
                  steps: int = 64, actions: str | list[int] = "inferred", temperature: float = 0.0,
                  seed: int = 0) -> Dream:
    context = world.window
    name = pick_episode(store, split, episode, context + steps)
    frames = torch.from_numpy(np.array(store.frames(name)))
    steps = min(steps, len(frames) - context)
    inferred = world.infer_actions(frames[None])[0].cpu().numpy()[context - 1 :]
    chosen = choose_actions(actions, inferred, steps, world.num_actions, seed)
    steps = len(chosen)
    context_tokens = world.encode(frames[None, :context])
    actions_BT = torch.as_tensor(chosen)[None]

    def dream() -> torch.Tensor:
        return world.decode(world.rollout(context_tokens, actions_BT, temperature, seed))[0]

    dreamed = dream()
    seconds = statistics.median(timed(dream) for _ in range(SPEED_REPEATS))
    return Dream(
        real=frames[: context + steps].numpy(),
        dreamed=to_uint8(dreamed).cpu().numpy(),
        actions=chosen,
        context=context,
        frames_per_second=steps / max(seconds, 1e-9),
    )


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
