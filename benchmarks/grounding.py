"""How many labels ground a run's latent actions: the code -> effect map from 10 / 50 / 200 / 1 000 / all labelled
train transitions, scored on the held-out test levels, beside the supervised ceiling on the same transitions.

    python -m benchmarks.grounding --run runs/<a CoinRun run> [--ceiling-steps 800] [--draws 20]
                                   [--out benchmarks/results/grounding.json]

The ceiling is an inverse-dynamics model with the LAM encoder's architecture trained on every true label of the
train split (genie/eval/inverse_dynamics.py); its effect head's accuracy is what a labelled model reaches on the same
held-out transitions. Writes the JSON and a plot beside it (``<out>.png``).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from genie.checkpoints import read_world
from genie.data.store import EpisodeStore
from genie.data.token_store import TokenStore
from genie.eval.grounding import LABELS, grounding_curve, grounding_figure
from genie.eval.inverse_dynamics import ceiling_scores, train_inverse_dynamics
from genie.world import WorldModel

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--labels", type=int, nargs="+", default=list(LABELS))
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--ceiling-steps", type=int, default=800, help="0: no supervised ceiling")
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
    figure = grounding_figure(args.out.with_suffix(".png"), curve, ceiling)
    print(f"wrote {args.out} and {figure}")


if __name__ == "__main__":
    main()
