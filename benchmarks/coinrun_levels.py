"""CoinRun played level by level: one env per level seed, so a player's outcome on each level is known and the
levels that holding RIGHT+UP fails (the ones that need the screen) can be picked out.

procgen's CoinRun is deterministic for a fixed level seed (the same seed and the same buttons give the same episode,
whatever the env's ``rand_seed``; tests/test_behaviour_cloning_levels.py), so holding RIGHT+UP either always finishes
a level or never does.

A player here is ``player(obs uint8 [N, H, W, 3], first bool [N], playing bool [N]) -> buttons int [N]``: ``playing``
marks the levels whose first episode is still going (the others' buttons are ignored, so a player may skip them).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from genie.data.coinrun import ExpertPolicy, make_env

LevelPlayer = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def level_envs(seeds: np.ndarray, distribution_mode: str):
    """One procgen env per level seed, concatenated: env i plays level ``seeds[i]`` every episode. Its
    ``callmethod`` returns one entry per env (None each for ``set_state``), as a single procgen env's does. Each env
    steps in the calling thread (procgen's default is a pool of 4 threads per env: 2 000 threads for 500 levels)."""
    import gym3

    class LevelEnvs(gym3.ConcatEnv):
        def callmethod(self, method: str, *args) -> list:
            split = np.cumsum([0, *[env.num for env in self.envs]])
            results = [env.callmethod(method, *[a[lo:hi] for a in args]) or [None] * env.num
                       for env, lo, hi in zip(self.envs, split[:-1], split[1:])]
            return [r for result in results for r in result]

    return LevelEnvs([make_env(1, int(s), 1, distribution_mode, seed=0, num_threads=0) for s in seeds])


def ignoring_playing(policy: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> LevelPlayer:
    """A player of every env (RandomPolicy, ExpertPolicy) as a level player."""
    return lambda obs_NHWC, first_N, playing_N: policy(obs_NHWC, first_N)


def holding_right_up(env) -> LevelPlayer:
    return lambda obs_NHWC, first_N, playing_N: np.full(len(obs_NHWC), ExpertPolicy.RIGHT_UP)


def play_levels(make_player: Callable[[Any], LevelPlayer], seeds: np.ndarray, distribution_mode: str,
                on_step: Callable[[np.ndarray, np.ndarray, np.ndarray], None] | None = None) -> dict[str, np.ndarray]:
    """One episode on each level of ``seeds`` (it ends at the coin, a death or procgen's 1 000-step limit).
    ``make_player(env)`` gives the player (the expert looks ahead in ``env``); ``on_step(obs, buttons, playing)``,
    if given, sees each step before it is played. -> {finished bool [L], steps int [L]}."""
    env = level_envs(seeds, distribution_mode)
    player = make_player(env)
    _, obs, _ = env.observe()
    first_L = np.ones(len(seeds), bool)
    playing_L = np.ones(len(seeds), bool)
    finished_L, steps_L = np.zeros(len(seeds), bool), np.zeros(len(seeds), np.int64)
    while playing_L.any():
        buttons_L = np.asarray(player(obs["rgb"], first_L, playing_L))
        if on_step is not None:
            on_step(obs["rgb"], buttons_L, playing_L)
        env.act(buttons_L)
        reward_L, obs, first_L = env.observe()
        first_L = np.asarray(first_L, bool)
        steps_L += playing_L
        finished_L |= playing_L & (reward_L > 0)
        playing_L &= ~first_L
    del env
    return {"finished": finished_L, "steps": steps_L}


def levels_holding_fails(seeds: np.ndarray, distribution_mode: str) -> np.ndarray:
    """The seeds (a subset of ``seeds``, in order) whose level holding RIGHT+UP does not finish."""
    seeds = np.asarray(seeds)
    return seeds[~play_levels(holding_right_up, seeds, distribution_mode)["finished"]]
