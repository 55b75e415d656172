"""Behaviour cloning from unlabelled video, in the real game: the Genie paper's CoinRun case study on a CPU budget.

    python -m benchmarks.behaviour_cloning --run runs/<a CoinRun run> [--labels 10 50 200] [--draws 3]
                                           [--steps 1500] [--distribution-mode easy|hard]
                                           [--out benchmarks/results/behaviour_cloning.json]

1. Videos of a competent player: the scripted expert (genie/data/coinrun.py, ExpertPolicy, which looks ahead in the
   simulator) plays the train levels (``data=coinrun_expert``, generated on first use; its true buttons are stored
   but only used where said).
2. The run's LAM labels every step of those videos with a latent action.
3. A policy (benchmarks/cloned_policy.py) learns the latent action from the last two frames: no true labels.
   Its codes become buttons through a map fitted on ``n`` labelled steps, drawn at random (``--draws`` times).
4. The oracle: the same policy trained on every true button.
5. Everything plays procgen CoinRun on held-out test levels: random buttons, one button held throughout (RIGHT+UP,
   the expert's default move: what a policy that learned only the action prior does), the expert, the oracle, and
   the latent policy for each ``n`` (and all labels). Score: the share of episodes that reached the coin.

Writes the JSON and a bar chart beside it (``<out>.png``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.cloned_policy import ClonedPlayer, CloneConfig, Demonstrations, clone, play_coinrun
from genie.data.coinrun import ACTION_MEANINGS, ExpertPolicy, RandomPolicy
from genie.eval.metrics import majority_map
from genie.eval.visualise import save_figure
from genie.world import WorldModel

ROOT = Path(__file__).resolve().parents[1]


def bar_chart(path: Path, results: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["random", "RIGHT+UP\nheld", *[f"latent BC\nn={n}" for n in results["labels"]],
             "latent BC\nall labels", "oracle BC", "expert"]
    rows = [results["random"], results["constant"], *[results["latent"][str(n)] for n in results["labels"]],
            results["latent"]["all"], results["oracle"], results["expert"]]
    means = [r["success"] for r in rows]
    errors = [r.get("success_std", 0.0) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 3.4), dpi=120)
    colours = ["grey", "grey"] + ["tab:blue"] * (len(results["labels"]) + 1) + ["tab:green", "tab:orange"]
    ax.bar(range(len(rows)), means, yerr=errors, capsize=3, color=colours)
    ax.set_xticks(range(len(rows)), names, fontsize=7)
    ax.set_ylabel("held-out levels finished")
    ax.set_title(f"Behaviour cloning from unlabelled video, CoinRun {results['distribution_mode']} test levels "
                 f"({rows[0]['episodes']} episodes each)", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="the run whose LAM labels the videos")
    parser.add_argument("--labels", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--draws", type=int, default=3, help="draws of the labelled steps per n")
    parser.add_argument("--steps", type=int, default=1500, help="optimiser steps of each cloned policy")
    parser.add_argument("--episodes-per-env", type=int, default=4)
    parser.add_argument("--num-envs", type=int, default=32)
    parser.add_argument("--distribution-mode", default="easy", choices=["easy", "hard"],
                        help="CoinRun's levels, for the expert's videos and every player")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "behaviour_cloning.json")
    args = parser.parse_args()
    from benchmarks.run import coinrun_store, machine

    started = time.monotonic()
    store = coinrun_store("coinrun_expert", f"data.distribution_mode={args.distribution_mode}")
    world = WorldModel.load(args.run)
    demos = Demonstrations.from_store(store, "train", world.lam)
    K, A = world.num_actions, len(ACTION_MEANINGS)
    print(f"{len(demos.actions)} expert steps; the LAM uses {len(np.unique(demos.codes))} of {K} codes on them")

    def play(make_player) -> dict:
        return play_coinrun(make_player, "test", store.manifest["extra"]["levels_per_split"]["test"],
                            args.episodes_per_env, args.num_envs, args.distribution_mode)

    results: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "run": str(args.run),
                     "expert_store": str(store.root), "distribution_mode": args.distribution_mode,
                     "expert_steps": len(demos.actions), "labels": args.labels, "draws": args.draws,
                     "train_steps": args.steps}
    results["random"] = play(lambda env: RandomPolicy(args.num_envs, np.random.default_rng(0)))
    results["constant"] = play(lambda env: lambda obs, first: np.full(len(obs), ExpertPolicy.RIGHT_UP))
    results["expert"] = play(ExpertPolicy)
    print("random", results["random"], "RIGHT+UP held", results["constant"], "expert", results["expert"], flush=True)
    oracle = clone(demos, demos.actions, A, CloneConfig(steps=args.steps))
    results["oracle"] = play(lambda env: ClonedPlayer(oracle, np.arange(A)))
    print("oracle BC", results["oracle"], flush=True)
    latent = clone(demos, demos.codes, K, CloneConfig(steps=args.steps))
    rng = np.random.default_rng(0)
    results["latent"] = {}
    for n in args.labels:
        runs = []
        for draw in range(args.draws):
            pick = rng.choice(len(demos.actions), n, replace=False)
            button_of_code = majority_map(demos.codes[pick], demos.actions[pick], K, A)
            runs.append(play(lambda env: ClonedPlayer(latent, button_of_code, seed=draw)))
        success = [r["success"] for r in runs]
        results["latent"][str(n)] = {"success": float(np.mean(success)), "success_std": float(np.std(success)),
                                     "reward": float(np.mean([r["reward"] for r in runs])), "draws": runs,
                                     "episodes": runs[0]["episodes"]}
        print(f"latent BC, {n} labels", results["latent"][str(n)]["success"], flush=True)
    button_of_code = majority_map(demos.codes, demos.actions, K, A)
    results["latent"]["all"] = play(lambda env: ClonedPlayer(latent, button_of_code)) | {
        "button_of_code": [ACTION_MEANINGS[b] for b in button_of_code]}
    print("latent BC, all labels", results["latent"]["all"], flush=True)
    oracle_success = max(results["oracle"]["success"], 1e-9)
    results["latent_over_oracle"] = {n: results["latent"][str(n)]["success"] / oracle_success for n in args.labels}
    results["seconds"] = round(time.monotonic() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"wrote {args.out} and {bar_chart(args.out.with_suffix('.png'), results)}")


if __name__ == "__main__":
    main()
