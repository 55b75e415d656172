"""Behaviour cloning from unlabelled video on the CoinRun levels that need the screen (Genie, App. E).

    python -m benchmarks.behaviour_cloning_hard --run runs/skip1_base [--labels 10 50 200 1000] [--seeds 5]

Holding RIGHT+UP finishes ~2/3 of held-out CoinRun levels, and an expert that mostly jumps right is 94-98 % RIGHT+UP,
so a policy that learnt only the action prior scores like one that reads the screen. Here:

1. Levels: each held-out test level is played once holding RIGHT+UP (deterministic per level seed); the *hard
   subset* is those it fails. Every player is scored per level, one episode each, on the hard subset and on the rest.
2. The expert (genie/data/coinrun.py, ExpertPolicy) plays the train levels that holding RIGHT+UP fails; the policies
   learn from every step where its move differs from RIGHT+UP plus ``--balance`` times as many RIGHT+UP steps.
3. Policies read ``--frames`` frames and sample from their softmax. The oracle learns the true buttons and plays
   with 10 % random buttons; the latent policy learns the run's LAM codes, mapped to buttons by a dictionary from
   ``n`` labelled steps. An ablation reads the previous ``--previous`` classes too (oracle and n = 200).
4. Baselines: RIGHT+UP held, uniform random buttons, the *prior* (i.i.d. buttons drawn with the training steps'
   frequencies: what a policy that ignores the screen plays) and the expert. Per-move recall of each policy (its
   argmax button vs the expert's move) on the expert's play of held-out val levels; the LAM's NMI with the moves.

``--seeds`` seeds of every cloned policy and stochastic baseline; mean and 95 % t-interval over seeds. Writes the
JSON and the curve (``<out>.png``: labels n -> success on the hard subset).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from scipy import stats

from benchmarks.cloned_policy import ClonedPlayer, CloneConfig, Demonstrations, clone
from benchmarks.coinrun_levels import holding_right_up, ignoring_playing, levels_holding_fails, play_levels
from benchmarks.expert_demos import cached_expert
from genie.data.coinrun import ACTION_MEANINGS, LEVEL_OFFSETS, ExpertPolicy, RandomPolicy
from genie.eval.metrics import majority_map, nmi
from genie.eval.visualise import save_figure
from genie.world import WorldModel, infer_latent_actions

ROOT = Path(__file__).resolve().parents[1]
BUTTONS = len(ACTION_MEANINGS)
RIGHT_UP = ExpertPolicy.RIGHT_UP


def interval(values: list[float]) -> dict:
    """Mean and 95 % t-interval half-width over seeds."""
    values_S = np.asarray(values, np.float64)
    half = (stats.t.ppf(0.975, len(values_S) - 1) * values_S.std(ddof=1) / np.sqrt(len(values_S))
            if len(values_S) > 1 else 0.0)
    return {"mean": float(values_S.mean()), "ci95": float(half), "per_seed": values_S.tolist()}


def balanced_rows(actions: np.ndarray, balance: float, rng: np.random.Generator) -> np.ndarray:
    """Every step whose move is not RIGHT+UP and ``balance`` times as many RIGHT+UP steps, drawn at random."""
    informative, default = np.nonzero(actions != RIGHT_UP)[0], np.nonzero(actions == RIGHT_UP)[0]
    count = min(len(default), round(balance * len(informative)))
    return np.sort(np.concatenate([informative, rng.choice(default, count, replace=False)]))


def prior_player(frequencies: np.ndarray, seed: int):
    """Buttons drawn i.i.d. with ``frequencies`` (float [15]), whatever the screen shows."""
    rng = np.random.default_rng(seed)
    return lambda env: lambda obs_NHWC, first_N, playing_N: rng.choice(BUTTONS, len(obs_NHWC), p=frequencies)


@torch.no_grad()
def move_recall(policy, to_button: np.ndarray, demos: Demonstrations, bf16: bool) -> dict[str, float]:
    """Per expert move: the share of its steps where the policy's most likely class maps to that move (previous
    classes, if the policy reads them, are the expert's own)."""
    rows = np.arange(len(demos.actions))
    predicted = []
    for chunk in np.array_split(rows, max(1, len(rows) // 512)):
        previous = demos.previous(chunk, demos.actions, policy.previous, policy.classes) if policy.previous else None
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            predicted.append(policy(demos.windows(chunk, policy.frames), previous).float().argmax(1).numpy())
    buttons = to_button[np.concatenate(predicted)]
    return {ACTION_MEANINGS[m]: float((buttons[demos.actions == m] == m).mean()) for m in np.unique(demos.actions)}


def lam_nmi(lam, frames: list[np.ndarray], buttons: list[np.ndarray], stride: int, balance_rng) -> dict[str, float]:
    """NMI of the LAM's code with the expert's move for transitions t -> t+stride (t a multiple of ``stride``, so
    with stride 4 one expert decision each), on all of them and on the informative ones plus as many RIGHT+UP."""
    codes, moves = [], []
    for f, b in zip(frames, buttons):
        c = infer_latent_actions(lam, torch.from_numpy(np.ascontiguousarray(f[::stride]))).numpy()
        codes.append(c)
        moves.append(b[::stride][: len(c)])
    codes_N, moves_N = np.concatenate(codes), np.concatenate(moves)
    rows = balanced_rows(moves_N, 1.0, balance_rng)
    return {"all": nmi(moves_N, codes_N), "balanced": nmi(moves_N[rows], codes_N[rows]), "steps": len(moves_N)}


def score(make_player, levels: dict[str, np.ndarray], mode: str, subsets=("hard", "easy")) -> dict[str, float]:
    """Share of levels finished, per subset: {"hard": ..., "easy": ...}."""
    return {s: float(play_levels(make_player, levels[s], mode)["finished"].mean()) for s in subsets}


def all_levels(result: dict[str, float], levels: dict[str, np.ndarray]) -> float:
    hard, easy = len(levels["hard"]), len(levels["easy"])
    return (result["hard"] * hard + result["easy"] * easy) / (hard + easy)


def curve(path: Path, results: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = results["labels"]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    latent = [results["latent"][str(n)]["hard"] for n in labels]
    ax.errorbar(labels, [r["mean"] for r in latent], yerr=[r["ci95"] for r in latent], marker="o", capsize=3,
                color="tab:blue", label="latent BC (LAM codes, n labels)")
    for name, colour in (("oracle", "tab:green"), ("prior", "tab:purple"), ("random", "grey"),
                         ("constant", "black"), ("expert", "tab:orange")):
        row = results[name]["hard"]
        ax.axhline(row["mean"], color=colour, ls="--", lw=1, label=f"{results[name]['name']} {row['mean']:.2f}")
        if row["ci95"]:
            ax.axhspan(row["mean"] - row["ci95"], row["mean"] + row["ci95"], color=colour, alpha=0.12)
    ax.set_xscale("log")
    ax.set_xlabel("labelled steps n (codes -> buttons dictionary)")
    ax.set_ylabel("hard levels finished")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"CoinRun {results['distribution_mode']}: the {len(results['levels']['hard'])} held-out levels "
                 f"RIGHT+UP fails ({results['seeds']} seeds, 95 % CI)", fontsize=8)
    ax.legend(fontsize=6, loc="center right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="the run whose LAM labels the videos")
    parser.add_argument("--labels", type=int, nargs="+", default=[10, 50, 200, 1000])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--train-levels", type=int, default=1200, help="train levels scanned for RIGHT+UP failures")
    parser.add_argument("--test-levels", type=int, default=500)
    parser.add_argument("--val-levels", type=int, default=300, help="for per-move recall on held-out expert play")
    parser.add_argument("--balance", type=float, default=1.0, help="RIGHT+UP training steps per informative step")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--previous", type=int, default=3, help="previous classes read in the ablation")
    parser.add_argument("--steps", type=int, default=1500, help="optimiser steps of each cloned policy")
    parser.add_argument("--epsilon", type=float, default=0.1, help="the oracle's share of random buttons")
    parser.add_argument("--distribution-mode", default="easy", choices=["easy", "hard"])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "behaviour_cloning_hard_levels.json")
    args = parser.parse_args()
    from benchmarks.run import machine

    torch.set_num_threads(1)
    started = time.monotonic()
    mode, cache = args.distribution_mode, ROOT / "data" / "bc_expert"
    test = LEVEL_OFFSETS["test"] + np.arange(args.test_levels)
    hard = levels_holding_fails(test, mode)
    levels = {"hard": hard, "easy": np.setdiff1d(test, hard)}
    train = levels_holding_fails(LEVEL_OFFSETS["train"] + np.arange(args.train_levels), mode)
    val = levels_holding_fails(LEVEL_OFFSETS["val"] + np.arange(args.val_levels), mode)
    lam = WorldModel.load(args.run).lam
    frames, buttons = cached_expert(train, mode, cache)
    demos = Demonstrations.from_episodes(frames, buttons, lam)
    held_out = Demonstrations.from_episodes(*cached_expert(val, mode, cache), lam)
    K = lam.cfg.num_actions
    print(f"{len(hard)} of {len(test)} test levels need more than RIGHT+UP; the expert played {len(train)} train "
          f"levels ({len(demos.actions)} steps, {(demos.actions != RIGHT_UP).sum()} not RIGHT+UP)", flush=True)
    results: dict = {
        "machine": machine(), "date": time.strftime("%Y-%m-%d"), "run": str(args.run), "distribution_mode": mode,
        "levels": {k: v.tolist() for k, v in levels.items()}, "train_levels": train.tolist(),
        "expert_steps": len(demos.actions),
        "expert_moves": {ACTION_MEANINGS[m]: int(c) for m, c in zip(*np.unique(demos.actions, return_counts=True))},
        "labels": args.labels, "seeds": args.seeds, "balance": args.balance, "frames": args.frames,
        "steps": args.steps, "epsilon": args.epsilon, "held_out_expert_steps": len(held_out.actions),
        "lam_nmi": {f"stride_{k}": lam_nmi(lam, frames, buttons, k, np.random.default_rng(0)) for k in (1, 2, 4)},
    }
    print("LAM NMI with the expert's moves", results["lam_nmi"], flush=True)

    def save() -> None:
        results["seconds"] = round(time.monotonic() - started)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))

    def record(name: str, label: str, per_seed: list[dict]) -> None:
        results[name] = {"name": label} | {s: interval([r[s] for r in per_seed]) for s in per_seed[0]}
        if "easy" in per_seed[0]:
            results[name]["all"] = interval([all_levels(r, levels) for r in per_seed])
        print(name, {k: v["mean"] if isinstance(v, dict) else v for k, v in results[name].items()}, flush=True)
        save()

    seeds = range(args.seeds)
    record("constant", "RIGHT+UP held", [score(holding_right_up, levels, mode)])
    record("expert", "expert", [score(lambda env: ignoring_playing(ExpertPolicy(env)), levels, mode)])
    record("random", "random buttons", [score(lambda env: ignoring_playing(RandomPolicy(env.num,
                                        np.random.default_rng(s))), levels, mode) for s in seeds])
    rows = {s: balanced_rows(demos.actions, args.balance, np.random.default_rng(s)) for s in seeds}
    frequencies = np.bincount(demos.actions[rows[0]], minlength=BUTTONS) / len(rows[0])
    record("prior", "prior (i.i.d. buttons)", [score(prior_player(frequencies, s), levels, mode) for s in seeds])

    cfg = CloneConfig(frames=args.frames, hidden=32, steps=args.steps, bf16=True)
    identity = np.arange(BUTTONS)
    oracle_runs, latent_runs, recalls = [], {n: [] for n in args.labels}, {"oracle": [], "latent_200": []}
    for s in seeds:
        oracle = clone(demos, demos.actions, BUTTONS, cfg, rows[s], seed=s)
        oracle_runs.append(score(lambda env: ClonedPlayer(oracle, identity, s, args.epsilon, bf16=True), levels, mode))
        recalls["oracle"].append(move_recall(oracle, identity, held_out, bf16=True))
        latent = clone(demos, demos.codes, K, cfg, rows[s], seed=s)
        draw = np.random.default_rng(1000 + s)
        for n in args.labels:
            labelled = draw.choice(rows[s], n, replace=False)
            to_button = majority_map(demos.codes[labelled], demos.actions[labelled], K, BUTTONS)
            subsets = ("hard", "easy") if n == 200 else ("hard",)
            latent_runs[n].append(score(lambda env: ClonedPlayer(latent, to_button, s, bf16=True), levels, mode,
                                        subsets))
            if n == 200:
                recalls["latent_200"].append(move_recall(latent, to_button, held_out, bf16=True))
        print(f"seed {s}: oracle {oracle_runs[-1]}, latent {[latent_runs[n][-1]['hard'] for n in args.labels]}",
              flush=True)
        record("oracle", f"oracle ({args.epsilon:.0%} random)", oracle_runs)
        results["latent"] = {str(n): {k: interval([r[k] for r in runs]) for k in runs[0]}
                             for n, runs in latent_runs.items()}
        results["move_recall"] = {name: {m: interval([r[m] for r in per_seed]) for m in per_seed[0]}
                                  for name, per_seed in recalls.items()}
        save()
    gain = results["oracle"]["hard"]["mean"] - results["constant"]["hard"]["mean"]
    if 200 in args.labels:
        results["latent_200_share_of_oracle_gain"] = (
            (results["latent"]["200"]["hard"]["mean"] - results["constant"]["hard"]["mean"]) / gain if gain else None)
    results["oracle_gain_over_constant"] = gain
    save()
    print(f"wrote {args.out} and {curve(args.out.with_suffix('.png'), results)}", flush=True)
    ablation = CloneConfig(frames=args.frames, previous=args.previous, hidden=32, steps=args.steps, bf16=True)
    oracle_runs, latent_runs = [], []
    for s in seeds:
        oracle = clone(demos, demos.actions, BUTTONS, ablation, rows[s], seed=s)
        oracle_runs.append(score(lambda env: ClonedPlayer(oracle, identity, s, args.epsilon, bf16=True), levels,
                                 mode, ("hard",)))
        latent = clone(demos, demos.codes, K, ablation, rows[s], seed=s)
        labelled = np.random.default_rng(1000 + s).choice(rows[s], 200, replace=False)
        to_button = majority_map(demos.codes[labelled], demos.actions[labelled], K, BUTTONS)
        latent_runs.append(score(lambda env: ClonedPlayer(latent, to_button, s, bf16=True), levels, mode, ("hard",)))
        results["with_previous_actions"] = {"previous": args.previous,
                                            "oracle": interval([r["hard"] for r in oracle_runs]),
                                            "latent_200": interval([r["hard"] for r in latent_runs])}
        print(f"ablation seed {s}: oracle {oracle_runs[-1]}, latent 200 {latent_runs[-1]}", flush=True)
        save()
    print(f"done in {round(time.monotonic() - started)} s")


if __name__ == "__main__":
    main()
