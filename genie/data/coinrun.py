"""Procgen CoinRun episodes for the episode store, with true actions and the level seed of every episode.

Levels are split by seed range (never by frame): train levels start at 0, val at 100 000, test at 200 000, so val/test
metrics measure generalisation to unseen levels. A random agent's CoinRun episode is long (median ~570 steps), so each
episode is cut into segments of at most ``max_episode_len`` frames; every segment keeps its level seed.
"""

from __future__ import annotations

import logging

import numpy as np
from tqdm.auto import tqdm

from genie.data.store import EpisodeStore
from genie.errors import UserError

log = logging.getLogger(__name__)

# procgen's 15 buttons combos (procgen/env.py get_combos); CoinRun ignores DOWN and the letter keys.
ACTION_MEANINGS = [
    "LEFT+DOWN", "LEFT", "LEFT+UP", "DOWN", "NOOP", "UP", "RIGHT+DOWN", "RIGHT", "RIGHT+UP",
    "D", "A", "W", "S", "Q", "E",
]
# What each button does in CoinRun, measured by restoring 60 random-agent states and applying each of the 15
# actions for 3 steps: the frames split into {0,1,2} LEFT, {6,7,8} RIGHT, {5} JUMP and {3,4,9..14} NOTHING in 38/60
# states (the agent was airborne, so UP did nothing); in the other 22 the diagonals 2 and 8 and UP (5) separated as
# jumps. DOWN and the letter keys never did anything.
EFFECT_NAMES = ["LEFT", "RIGHT", "JUMP", "NOTHING"]
ACTION_EFFECTS = [0, 0, 0, 3, 3, 2, 1, 1, 1, 3, 3, 3, 3, 3, 3]  # effect class of each action id
NOOP = ACTION_MEANINGS.index("NOOP")
LEVEL_OFFSETS = {"train": 0, "val": 100_000, "test": 200_000}


class CoinRunUnavailable(UserError):
    """procgen is not installed (no wheel for this platform): printed as one line by the entry points."""


def make_env(num_envs: int, start_level: int, num_levels: int, distribution_mode: str, seed: int,
             num_threads: int = 4, backgrounds: bool = True):
    """``num_envs`` CoinRun envs drawing levels ``start_level`` .. ``start_level + num_levels - 1``. procgen steps
    them on a pool of ``num_threads`` threads (its default, 4); 0 steps them in the calling thread (for many
    one-level envs, where a pool each would mean thousands of threads). ``backgrounds`` false: procgen's plain black
    backdrop instead of its textured pictures."""
    try:
        from procgen import ProcgenGym3Env
    except ImportError as e:  # pragma: no cover - platform dependent
        raise CoinRunUnavailable(
            "procgen (package procgen-mirror) is not installed: CoinRun needs CPython 3.11/3.12 on Linux x86-64. "
            "Use data=synthetic (or another data source) on this platform."
        ) from e
    return ProcgenGym3Env(
        num=num_envs, env_name="coinrun", start_level=start_level, num_levels=num_levels,
        distribution_mode=distribution_mode, rand_seed=seed, num_threads=num_threads, use_backgrounds=backgrounds,
    )


