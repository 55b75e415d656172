"""Synthetic "moving sprite" worlds with known actions, for fast deterministic tests.

Each episode is one *level* (seeded background colour and distractor). The controllable sprite moves by
``ACTION_DELTAS[a]`` between frame t and frame t+1 when action ``a = actions[t]`` is taken (DESIGN §3 alignment),
clamped to the frame. A distractor sprite bounces on its own, so that not every change is caused by the action.
"""

from __future__ import annotations

import numpy as np

from genie.data.store import SPLITS, EpisodeStore

ACTION_MEANINGS = ["noop", "left", "right", "up", "down"]
ACTION_DELTAS = np.array([(0, 0), (0, -1), (0, 1), (-1, 0), (1, 0)])  # (dy, dx) in units of `speed` pixels


def render(frame_size: int, background: np.ndarray, sprites: list[tuple[int, int, int, np.ndarray]]) -> np.ndarray:
    """Draw square sprites ``(y, x, size, rgb)`` over a background; returns uint8 [H, W, 3]."""
    frame = np.broadcast_to(background, (frame_size, frame_size, 3)).copy()
    for y, x, size, rgb in sprites:
        frame[y : y + size, x : x + size] = rgb
    return frame


def synthetic_episode(
    rng: np.random.Generator, frame_size: int, length: int, sticky: float = 0.7
) -> tuple[np.ndarray, np.ndarray]:
    """Returns frames uint8 [T, H, W, 3] and actions int [T-1] with actions[t] moving frames[t] -> frames[t+1]."""
    size = max(frame_size // 8, 2)
    speed = max(frame_size // 32, 1)
    limit = frame_size - size
    background = (rng.integers(20, 100, size=3)).astype(np.uint8)
    player_rgb = np.array([240, 220, 40], np.uint8)
    distractor_rgb = (rng.integers(120, 256, size=3)).astype(np.uint8)
    py, px = rng.integers(0, limit + 1, size=2)
    dy, dx = rng.integers(0, limit + 1, size=2)
    vy, vx = rng.choice([-speed, speed], size=2)
    actions = np.zeros(length - 1, np.int64)
    action = int(rng.integers(len(ACTION_MEANINGS)))
    frames = []
    for t in range(length):
        frames.append(render(frame_size, background, [(dy, dx, size, distractor_rgb), (py, px, size, player_rgb)]))
        if t == length - 1:
            break
        if rng.random() > sticky:
            action = int(rng.integers(len(ACTION_MEANINGS)))
        actions[t] = action
        py = int(np.clip(py + ACTION_DELTAS[action][0] * speed, 0, limit))
        px = int(np.clip(px + ACTION_DELTAS[action][1] * speed, 0, limit))
        if not 0 <= dy + vy <= limit:
            vy = -vy
        if not 0 <= dx + vx <= limit:
            vx = -vx
        dy, dx = dy + vy, dx + vx
    return np.stack(frames), actions


def generate_synthetic(
    root: str, frame_size: int, episodes: dict[str, int], episode_len: int, seed: int = 0
) -> EpisodeStore:
    """Write (or finish writing) a synthetic store; deterministic given ``seed``."""
    store = EpisodeStore.create(
        root, source="synthetic", frame_size=frame_size, num_actions=len(ACTION_MEANINGS),
        action_meanings=ACTION_MEANINGS,
        extra={"action_effects": list(range(len(ACTION_MEANINGS))), "effect_names": ACTION_MEANINGS},
    )
    for split_index, split in enumerate(SPLITS):
        for i in range(episodes.get(split, 0)):
            name = f"{split}_{i:05d}"
            if name in store:
                continue
            level_seed = seed * 1_000_003 + split_index * 100_000 + i
            frames, actions = synthetic_episode(np.random.default_rng(level_seed), frame_size, episode_len)
            store.add_episode(name, frames, actions, split=split, meta={"level_seed": level_seed})
    store.mark_complete()
    return store
