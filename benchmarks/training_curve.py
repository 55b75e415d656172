"""What a world plays like after each part of its dynamics training: every snapshot a dynamics run saved, scored on
the held-out test levels as ``benchmarks.playable_world`` scores a world (key response against the real game, long
play, walk from rest), beside the long play a checkpoint choice could read without looking at test levels (the val
split: player in view after ``--horizon`` steps under human-like latent actions and under key play).

Train with a snapshot kept every N steps, then score the runs (one per seed):

    python train.py experiment=coinrun_long callbacks.model_checkpoint.save_top_k=-1 \\
        callbacks.model_checkpoint.every_n_train_steps=1500
    python -m benchmarks.training_curve runs/<A> [runs/<B> ...] [--out benchmarks/results/training_curve.json]

Each snapshot ``checkpoints/dynamics/step<N>.ckpt`` is scored as a world of its own, ``<run>/snapshots/step<N>``
(the run's tokenizer, LAM and data with that dynamics; its scores kept there, so an interrupted benchmark resumes).
The key controller does not depend on the dynamics: it is fitted once per run and shared by its snapshots.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.playable_world import ROOT, SCORES, score_world, summarise
from genie.checkpoints import WORLD_FILE, read_world
from genie.cli import user_errors_exit
from genie.controls.key_controls import KeyControls
from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.errors import UserError
from genie.eval.key_response import KeyResponseSettings
from genie.eval.long_play import LongPlaySettings, long_play
from genie.world import WorldModel

VAL_SCORES = "val_long_play.json"
log = logging.getLogger("training_curve")


def snapshots(run_dir: Path) -> list[tuple[int, Path]]:
    """The run's dynamics snapshots, ``(step, checkpoint)`` in step order."""
    found = [(int(p.stem.removeprefix("step")), p) for p in (run_dir / "checkpoints" / "dynamics").glob("step*.ckpt")
             if p.stem.removeprefix("step").isdigit()]
    if not found:
        raise UserError(f"{run_dir}: no dynamics snapshots (checkpoints/dynamics/step<N>.ckpt); train with "
                        "callbacks.model_checkpoint.save_top_k=-1 callbacks.model_checkpoint.every_n_train_steps=<N>")
    return sorted(found)


def snapshot_world(run_dir: Path, step: int, ckpt: Path) -> Path:
    """A world directory for one snapshot: the run's other parts, this dynamics."""
    parts = {k: v for k, v in read_world(run_dir).items() if k != "dynamics"} | {"dynamics": str(ckpt.resolve())}
    world_dir = run_dir / "snapshots" / f"step{step}"
    world_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(world_dir / WORLD_FILE, json.dumps(parts, indent=1).encode())
    return world_dir


def score_run(run_dir: Path, key_settings: KeyResponseSettings, play: LongPlaySettings,
              horizon: int) -> list[dict[str, float]]:
    """Every snapshot of one run: its test scores, ``val/in_view_human`` / ``val/in_view_keys`` and ``step``."""
    scored, controls_dir = [], None
    for step, ckpt in snapshots(run_dir):
        world_dir = snapshot_world(run_dir, step, ckpt)
        if controls_dir is not None and not (world_dir / "controls").exists():
            shutil.copytree(controls_dir, world_dir / "controls")
        started = time.monotonic()
        if not (world_dir / SCORES).is_file():
            atomic_write_bytes(world_dir / SCORES, json.dumps(score_world(world_dir, key_settings, play)).encode())
        controls_dir = world_dir / "controls"
        if not (world_dir / VAL_SCORES).is_file():
            world = WorldModel.load(world_dir)
            store = EpisodeStore(read_world(world_dir)["data"])
            val = long_play(world, store, "val", replace(play, walk_steps=0),
                            controls=KeyControls.load(world_dir)).metrics
            atomic_write_bytes(world_dir / VAL_SCORES, json.dumps(val).encode())
        test = json.loads((world_dir / SCORES).read_text())
        val = json.loads((world_dir / VAL_SCORES).read_text())
        scored.append(test | {"step": step,
                              "val/in_view_human": val[f"long_play/player_in_view_human_t{horizon}"],
                              "val/in_view_keys": val[f"long_play/player_in_view_keys_t{horizon}"]})
        log.info("%s step %d scored in %.0f s", run_dir.name, step, time.monotonic() - started)
    return scored


@user_errors_exit
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories whose dynamics saved snapshots (one per seed)")
    parser.add_argument("--levels", type=int, default=48)
    parser.add_argument("--long-play-starts", type=int, default=32)
    parser.add_argument("--horizon", type=int, default=256, help="the long-play step the val columns read")
    parser.add_argument("--out", default="benchmarks/results/training_curve.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    key_settings = KeyResponseSettings(levels=args.levels)
    # as benchmarks.playable_world: realism is left to the report
    play = LongPlaySettings(starts=args.long_play_starts, human_sequences=2, classifier_steps=0)
    per_run = {str(Path(r).resolve()): score_run(Path(r).resolve(), key_settings, play, args.horizon)
               for r in args.runs}
    steps = sorted({m["step"] for scored in per_run.values() for m in scored})
    curve = {str(s): summarise([m for scored in per_run.values() for m in scored if m["step"] == s]) for s in steps}
    out = ROOT / args.out
    atomic_write_bytes(out, json.dumps({"runs": per_run, "by_step": curve}, indent=1).encode())
    for s in steps:
        row = curve[str(s)]
        print(f"step {s:>6}: walk same way {row['key_response/walk/same_way']['mean']:.2f}, in view @{args.horizon} "
              f"human-like {row[f'long_play/player_in_view_human_t{args.horizon}']['mean']:.2f}, "
              f"val in view human-like {row['val/in_view_human']['mean']:.2f} (n={row['step']['n']})")


if __name__ == "__main__":
    main()
