"""How stable are a tokenizer's codes when the camera moves? What a dynamics model has to predict when the view scrolls.

For each run with a tokenizer, every transition of the split's first ``--episodes`` episodes is encoded and the
camera's move between the two frames measured (``camera_shift``, the whole-frame translation that best explains it):

* ``still_unchanged``: where the camera stands still, the share of the next frame's tokens equal to the last frame's;
* ``moving_unchanged``: the same where the camera moves (what copying the last frame's tokens gets right);
* ``moving_shifted``: where the camera moves, the share of the next frame's tokens equal to the tokens of the last
  real frame moved by the camera's measured move (its edge repeated) and encoded again: what the best token copy
  could get right, knowing the move exactly;
* ``moving_share``: the share of transitions where the camera moves; ``reencoded``: the share of tokens a frame decoded
  from its tokens and encoded again keeps (the tokenizer's own round trip).

A tokenizer whose codes follow the content (a pure scroll keeps ``moving_shifted`` near 1) lets the dynamics carry
a level across the view; one whose codes change with the content's position under the 4-px token grid makes every
scrolling step a repaint of the frame.

    python -m benchmarks.token_stability runs/<A> [runs/<B> ...] [--store data/<store>] \\
        [--out benchmarks/results/token_stability.json]

Runs already in ``--out`` are kept, so tokenizers can be added to it later.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genie.checkpoints import load_module, read_world, resolve_checkpoint
from genie.cli import user_errors_exit
from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.errors import UserError
from genie.eval.scene_motion import camera_shift, search_radius, store_frameskip
from genie.nn.pixels import to_model, to_uint8
from genie.world import encode_frames

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("token_stability")


def moved_by_camera(frames_BCHW: torch.Tensor, shift_B2: torch.Tensor) -> torch.Tensor:
    """Frames float [B, C, H, W] as the camera sees them after moving by ``shift_B2`` (dx, dy) whole pixels: the
    content moves the other way; what comes into view repeats the frame's edge."""
    r = int(shift_B2.abs().max()) if len(shift_B2) else 0
    padded = F.pad(frames_BCHW, (r, r, r, r), mode="replicate")
    H, W = frames_BCHW.shape[-2:]
    return torch.stack([p[:, r + dy : r + dy + H, r + dx : r + dx + W]
                        for p, (dx, dy) in zip(padded, shift_B2.long().tolist())])


@torch.no_grad()
def stability_scores(tokenizer: torch.nn.Module, store: EpisodeStore, split: str, episodes: int) -> dict[str, float]:
    radius = search_radius(store_frameskip(store))
    still, copied, shifted, kept, moving, transitions = [], [], [], [], 0, 0
    for info in store.episodes(split)[:episodes]:
        if info.length < 2:
            continue
        frames_THWC = torch.from_numpy(np.array(store.frames(info.name)))
        x_TCHW = to_model(frames_THWC)
        move_T2 = camera_shift(x_TCHW[:-1], x_TCHW[1:], radius)
        z_Thw = encode_frames(tokenizer, frames_THWC)
        moves_T = move_T2.abs().sum(1) > 0
        same_T = (z_Thw[:-1] == z_Thw[1:]).float().mean((1, 2))
        still.append(same_T[~moves_T])
        copied.append(same_T[moves_T])
        if moves_T.any():
            z_moved = encode_frames(tokenizer, to_uint8(moved_by_camera(x_TCHW[:-1][moves_T], move_T2[moves_T])))
            shifted.append((z_moved == z_Thw[1:][moves_T]).float().mean((1, 2)))
        round_trip = encode_frames(tokenizer, to_uint8(tokenizer.decode(z_Thw).float().clamp(0, 1)))
        kept.append((round_trip == z_Thw).float().mean((1, 2)))
        moving += int(moves_T.sum())
        transitions += len(moves_T)
    if not transitions:
        raise UserError(f"{store.root}: the {split} split holds no episode of two frames or more")

    def mean(parts: list[torch.Tensor]) -> float:
        values = torch.cat(parts) if parts else torch.empty(0)
        return float(values.mean()) if len(values) else float("nan")

    return {"still_unchanged": mean(still), "moving_unchanged": mean(copied), "moving_shifted": mean(shifted),
            "moving_share": moving / transitions, "reencoded": mean(kept), "transitions": transitions}


@user_errors_exit
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories with a trained tokenizer")
    parser.add_argument("--store", default=None, help="episode store to encode (default: each run's own)")
    parser.add_argument("--split", default="val")
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--out", default="benchmarks/results/token_stability.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    torch.set_num_threads(1)
    out = ROOT / args.out
    results = json.loads(out.read_text()) if out.is_file() else {}
    for run in args.runs:
        store_path = args.store or read_world(Path(run)).get("data")
        if store_path is None:
            raise UserError(f"{run}: world.json names no store; pass --store")
        tokenizer = load_module(resolve_checkpoint(run, "tokenizer"), "tokenizer").net.eval()
        results[str(run)] = {"store": str(store_path), "num_codes": int(tokenizer.num_codes),
                             **stability_scores(tokenizer, EpisodeStore(store_path), args.split, args.episodes)}
        log.info("%s: %s", run, results[str(run)])
    atomic_write_bytes(out, json.dumps(results, indent=1).encode())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
