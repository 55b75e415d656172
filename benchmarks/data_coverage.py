"""How much of CoinRun a data policy covers: for each setting of the random agent, play fresh episodes on the train
levels and count how often an episode reaches the coin (the end of its level: the far part of a level is in the data
only when agents get there), how long episodes last, and how often the agent starts to move from rest (a still
stretch, then a walk: what a walk from rest in the dream learns from).

    python -m benchmarks.data_coverage --policy uniform=hold=3,frameskip=3 \\
        --policy stretches=hold=3,frameskip=3,bias=0.75,stretch=8,favour=1/3/1/1 \\
        [--out benchmarks/results/data_coverage.json]

A policy is ``name=key=value,...`` over RandomPolicy's settings as the data config names them (``hold``, ``sticky``,
``bias``, ``stretch``, ``favour`` as ``1/3/1/1``) and ``frameskip``. Progress is counted in finished levels, not by
image registration: with RIGHT held, registration found the camera still in about 65 % of stored frames (a step one
tile high stops a player who does not jump).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from genie.data.coinrun import ACTION_EFFECTS, EFFECT_NAMES, NOOP, RandomPolicy, make_env
from genie.data.store import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("data_coverage")


def play(settings: dict, envs: int, steps: int, seed: int) -> dict[str, np.ndarray]:
    """Effects int [N, T] (LEFT / RIGHT / JUMP / NOTHING of each stored frame's button), episode ends bool [N, T] and
    coins reached bool [N, T] of ``envs`` agents playing ``steps`` stored frames."""
    frameskip = int(settings.get("frameskip", 1))
    policy = RandomPolicy(envs, np.random.default_rng(seed), float(settings.get("sticky", 0.0)),
                          int(settings.get("hold", 1)), float(settings.get("bias", 0.0)),
                          int(settings.get("stretch", 8)), tuple(settings.get("favour", (1.0, 1.0, 1.0, 1.0))))
    env = make_env(envs, 0, 1000, "easy", seed)
    effects, ends, coins = [], [], []
    for _ in range(steps):
        act = policy()
        ended, coin = np.zeros(envs, bool), np.zeros(envs, bool)
        for _ in range(frameskip):
            env.act(np.where(ended, NOOP, act))
            reward, _, first = env.observe()
            coin |= (reward > 0) & ~ended
            ended |= first.astype(bool)
        effects.append(np.asarray(ACTION_EFFECTS)[act])
        ends.append(ended)
        coins.append(coin)
    return {"effects": np.stack(effects, 1), "ends": np.stack(ends, 1), "coins": np.stack(coins, 1)}


def coverage(played: dict[str, np.ndarray], frameskip: int) -> dict[str, float]:
    effects, ends, coins = played["effects"], played["ends"], played["coins"]
    episodes = int(ends.sum())
    # game frames since the episode began, at every stored frame
    age = np.zeros(effects.shape)
    for t in range(1, effects.shape[1]):
        age[:, t] = np.where(ends[:, t - 1], 0, age[:, t - 1] + frameskip)
    walk = np.isin(effects, [EFFECT_NAMES.index("LEFT"), EFFECT_NAMES.index("RIGHT")])
    still = effects == EFFECT_NAMES.index("NOTHING")
    # a start from rest: two stored frames of NOTHING, then LEFT or RIGHT, within one episode
    same_episode = ~(ends[:, :-2] | ends[:, 1:-1])
    from_rest = still[:, :-2] & still[:, 1:-1] & walk[:, 2:] & same_episode
    return {
        "episodes_ended_per_1000_frames": float(1000 * episodes / effects.size),
        "coin_share": float(coins.sum() / max(episodes, 1)),
        "levels_completed_per_1000_frames": float(1000 * coins.sum() / effects.size),
        "share_past_game_frame_150": float((age > 150).mean()),
        "starts_from_rest_per_1000_frames": float(1000 * from_rest.sum() / from_rest.size),
        "effect_shares": [float((effects == e).mean()) for e in range(len(EFFECT_NAMES))],
    }


def parse(value: str) -> float | tuple[float, ...]:
    """``0.75`` -> 0.75; ``1/3/1/1`` (the favour weights) -> (1.0, 3.0, 1.0, 1.0)."""
    return tuple(float(v) for v in value.split("/")) if "/" in value else float(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", action="append", required=True, help="name=key=value,...")
    parser.add_argument("--envs", type=int, default=32)
    parser.add_argument("--steps", type=int, default=600, help="stored frames each agent plays")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default="benchmarks/results/data_coverage.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    results = {"envs": args.envs, "steps": args.steps, "seeds": args.seeds, "policies": {}}
    for spec in args.policy:
        name, _, rest = spec.partition("=")
        settings = {k: parse(v) for k, v in (item.split("=") for item in rest.split(",") if item)}
        per_seed = [coverage(play(settings, args.envs, args.steps, seed), int(settings.get("frameskip", 1)))
                    for seed in args.seeds]
        summary = {k: {"mean": np.mean([s[k] for s in per_seed], 0).round(4).tolist(),
                       "std": np.std([s[k] for s in per_seed], 0, ddof=1).round(4).tolist() if len(per_seed) > 1 else 0}
                   for k in per_seed[0]}
        results["policies"][name] = {"settings": settings, "summary": summary, "per_seed": per_seed}
        for key, s in summary.items():
            print(f"{name:>14} {key:<34} {s['mean']} ± {s['std']}")
    atomic_write_bytes(ROOT / args.out, json.dumps(results, indent=1).encode())


if __name__ == "__main__":
    main()
