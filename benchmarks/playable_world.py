"""Does a dynamics recipe give a world that plays like the game? Train it on a run's tokenizer and LAM for several
seeds through the real launcher, then score each world on what a player feels: key response against the real game
(genie/eval/key_response.py), long play (player in view, realism of the dreamed frames against real ones, frozen
worlds, walk from rest) and the one-step token accuracy; mean and spread over seeds.

    python -m benchmarks.playable_world --base runs/<A> --variant default= \\
        --variant game_actions="model.dynamics.action_source=game" --seeds 1 2 3 \\
        [--out benchmarks/results/playable_world.json]

Each variant is ``name=<Hydra overrides, space separated>`` for ``train.py stage=dynamics`` (``run.lam=<run>``
among them: the variant's own LAM instead of the base run's). A variant's worlds are
trained and scored once: a finished run (its ``world.json`` names a dynamics checkpoint) under
``<runs>/playable_<name>_s<seed>`` is not trained again, and its scores are kept beside it (``playable_scores.json``),
so seeds can be added later and the summary covers them all. Runs whose store is not CoinRun get no key response.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from genie.checkpoints import read_world
from genie.controls.key_controls import KeyControls, fit_key_controls
from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.data.token_store import TokenStore
from genie.eval.key_response import KeyResponseSettings
from genie.eval.long_play import LongPlaySettings, long_play
from genie.eval.report import run_key_response
from genie.eval.scene_motion import store_frameskip
from genie.world import WorldModel

ROOT = Path(__file__).resolve().parents[1]
SCORES = "playable_scores.json"  # a world's scores, in its run directory
log = logging.getLogger("playable_world")

HEADLINE = ("key_response/walk/same_way", "key_response/walk/x_error", "key_response/walk/dream_travel",
            "key_response/walk/real_travel", "key_response/walk/key_gain", "key_response/walk/path_r",
            "key_response/start/same_way", "key_response/start/x_error", "key_response/start/key_gain",
            "key_response/walk/inferred_same_way", "key_response/walk/inferred_dream_travel",
            "long_play/player_in_view_human_t256", "long_play/player_in_view_keys_t256",
            "long_play/player_in_view_human_t85", "long_play/player_in_view_keys_t85",
            "long_play/player_in_view_replayed_t256", "long_play/player_in_view_replayed_t85",
            "long_play/frozen_human_t256", "long_play/frozen_keys_t256", "long_play/realism_human_t64",
            "long_play/realism_replayed_t64", "long_play/realism_keys_t64", "long_play/realism_real",
            "motion/reach_right", "motion/reach_left",
            "motion/real_reach_right", "motion/real_reach_left", "dynamics/val/token_accuracy", "train_seconds")


def train_world(base: Path, name: str, overrides: list[str], seed: int, runs_dir: Path) -> tuple[Path, float]:
    """Train (or find) the variant's dynamics for one seed; returns its run directory and the training seconds."""
    run_dir = runs_dir / f"playable_{name}_s{seed}"
    if "dynamics" in read_world(run_dir):
        return run_dir, float("nan")
    data = [] if any(o.startswith("data") for o in overrides) else [f"data.path={base_store(base)}"]
    lam = [] if any(o.startswith("run.lam=") for o in overrides) else [f"run.lam={base}"]  # a variant's own LAM
    command = [sys.executable, str(ROOT / "train.py"), "stage=dynamics", f"run.tokenizer={base}", *lam,
               f"seed={seed}", "stage.dream=false", "logger=csv", f"hydra.run.dir={run_dir}", *data, *overrides]
    log.info("training %s seed %d: %s", name, seed, shlex.join(command[1:]))
    started = time.monotonic()
    subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return run_dir, time.monotonic() - started


def base_store(base: Path) -> str:
    """The episode store the base run trained on (recorded when the run ends, and in its token store from the
    dynamics stage on)."""
    world = read_world(base)
    return world.get("data") or TokenStore(world["tokens"]).header["store"]