class RandomPolicy:
    """Uniform over the 15 buttons. ``hold`` > 1 scripts the agent: every draw is held for ``hold`` steps (the envs'
    holds are staggered), so each action's effect is clean (a run, not one step of momentum). With ``sticky`` > 0 a
    draw repeats the previous action with that probability.

    With ``bias`` > 0 the agent plays in stretches (AdaWorld's exploration): each env favours one effect (LEFT,
    RIGHT, JUMP, NOTHING, drawn with the weights ``favour``) for ``stretch`` draws, then another; a draw takes a
    button of the favoured effect with probability ``bias``, else a uniform one. A stretch that favours RIGHT walks
    far into the level, one that favours NOTHING stands, and the next stretch starts from rest."""

    def __init__(self, num_envs: int, rng: np.random.Generator, sticky: float = 0.0, hold: int = 1,
                 bias: float = 0.0, stretch: int = 8, favour: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)):
        if hold < 1:
            raise UserError(f"data.hold: must be >= 1 (steps each action is held), got {hold}")
        if not 0.0 <= bias <= 1.0 or stretch < 1:
            raise UserError(f"data.bias: a probability in [0, 1] and data.stretch >= 1, got {bias} and {stretch}")
        if len(favour) != len(EFFECT_NAMES) or min(favour) < 0 or sum(favour) <= 0:
            raise UserError(f"data.favour: {len(EFFECT_NAMES)} weights >= 0 ({', '.join(EFFECT_NAMES)}), got {favour}")
        self.rng, self.sticky, self.hold, self.bias, self.stretch = rng, sticky, hold, bias, stretch
        # a favoured button: an effect drawn by its weight, then one of that effect's buttons
        effects = np.asarray(ACTION_EFFECTS)
        weights = np.asarray(favour, np.float64)[effects] / np.bincount(effects, minlength=len(favour))[effects]
        self.favour_p = weights / weights.sum()
        self.previous = rng.integers(0, len(ACTION_MEANINGS), size=num_envs)
        # steps the current action has been held (no draw at hold 1: the random agent's stream stays as it was)
        self.held_for = rng.integers(0, hold, size=num_envs) if hold > 1 else np.zeros(num_envs, np.int64)
        if bias > 0:  # (without a bias the stream of draws stays as it was)
            self.favoured = rng.choice(len(ACTION_MEANINGS), size=num_envs, p=self.favour_p)
            self.draws_left = rng.integers(1, stretch + 1, size=num_envs)  # staggered stretches

    def __call__(self, obs_NHWC: np.ndarray | None = None, first_N: np.ndarray | None = None) -> np.ndarray:
        """The next buttons, int [num_envs] (the frames and episode starts are not looked at)."""
        draw = self.held_for >= self.hold - 1
        fresh = self.rng.integers(0, len(ACTION_MEANINGS), size=len(self.previous))
        if self.bias > 0:
            new_stretch = draw & (self.draws_left <= 0)
            self.favoured = np.where(new_stretch, self.rng.choice(len(ACTION_MEANINGS), size=len(fresh),
                                                                  p=self.favour_p), self.favoured)
            self.draws_left = np.where(new_stretch, self.stretch, self.draws_left) - draw
            fresh = np.where(self.rng.random(len(fresh)) < self.bias, self.favoured, fresh)
        keep = self.rng.random(len(self.previous)) < self.sticky
        self.previous = np.where(draw & ~keep, fresh, self.previous)
        self.held_for = np.where(draw, 0, self.held_for + 1)
        return self.previous.copy()


class ExpertPolicy:
    """A scripted expert that looks ahead in the simulator: it jumps right (RIGHT+UP), and every ``commit`` steps it
    saves each env's state and plays, from it, each of its moves for ``commit`` steps followed by jumping right up to
    ``horizon`` steps; it takes the first move that neither dies nor runs out of time on the way (RIGHT+UP, then
    RIGHT, NOOP, LEFT+UP, LEFT, UP), and restores the state. Waiting for a saw to pass or backing off a pit is what
    sets it apart from holding RIGHT+UP (docs/experiments/2026-12-03-behaviour-cloning.md)."""

    RIGHT_UP = ACTION_MEANINGS.index("RIGHT+UP")
    MOVES = tuple(ACTION_MEANINGS.index(m) for m in ("RIGHT+UP", "RIGHT", "NOOP", "LEFT+UP", "LEFT", "UP"))

    def __init__(self, env, horizon: int = 24, commit: int = 4):
        self.env, self.horizon, self.commit = env, horizon, commit
        self.plan = np.full(env.num, self.RIGHT_UP)
        self.steps = 0

    def survives(self, state: list[bytes], move: int) -> np.ndarray:
        """bool [num_envs]: whether ``move`` for ``commit`` steps, then RIGHT+UP, lasts ``horizon`` steps or wins."""
        self.env.callmethod("set_state", state)
        ended, lost = np.zeros(self.env.num, bool), np.zeros(self.env.num, bool)
        for k in range(self.horizon):
            self.env.act(np.full(self.env.num, move if k < self.commit else self.RIGHT_UP))
            reward, _, first = self.env.observe()
            lost |= first & ~ended & ~(reward > 0)
            ended |= first
        return ~lost

    def __call__(self, obs_NHWC: np.ndarray | None = None, first_N: np.ndarray | None = None) -> np.ndarray:
        """The next buttons, int [num_envs] (decided from the simulator's state, not from the frames)."""
        if self.steps % self.commit == 0:
            state = self.env.callmethod("get_state")
            plan = np.full(self.env.num, -1)
            for move in self.MOVES:
                plan = np.where((plan < 0) & self.survives(state, move), move, plan)
                if (plan >= 0).all():
                    break
            self.env.callmethod("set_state", state)
            self.plan = np.where(plan < 0, self.RIGHT_UP, plan)
        self.steps += 1
        return self.plan.copy()


AGENTS = ("random", "expert")
GAME_FPS = 15  # procgen's interactive frame rate


def step_skipping(env, act_N: np.ndarray, frameskip: int) -> tuple[dict, np.ndarray]:
    """Play ``act_N`` for ``frameskip`` game steps; returns (observation, first bool [N]), ``first`` set where any of
    the steps began a new episode (whose remaining steps are NOOP: its first frames stay the start of the level)."""
    started = np.zeros(len(act_N), bool)
    for _ in range(frameskip):
        env.act(np.where(started, NOOP, act_N))
        _, obs, first = env.observe()
        started |= first.astype(bool)
    return obs, started


