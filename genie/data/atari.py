"""Atari episodes (Arcade Learning Environment, ROMs shipped with ale-py) played by a random agent, with true actions.

Every game episode is reset with its own environment seed from its split's range (train from 0, val from 100 000,
test from 200 000; ``seed`` seeds the agent), so the splits hold different episodes, never different frames of one
episode. Atari games have no procedurally generated levels: val/test measure generalisation to unseen episodes.
The agent's stickiness is its own (``sticky``: repeat the previous action with that probability) and ALE's
``repeat_action_probability`` defaults to 0 here, so the saved ``actions[t]`` is exactly what moved ``frames[t]`` to
``frames[t+1]``. Episodes longer than ``max_episode_len`` frames are cut into segments that share their boundary
frame; every segment keeps its seed. Frames: uint8 [T, S, S, 3], the 210x160 screen fitted by ``fit``.
"""

from __future__ import annotations

import logging

import av
import numpy as np
from tqdm.auto import tqdm

from genie.data.store import EpisodeStore
from genie.data.video import FITS, fit_frame
from genie.errors import UserError

log = logging.getLogger(__name__)

SEED_OFFSETS = {"train": 0, "val": 100_000, "test": 200_000}


def make_env(game: str, frameskip: int, repeat_action_probability: float):
    """``ALE/<game>-v5`` with RGB observations uint8 [210, 160, 3] and the game's minimal action set."""
    try:
        import ale_py
        import gymnasium as gym
    except ImportError as e:  # pragma: no cover - both are dependencies
        raise UserError(f"data=atari needs ale-py and gymnasium ({e}): pip install ale-py gymnasium") from None

    gym.register_envs(ale_py)
    try:
        return gym.make(f"ALE/{game}-v5", frameskip=frameskip, repeat_action_probability=repeat_action_probability)
    except gym.error.Error as e:
        raise UserError(f"data.game={game!r}: no such ALE game ({e}); e.g. Pong, Breakout, SpaceInvaders") from None


def sticky_random_actions(rng: np.random.Generator, num_actions: int, sticky: float):
    """Endless int actions in [0, num_actions): uniform, but the previous one is repeated with probability sticky."""
    action = int(rng.integers(num_actions))
    while True:
        if rng.random() >= sticky:
            action = int(rng.integers(num_actions))
        yield action


def generate_atari(
    root: str,
    game: str,
    frame_size: int,
    frames_per_split: dict[str, int],
    fit: str = "stretch",
    frameskip: int = 4,
    repeat_action_probability: float = 0.0,
    sticky: float = 0.0,
    max_episode_len: int = 250,
    min_episode_len: int = 8,
    seed: int = 0,
) -> EpisodeStore:
    """Fill ``root`` until each split holds its frame budget. Re-running after an interruption continues with fresh
    seeds (a game episode cut short by the interruption keeps the segments it had)."""
    if fit not in FITS:
        raise UserError(f"data.fit={fit!r}: expected one of {', '.join(FITS)}")
    if frame_size > 160 and fit != "stretch":
        raise UserError(f"data.frame_size={frame_size}: Atari screens are 210x160; fit={fit} would upscale them")
    env = make_env(game, frameskip, repeat_action_probability)
    meanings = list(env.unwrapped.get_action_meanings())
    store = EpisodeStore.create(
        root, source=f"atari/{game}", frame_size=frame_size, fps=60 / frameskip, num_actions=len(meanings),
        action_meanings=meanings,
        extra={"seed_offsets": SEED_OFFSETS, "sticky": sticky, "frameskip": frameskip,
               "repeat_action_probability": repeat_action_probability},
    )

    def fit_obs(obs_HWC: np.ndarray) -> np.ndarray:
        return fit_frame(av.VideoFrame.from_ndarray(obs_HWC, format="rgb24"), frame_size, fit)

    for split, budget in frames_per_split.items():
        episodes = store.episodes(split)
        have = sum(e.length for e in episodes)
        next_seed = max((e.meta["env_seed"] + 1 for e in episodes), default=SEED_OFFSETS[split])
        if have < budget:
            log.info("%s %s: generating %d frames (%d already in the store)", game, split, budget - have, have)
        # a bar on a terminal only: in a log file its redraws would be one endless line
        with tqdm(total=budget, initial=min(have, budget), desc=f"{game} {split}", unit="frame", disable=None) as bar:
            while have < budget:
                env_seed, next_seed = next_seed, next_seed + 1
                obs, _ = env.reset(seed=env_seed)
                policy = sticky_random_actions(np.random.default_rng([seed, env_seed]), len(meanings), sticky)
                frames, actions, segment, done = [fit_obs(obs)], [], 0, False
                while not done and have < budget:
                    action = next(policy)
                    obs, _, terminated, truncated, _ = env.step(action)
                    done = terminated or truncated
                    frames.append(fit_obs(obs))
                    actions.append(action)
                    if len(frames) < max_episode_len and not done:
                        continue
                    if len(frames) >= min_episode_len:
                        store.add_episode(f"{split}_{env_seed:06d}_{segment:03d}", np.stack(frames), np.array(actions),
                                          split=split, meta={"env_seed": env_seed, "segment": segment})
                        have += len(frames)
                        bar.update(len(frames))
                    segment += 1
                    frames, actions = [frames[-1]], []
    env.close()
    store.mark_complete()
    return store
