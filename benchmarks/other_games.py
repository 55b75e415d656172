"""The recipe, unchanged, on other games: the label-free numbers of runs trained with the defaults on other data.

    python benchmarks/other_games.py --run breakout_recording=runs/<run> [--run breakout_recording=runs/<seed 2>]
                                     --run ninja_videos=runs/<run> --run pong=runs/<run>
                                     [--recording breakout_recording=data/recordings/breakout]
                                     [--recording ninja_videos=data/recordings/ninja]
                                     [--out benchmarks/results/other_games.json]

Each run's full report (``python dream.py run=<run>``: ``<run>/dream/metrics.json``) is read as it is; runs given under
one name are seeds of one game, shown as mean ± standard deviation. A run trained on a folder of recordings made by
``benchmarks/screen_recording.py`` or ``benchmarks/procgen_recordings.py`` (``--recording name=folder``) also gets its
LAM codes scored against the keys saved beside the videos (the import never reads them): ``lam/action_nmi_vs_recording``.
Every run also gets the frozen share of the real held-out frames (``frozen_real``: the share of frames whose tokens
are those of the frame the long play's ``frozen_span`` steps before), the reference for the dream's frozen worlds: a
game whose screen rightly stands still (Breakout waiting for a serve) freezes there too.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from hobbyist import recording_nmi  # benchmarks/hobbyist.py and seeds.py, as this script is run
from seeds import runs_by_name, seed_summary, seed_table

from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.eval.long_play import LongPlaySettings
from genie.eval.scene_motion import frozen_rate
from genie.runs import open_store_of_run
from genie.world import WorldModel, encode_frames

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ["tokenizer/psnr", "lam/codes_used", "lam/perplexity", "lam/action_nmi", "lam/action_nmi_vs_recording",
         "dynamics/psnr_next", "dynamics/psnr_copy_baseline", "dynamics/token_accuracy", "dynamics/delta_t_psnr",
         "long_play/frozen_human_t256", "long_play/frozen_keys_t256", "frozen_real", "long_play/realism_real",
         "long_play/realism_human_t64", "long_play/realism_human_t256", "dream/frames_per_second"]


@torch.no_grad()
def frozen_real(world: WorldModel, store: EpisodeStore, split: str = "test",
                span: int = LongPlaySettings.frozen_span) -> float:
    """The share of ``split``'s frames (from the ``span``-th of each episode on) whose tokens equal those ``span``
    frames before."""
    frozen, counted = 0, 0
    for info in store.episodes(split):
        if info.length <= span:
            continue
        tokens_Thw = encode_frames(world.tokenizer, torch.from_numpy(np.array(store.frames(info.name))))
        frozen += frozen_rate(tokens_Thw[:-span], tokens_Thw[span:]) * (info.length - span)
        counted += info.length - span
    return frozen / max(counted, 1)


def scores(run: Path, recording: Path | None) -> dict[str, float]:
    metrics_file = run / "dream" / "metrics.json"
    if not metrics_file.is_file():
        raise SystemExit(f"{metrics_file}: no report; run `python dream.py run={run}` first")
    metrics = json.loads(metrics_file.read_text())
    world, store = WorldModel.load(run, "cpu"), open_store_of_run(run)
    metrics["frozen_real"] = frozen_real(world, store)
    if recording is not None:
        metrics |= recording_nmi(world, store, recording)
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, help="name=run directory (repeat for seeds)")
    parser.add_argument("--recording", action="append", default=[], help="name=folder of the recordings")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "other_games.json")
    args = parser.parse_args()

    recordings = {name: paths[-1] for name, paths in runs_by_name(args.recording).items()}
    runs = runs_by_name(args.run)
    per_run = {name: {str(run): scores(run, recordings.get(name)) for run in paths} for name, paths in runs.items()}
    summary = seed_summary(per_run, SHOWN)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out, json.dumps({"summary": summary, "runs": per_run}, indent=1).encode())
    print(seed_table(summary, SHOWN))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
