"""Do a LAM's codes say which key the player held (intent), or how far one step moved (speed)?

For each run with a LAM, on a store that recorded the true actions (CoinRun, Atari), every transition of the split's
first ``--episodes`` episodes is labelled by the LAM, as the dynamics' token store is, and compared with the button
that was pressed:

* ``effect_nmi``: NMI of the codes and the true actions' effects (LEFT / RIGHT / JUMP / NOTHING on CoinRun);
* ``held_same_code``: of consecutive transitions under the same button, the share whose codes are the same too.
  Codes that name the key score 1; codes that name the speed change while a walk speeds up;
* ``mean_run``: steps a code lasts on average;
* ``top_codes``: per effect, its most frequent codes and their shares.

    python -m benchmarks.lam_intent runs/<A> [runs/<B> ...] [--store data/<store>] \\
        [--out benchmarks/results/lam_intent.json]

A run directory that holds only a LAM (``train.py stage=lam``) is fine; the store is the run's own unless
``--store`` names another. Runs already in ``--out`` are kept, so LAMs can be added to it later.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score

from benchmarks.per_run import per_run_parser, score_runs
from genie.checkpoints import load_module, resolve_checkpoint
from genie.cli import user_errors_exit
from genie.controls.transitions import run_lengths
from genie.data.store import EpisodeStore
from genie.errors import UserError
from genie.nn.latent_action_net import LatentActionNet
from genie.world import infer_latent_actions

log = logging.getLogger("lam_intent")


@torch.no_grad()
def intent_scores(lam: LatentActionNet, store: EpisodeStore, split: str, episodes: int) -> dict[str, object]:
    effects = store.effects()
    if effects is None:
        raise UserError(f"{store.root}: the store recorded no true actions to compare the codes with")
    effect_of_action, effect_names = np.asarray(effects[0]), effects[1]
    codes, effect, runs, same, held_pairs = [], [], [], 0, 0
    for info in store.episodes(split)[:episodes]:
        actions_T = store.actions(info.name)
        if actions_T is None or info.length < 2:
            continue
        code_T = infer_latent_actions(lam, torch.from_numpy(np.array(store.frames(info.name)))).cpu().numpy()
        action_T = actions_T[: len(code_T)]
        held = action_T[1:] == action_T[:-1]
        same += int((code_T[1:] == code_T[:-1])[held].sum())
        held_pairs += int(held.sum())
        codes.append(code_T)
        effect.append(effect_of_action[np.clip(action_T, 0, None)])
        runs.append(run_lengths(code_T))
    if not codes:
        raise UserError(f"{store.root}: the {split} split holds no episode with actions and two frames or more")
    code_N, effect_N = np.concatenate(codes), np.concatenate(effect)
    top = {}
    for e, name in enumerate(effect_names):
        picked = code_N[effect_N == e]
        if len(picked):
            values, counts = np.unique(picked, return_counts=True)
            order = np.argsort(-counts)[:3]
            top[name] = [[int(values[i]), round(float(counts[i] / len(picked)), 3)] for i in order]
    return {"effect_nmi": float(normalized_mutual_info_score(effect_N, code_N)),
            "held_same_code": same / max(held_pairs, 1), "mean_run": float(np.concatenate(runs).mean()),
            "codes_used": int(len(np.unique(code_N))), "transitions": int(len(code_N)), "top_codes": top}


@user_errors_exit
def main() -> None:
    args = per_run_parser(__doc__, "LAM", 60, "benchmarks/results/lam_intent.json").parse_args()

    def score(run: str, store: EpisodeStore) -> dict:
        lam = load_module(resolve_checkpoint(run, "lam"), "lam").net
        return {"lam": asdict(lam.cfg), **intent_scores(lam, store, args.split, args.episodes)}

    score_runs(args, score, log)


if __name__ == "__main__":
    main()