def score_world(run_dir: Path, key_settings: KeyResponseSettings, play_settings: LongPlaySettings,
                eval_data: str | None = None) -> dict[str, float]:
    """``eval_data``: the store whose held-out frames long play starts from (default: the world's own)."""
    world = WorldModel.load(run_dir)
    store = EpisodeStore(eval_data or read_world(run_dir)["data"])
    controls = None
    if world.effect_names is None:  # a latent world plays through its key controller, fitted as the report does
        controls = KeyControls.load(run_dir) or fit_key_controls(run_dir, world, store, steps=600, window=1)
    frameskip = store_frameskip(store)
    # the same stretches of game time as a world that dreams one game frame a step, beside its own steps
    horizons = sorted({*play_settings.horizons, *(round(h / frameskip) for h in play_settings.horizons)})
    metrics = long_play(world, store, "test", replace(play_settings, horizons=tuple(horizons)),
                        controls=controls).metrics
    return metrics | run_key_response(world, store, key_settings, run_dir, controls)


def last_validation(run_dir: Path) -> dict[str, float]:
    """The dynamics stage's last validation metrics from its CSV log."""
    values: dict[str, float] = {}
    for path in sorted(run_dir.glob("logs/**/metrics.csv")):
        lines = path.read_text().splitlines()
        header = lines[0].split(",")
        for line in lines[1:]:
            for key, value in zip(header, line.split(",")):
                if key.startswith("val/") and value:
                    values[f"dynamics/{key}"] = float(value)
    return values


def summarise(per_seed: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = sorted({k for m in per_seed for k in m})
    summary = {}
    for key in keys:
        values = np.array([m[key] for m in per_seed if key in m and m[key] == m[key]], np.float64)
        if len(values):
            summary[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                            "n": int(len(values))}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="run directory with the tokenizer and LAM to train on")
    parser.add_argument("--variant", action="append", required=True, help="name=<overrides>")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--runs", default="runs", help="where the variants' runs go (relative to the checkout)")
    parser.add_argument("--levels", type=int, default=48)
    parser.add_argument("--long-play-starts", type=int, default=32)
    parser.add_argument("--out", default="benchmarks/results/playable_world.json")
    parser.add_argument("--eval-data", default=None,
                        help="score long play from this store's held-out frames (default: each world's own store); "
                             "for variants trained on other data, so every world starts from the same frames")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    base, runs_dir = Path(args.base).resolve(), (ROOT / args.runs).resolve()
    key_settings = KeyResponseSettings(levels=args.levels)
    # realism (a classifier two-sample test against real frames) beside the player in view: a level can melt into
    # wall and void around a player who stays in view (docs/experiments/2026-12-06-backdrop-and-token-stability.md)
    play_settings = LongPlaySettings(starts=args.long_play_starts, human_sequences=2)
    out = ROOT / args.out
    results = json.loads(out.read_text()) if out.is_file() else {}
    results["base"] = str(base)
    for spec in args.variant:
        name, _, overrides = spec.partition("=")
        per_seed = []
        for seed in args.seeds:
            run_dir, seconds = train_world(base, name, overrides.split(), seed, runs_dir)
            started = time.monotonic()
            scores = run_dir / SCORES
            if scores.is_file():  # scored before: the world has not changed since (it is only trained once)
                metrics = json.loads(scores.read_text())
            else:
                metrics = score_world(run_dir, key_settings, play_settings, args.eval_data) | last_validation(run_dir)
                metrics["train_seconds"] = seconds
                atomic_write_bytes(scores, json.dumps(metrics, indent=1).encode())
            log.info("%s seed %d scored in %.0f s: %s", name, seed, time.monotonic() - started,
                     {k: round(metrics[k], 3) for k in HEADLINE if k in metrics})
            per_seed.append(metrics)
        results.setdefault("variants", {})[name] = {
            "overrides": overrides, "seeds": args.seeds, "runs": [str(runs_dir / f"playable_{name}_s{s}") for s in args.seeds],
            "summary": summarise(per_seed), "per_seed": per_seed,
        }
        atomic_write_bytes(out, json.dumps(results, indent=1).encode())
        for key in HEADLINE:
            if key in results["variants"][name]["summary"]:
                s = results["variants"][name]["summary"][key]
                print(f"{name:>24} {key:<42} {s['mean']:8.3f} ± {s['std']:.3f} (n={s['n']})")


if __name__ == "__main__":
    main()
