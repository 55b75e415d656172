"""How many labels ground a run's latent actions: the code -> effect map from 10 / 50 / 200 / 1 000 / all labelled
train transitions, scored on the held-out test levels, beside the supervised ceiling on the same transitions.

    python -m benchmarks.grounding --run runs/<a CoinRun run> [--ceiling-steps 800] [--draws 20]
                                   [--probe-clips 6000] [--out benchmarks/results/grounding.json]

The ceiling is an inverse-dynamics model with the LAM encoder's architecture trained on every true label of the
train split (benchmarks/inverse_dynamics.py); its effect head's accuracy is what a labelled model reaches on the same
held-out transitions. The probe asks whether the codes lose what the LAM saw: a logistic regression from the LAM
encoder's vector before quantisation (the same unsupervised LAM) to the effect, fitted on the same numbers of labels
(train clips drawn at random, every test clip). Writes the JSON and a plot beside it (``<out>.png``).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.inverse_dynamics import ceiling_scores, train_inverse_dynamics
from genie.checkpoints import read_world
from genie.data.clips import PixelClips
from genie.data.store import EpisodeStore
from genie.data.token_store import TokenStore
from genie.eval.grounding import LABELS, grounding_curve, grounding_figure, over_draws
from genie.nn.pixels import to_model
from genie.world import WorldModel

ROOT = Path(__file__).resolve().parents[1]


@torch.no_grad()
def lam_vectors(world: WorldModel, store: EpisodeStore, split: str, effect_of_action: np.ndarray,
                max_clips: int | None = None, seed: int = 0, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(encoder vectors z float32 [N, D] before quantisation, effect of the true action int64 [N]) of up to
    ``max_clips`` clips of the split drawn at random (None: every clip), each the window + 1 frames the LAM reads."""
    clips = PixelClips(store.root, split, world.lam.cfg.window + 1)
    rows = np.random.default_rng(seed).permutation(len(clips))[:max_clips]
    vectors, effects = [], []
    for start in range(0, len(rows), batch_size):
        items = [clips[int(i)] for i in rows[start : start + batch_size]]
        frames_BTHWC = torch.stack([item["frames"] for item in items])
        vectors.append(world.lam.embed(to_model(frames_BTHWC)).float().numpy())
        effects.append(effect_of_action[[int(item["actions"][-1]) for item in items]])
    return np.concatenate(vectors), np.concatenate(effects)


def probe_curve(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], labels: list[int],
                draws: int, seed: int = 0) -> dict:
    """Held-out accuracy of a logistic regression z -> effect fitted on n labelled train vectors, for each n and for
    every train vector."""
    z, effects = train

    def accuracy(pick: np.ndarray) -> float:
        if len(np.unique(effects[pick])) < 2:  # one effect among the labels: every prediction is that effect
            return float((test[1] == effects[pick][0]).mean())
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(z[pick], effects[pick])
        return float(probe.score(*test))

    kept, means, stds = over_draws(accuracy, len(z), tuple(labels), draws, np.random.default_rng(seed))
    return {"labels": [*kept, len(z)], "accuracy_mean": [*means, accuracy(np.arange(len(z)))],
            "accuracy_std": [*stds, 0.0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--labels", type=int, nargs="+", default=list(LABELS))
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--ceiling-steps", type=int, default=800, help="0: no supervised ceiling")
    parser.add_argument("--probe-clips", type=int, default=6000,
                        help="train clips the pre-quantisation probe draws its labels from (0: no probe)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "grounding.json")
    args = parser.parse_args()
    from benchmarks.run import machine

    paths = read_world(args.run)
    store = EpisodeStore(paths["data"])
    if store.effects() is None or "tokens" not in paths:
        raise SystemExit(f"{args.run}: grounding needs a store whose actions have effects (CoinRun) and a token store")
    effect_of_action, effect_names = store.effects()
    world = WorldModel.load(args.run)
    curve = grounding_curve(TokenStore(paths["tokens"]), effect_of_action, effect_names, world.num_actions,
                            world.lam.cfg.window, tuple(args.labels), args.draws)
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "run": str(args.run), **curve.as_dict()}
    print(json.dumps({k: results[k] for k in ("labels", "accuracy_mean", "accuracy_std", "accuracy_all", "majority")}))
    if args.probe_clips > 0:
        effect_index = np.asarray(effect_of_action, np.int64)
        train = lam_vectors(world, store, "train", effect_index, args.probe_clips)
        test = lam_vectors(world, store, "test", effect_index)
        results["pre_quantisation_probe"] = probe_curve(train, test, args.labels, args.draws) | {
            "train_clips": len(train[0]), "test_clips": len(test[0])}
        print("pre-quantisation probe", results["pre_quantisation_probe"])
    ceiling = None
    if args.ceiling_steps > 0:
        model = train_inverse_dynamics(store, world.lam.cfg, args.ceiling_steps)
        test_frames = sum(e.length for e in store.episodes("test"))
        scores = ceiling_scores(model, store, "test", max_clips=test_frames)  # every test clip, as the curve
        results["supervised_ceiling"] = asdict(scores) | {"train_steps": args.ceiling_steps}
        ceiling = scores.effect_accuracy
        print(f"supervised ceiling: effect accuracy {ceiling:.3f} on {scores.clips} clips")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    figure = grounding_figure(args.out.with_suffix(".png"), curve, ceiling, results.get("pre_quantisation_probe"))
    print(f"wrote {args.out} and {figure}")


if __name__ == "__main__":
    main()
