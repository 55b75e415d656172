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

import logging

import numpy as np
import torch

from benchmarks.per_run import per_run_parser, score_runs
from genie.checkpoints import load_module, resolve_checkpoint
from genie.cli import user_errors_exit
from genie.data.store import EpisodeStore
from genie.errors import UserError
from genie.eval.scene_motion import store_frameskip
from genie.nn.camera import camera_shift, moved_by_camera, search_radius
from genie.nn.pixels import to_model, to_uint8
from genie.world import encode_frames

log = logging.getLogger("token_stability")


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
    args = per_run_parser(__doc__, "tokenizer", 40, "benchmarks/results/token_stability.json").parse_args()

    def score(run: str, store: EpisodeStore) -> dict:
        tokenizer = load_module(resolve_checkpoint(run, "tokenizer"), "tokenizer").net.eval()
        return {"num_codes": int(tokenizer.num_codes), **stability_scores(tokenizer, store, args.split, args.episodes)}

    score_runs(args, score, log)


if __name__ == "__main__":
    main()