def generate_coinrun(
    root: str,
    frame_size: int,
    frames_per_split: dict[str, int],
    levels_per_split: dict[str, int],
    max_episode_len: int = 250,
    min_episode_len: int = 8,
    num_envs: int = 32,
    distribution_mode: str = "easy",
    sticky: float = 0.0,
    hold: int = 1,
    seed: int = 0,
    agent: str = "random",
    frameskip: int = 1,
    bias: float = 0.0,
    stretch: int = 8,
    favour: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0),
    backgrounds: bool = True,
) -> EpisodeStore:
    """Fill ``root`` until each split holds its frame budget. Re-running after an interruption continues.
    ``agent``: ``random`` (RandomPolicy, with ``sticky``, ``hold``, ``bias``, ``stretch`` and ``favour``) or ``expert`` (ExpertPolicy).
    ``frameskip``: game steps per stored frame, the action repeated over them (``hold`` counts stored frames).
    ``backgrounds`` false: levels drawn on a plain black backdrop."""
    if frame_size != 64:
        raise ValueError(f"data.frame_size: CoinRun renders 64x64 frames, got frame_size={frame_size}")
    if agent not in AGENTS:
        raise UserError(f"data.agent: unknown CoinRun agent {agent!r} (known: {', '.join(AGENTS)})")
    if frameskip < 1 or (agent == "expert" and frameskip != 1):
        raise UserError(f"data.frameskip: must be >= 1 (1 for the expert agent), got {frameskip}")
    store = EpisodeStore.create(
        root, source="coinrun", frame_size=64, fps=GAME_FPS / frameskip, num_actions=len(ACTION_MEANINGS),
        action_meanings=ACTION_MEANINGS,
        extra={"levels_per_split": levels_per_split, "level_offsets": LEVEL_OFFSETS, "sticky": sticky, "hold": hold,
               "agent": agent, "effect_names": EFFECT_NAMES, "action_effects": ACTION_EFFECTS,
               "distribution_mode": distribution_mode, "frameskip": frameskip, "bias": bias, "stretch": stretch,
               "favour": list(favour), "backgrounds": backgrounds},
    )
    for split_index, (split, budget) in enumerate(frames_per_split.items()):
        have = sum(e.length for e in store.episodes(split))
        if have >= budget:
            continue
        run_seed = seed * 7919 + split_index * 131 + len(store.episodes(split))  # fresh streams on resume
        env = make_env(num_envs, LEVEL_OFFSETS[split], levels_per_split[split], distribution_mode, run_seed,
                       backgrounds=backgrounds)
        policy = (ExpertPolicy(env) if agent == "expert"
                  else RandomPolicy(num_envs, np.random.default_rng(run_seed), sticky, hold, bias, stretch,
                                    tuple(favour)))
        frames: list[list[np.ndarray]] = [[] for _ in range(num_envs)]
        actions: list[list[int]] = [[] for _ in range(num_envs)]
        _, obs, first = env.observe()
        levels = [info["level_seed"] for info in env.get_info()]
        for i in range(num_envs):
            frames[i].append(obs["rgb"][i].copy())
        skipped = 0
        log.info("CoinRun %s: generating %d frames (%d already in the store)", split, budget - have, have)
        # a bar on a terminal only: in a log file its redraws would be one endless line
        with tqdm(total=budget, initial=have, desc=f"CoinRun {split}", unit="frame", disable=None) as bar:
            while have < budget:
                act = policy(obs["rgb"], first)
                obs, first = step_skipping(env, act, frameskip)
                infos = env.get_info()
                for i in range(num_envs):
                    ends_episode = bool(first[i])
                    if not ends_episode:
                        actions[i].append(int(act[i]))
                        frames[i].append(obs["rgb"][i].copy())
                    if ends_episode or len(frames[i]) >= max_episode_len:
                        if len(frames[i]) >= min_episode_len:
                            name = f"{split}_{len(store.episodes(split)):06d}"
                            store.add_episode(
                                name, np.stack(frames[i]), np.array(actions[i]), split=split,
                                meta={"level_seed": int(levels[i])},
                            )
                            have += len(frames[i])
                            bar.update(len(frames[i]))
                        else:
                            skipped += 1
                        # a segment cut at max length continues from its last frame; a new episode from its first
                        frames[i] = [frames[i][-1]] if not ends_episode else [obs["rgb"][i].copy()]
                        actions[i] = []
                        levels[i] = infos[i]["level_seed"]
                    if have >= budget:
                        break
        del env
        if skipped:
            log.info("CoinRun %s: skipped %d episodes shorter than %d frames", split, skipped, min_episode_len)
    store.mark_complete()
    return store
