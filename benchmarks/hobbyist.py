"""One recording against true actions, same game: what the missing labels cost.

    python benchmarks/hobbyist.py --video-run runs/<video run> --atari-run runs/<atari run>
                                  [--recording data/recordings/breakout/breakout.mp4]
                                  [--out benchmarks/results/hobbyist_breakout.json]

The video run trained on a screen recording imported from a folder (``data=video_folder``: no actions); the Atari
run on the same game with its true actions saved (``data=atari``). Both reports are read as they are. The video
run's latent actions are also scored against the actions that made the recording (``<recording>.actions.npy``,
saved by ``benchmarks/screen_recording.py``; the import never reads them): its test block's transitions are matched to the
recording's frames through each episode's ``first_frame``, so both runs get a latent <-> true action NMI.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from genie.data.store import EpisodeStore
from genie.eval.held_out import held_out_clips
from genie.eval.metrics import nmi
from genie.nn.pixels import to_model
from genie.runs import open_store_of_run
from genie.world import WorldModel

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ["tokenizer/psnr", "lam/codes_used", "lam/action_nmi", "dynamics/psnr_next", "dynamics/psnr_copy_baseline",
         "dynamics/delta_t_psnr", "long_play/realism_real", "long_play/realism_human_t16",
         "long_play/realism_human_t64", "long_play/realism_human_t256", "long_play/realism_held_t64"]


@torch.no_grad()
def recording_nmi(world: WorldModel, store: EpisodeStore, folder: Path, split: str = "test",
                  max_clips: int = 2048) -> dict[str, float]:
    """NMI of the run's LAM codes and the true actions saved beside the recordings in ``folder``
    (``<video>.actions.npy``, one per video file, and ``<video>.json`` with its frame rate) over ``split``'s
    transitions; a store subsampled to a lower frame rate gets the key held at each stored frame."""
    clips = held_out_clips(store, split, world.window + 1, max_clips)
    actions: dict[str, np.ndarray] = {}
    stride: dict[str, int] = {}  # recorded frames per stored frame (data.fps keeps the first of every 1/fps slot)
    codes, true = [], []
    for lo in range(0, min(len(clips), max_clips), 128):
        items = [clips[i] for i in range(lo, min(lo + 128, len(clips), max_clips))]
        codes.append(world.lam.infer(to_model(torch.stack([it["frames"] for it in items]))))
        for it in items:  # the clip's last transition, as a frame index of its recording
            meta = store.episodes(split)[int(it["episode"])].meta
            if meta["file"] not in actions:
                video = folder / meta["file"]
                actions[meta["file"]] = np.load(video.with_suffix(".actions.npy"))
                stride[meta["file"]] = round(json.loads(video.with_suffix(".json").read_text())["fps"] / meta["fps"])
            stored = meta["first_frame"] + int(it["start"]) + world.window - 1
            true.append(actions[meta["file"]][stored * stride[meta["file"]]])
    codes_N = torch.cat(codes).numpy()
    return {"lam/action_nmi_vs_recording": nmi(np.array(true), codes_N),
            "recording_transitions": len(codes_N)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video-run", type=Path, required=True)
    parser.add_argument("--atari-run", type=Path, required=True)
    parser.add_argument("--recording", type=Path, default=ROOT / "data" / "recordings" / "breakout" / "breakout.mp4")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "hobbyist_breakout.json")
    args = parser.parse_args()

    runs = {"video": args.video_run, "atari": args.atari_run}
    reports = {name: json.loads((run / "dream" / "metrics.json").read_text()) for name, run in runs.items()}
    video_store = open_store_of_run(args.video_run)
    extra = recording_nmi(WorldModel.load(args.video_run, "cpu"), video_store, args.recording.parent)
    reports["video"] |= extra
    result = {"recording": json.loads(args.recording.with_suffix(".json").read_text()),
              "runs": {name: str(run) for name, run in runs.items()}, "metrics": reports}
    args.out.write_text(json.dumps(result, indent=1))
    print(f"| metric | {args.video_run.name} (video folder) | {args.atari_run.name} (data=atari) |")
    print("|---|---|---|")
    for key in [*SHOWN, "lam/action_nmi_vs_recording"]:
        row = [reports[name].get(key) for name in runs]
        print(f"| {key} | " + " | ".join("" if v is None else f"{v:.3g}" for v in row) + " |")
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
