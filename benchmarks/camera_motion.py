"""How the dream moves the camera, one step and many, against what its latent codes mean in the data.

For each world (a run directory), on its store's held-out frames and its token store:

* ``codes``: per latent code, how the real camera moved over the val transitions the LAM gave that code (mean
  sideways pixels, the share of moves of 4 px or more, i.e. a whole token or more) and how many steps in a row the
  code lasts in the train episodes (mean and longest run);
* ``one_step``: on val transitions, teacher forced (real history, the LAM's code), the camera move of the predicted
  frame against the real one, grouped by the real move's size: does the dynamics move the camera by the right
  number of pixels, below the 4-px token size?
* ``held``: from held-out rests, the code that carries the camera farthest right, held ``--steps`` steps: the
  dream's move at every step (mean over rests), beside the real game's moves after the same rests (where it went
  right).

    python -m benchmarks.camera_motion runs/<A> [runs/<B> ...] [--out benchmarks/results/camera_motion.json]

Camera moves are measured as everywhere else (genie/eval/scene_motion.py ``camera_shift`` on decoded frames, up to
3 px per game frame the store's steps span).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch

from genie.checkpoints import read_world
from genie.cli import user_errors_exit
from genie.controls.transitions import run_lengths
from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.data.token_store import TokenClips, TokenStore
from genie.eval.scene_motion import held_code_moves, rest_windows, store_frameskip, travel
from genie.nn.camera import camera_shift, search_radius
from genie.world import WorldModel

ROOT = Path(__file__).resolve().parents[1]
TOKEN_PX = 4  # pixels per token side (64-px frames, 16x16 tokens)
MOVE_GROUPS = ((0, 0), (1, 1), (2, 2), (3, 3), (4, 5), (6, 9))  # real |move| in pixels, both ends included
log = logging.getLogger("camera_motion")


def sample_transitions(tokens_dir: str, clip_len: int, count: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    clips = TokenClips(tokens_dir, "val", clip_len=clip_len)
    picked = np.random.default_rng(seed).choice(len(clips), min(count, len(clips)), replace=False)
    return [clips[int(i)] for i in picked]


@torch.no_grad()
def code_moves(world: WorldModel, tokens_dir: str, radius: int, count: int) -> dict[str, dict[str, float]]:
    """Per code: the real camera move of its val transitions, and how long it lasts in the train episodes."""
    items = sample_transitions(tokens_dir, 2, count)
    moves = [travel(world, torch.stack([it["tokens"] for it in items[lo : lo + 128]]).long(), radius)[:, 0, 0]
             for lo in range(0, len(items), 128)]
    move_N, code_N = torch.cat(moves), torch.stack([it["latent_actions"][0] for it in items]).long()
    runs: dict[int, list[int]] = {}
    store = TokenStore(tokens_dir)
    for episode in store.episodes("train"):
        actions = store.array(episode["name"], "latent_actions")
        lengths = run_lengths(actions)
        for code, length in zip(actions[np.cumsum(lengths) - lengths], lengths):
            runs.setdefault(int(code), []).append(int(length))
    out = {}
    for a in range(world.num_actions):
        mine = move_N[code_N == a]
        lasting = np.array(runs.get(a, [0]))
        out[str(a)] = {"transitions": int(len(mine)), "mean_dx": float(mine.mean()) if len(mine) else float("nan"),
                       "share_token_or_more": float((mine.abs() >= TOKEN_PX).float().mean()) if len(mine) else 0.0,
                       "mean_run": float(lasting.mean()), "longest_run": int(lasting.max())}
    return out


@torch.no_grad()
def one_step_moves(world: WorldModel, tokens_dir: str, radius: int, count: int) -> dict[str, dict[str, float]]:
    """Teacher-forced next frames: the predicted camera move along the real one, by the real move's size."""
    W = world.window
    items = sample_transitions(tokens_dir, W + 1, count)
    pairs = []
    for lo in range(0, len(items), 128):
        batch = items[lo : lo + 128]
        tokens = torch.stack([it["tokens"] for it in batch]).long()
        predicted = world.step(tokens[:, :W], torch.stack([it["latent_actions"][W - 1] for it in batch]).long())
        frames = world.decode(torch.stack([tokens[:, W - 1], tokens[:, W], predicted.cpu()], 1)).float()
        pairs.append(torch.stack([camera_shift(frames[:, 0], frames[:, 1], radius)[:, 0],
                                  camera_shift(frames[:, 0], frames[:, 2], radius)[:, 0]], 1).cpu())
    real_N, dream_N = torch.cat(pairs).unbind(1)
    out = {}
    for lo, hi in MOVE_GROUPS:
        mine = (real_N.abs() >= lo) & (real_N.abs() <= hi)
        if not bool(mine.any()):
            continue
        along = dream_N[mine] * torch.where(real_N[mine] < 0, -1.0, 1.0)  # the dream's move in the real direction
        out[f"{lo}-{hi}px"] = {"transitions": int(mine.sum()), "dream_along": float(along.mean()),
                               "exact": float((along.round() == real_N[mine].abs()).float().mean()),
                               "still": float((along.round() == 0).float().mean())}
    return out


@torch.no_grad()
def held_walk(world: WorldModel, store: EpisodeStore, radius: int, steps: int) -> dict[str, object]:
    """The farthest-right code held from held-out rests: per-step moves, beside the real game's after them."""
    rests = rest_windows(store, "test", world.window, steps, 32)
    if not len(rests):
        return {"code": None, "rests": 0, "dream_per_step": [], "real_per_step": [], "real_rests_right": 0}
    real = world.encode(torch.from_numpy(rests)).cpu()
    per_step_KS = held_code_moves(world, real[:, : world.window], steps, radius)[..., 0].mean(1)  # sideways
    code = int(per_step_KS.sum(1).argmax())
    real_moves = travel(world, real[:, world.window - 1 :], radius)[..., 0]
    went_right = real_moves[real_moves.sum(1) > 2]
    return {"code": code, "rests": len(rests), "dream_per_step": [round(float(v), 2) for v in per_step_KS[code]],
            "real_per_step": [round(float(v), 2) for v in went_right.mean(0)], "real_rests_right": len(went_right)}


@user_errors_exit
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories (latent worlds)")
    parser.add_argument("--transitions", type=int, default=2000, help="val transitions per measure")
    parser.add_argument("--steps", type=int, default=24, help="steps the farthest-right code is held")
    parser.add_argument("--out", default="benchmarks/results/camera_motion.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    results = {}
    for run in args.runs:
        world, parts = WorldModel.load(run), read_world(run)
        if world.effect_names is not None:
            log.warning("%s: a world conditioned on the game's actions has no latent codes to measure; skipped", run)
            continue
        store = EpisodeStore(parts["data"])
        radius = search_radius(store_frameskip(store))
        results[str(run)] = {"codes": code_moves(world, parts["tokens"], radius, 2 * args.transitions),
                             "one_step": one_step_moves(world, parts["tokens"], radius, args.transitions),
                             "held": held_walk(world, store, radius, args.steps)}
        log.info("%s: one step %s; held code %s: %s", run, results[str(run)]["one_step"],
                 results[str(run)]["held"]["code"], results[str(run)]["held"]["dream_per_step"])
    out = ROOT / args.out
    atomic_write_bytes(out, json.dumps(results, indent=1).encode())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
