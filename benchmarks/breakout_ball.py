"""Where a Breakout world loses its ball: real frames, the tokenizer, the latent actions, one step, long play.

    python -m benchmarks.breakout_ball --run default=runs/<run> [--run default=runs/<seed 2>] [--run other=runs/<run>]
                                       [--out benchmarks/results/breakout_ball.json]

For runs trained on a Breakout screen recording (``data=video_folder``, ``data.fit=stretch``, any frame size). A
frame *shows a ball* where any pixel between the bricks and the paddle, inside the side walls, is brighter than
``--threshold`` in some colour channel (the playfield of ALE Breakout stretched to a square; nothing else is drawn
there). Counted on each run's own store:

- ``ball_real``: the share of held-out (test) frames that show a ball;
- ``recon_keeps_ball``: of the train frames that show a ball, the share whose tokenizer reconstruction shows one;
- ``one_step_keeps_ball``: of the train transitions whose next frame shows a ball, the share whose one-step
  prediction (real history, the LAM's code for the transition) shows one; ``one_step_keeps_reconstructed_ball``:
  the same where the next frame's reconstruction shows it (what the tokens could hold);
- ``serves``: train transitions where a ball appears (none in frame t, one in t + 1); ``one_step_serves``: the
  share of them the one-step prediction serves; ``best_serve_code``: the most a single latent code serves, the share
  of transitions without a ball under that code that bring one (codes used 20 times or more without a ball);
- ``dream_ball_steps_1_32`` / ``_33_128``: the share of dreamed frames showing a ball, from 16 held-out starts under
  human-like latent actions (a random code held 8 steps), temperature 0.

Runs given under one name are seeds, shown as mean ± standard deviation. A diagnosis, not a target: the issue's
Breakout target is the frozen share (``benchmarks/other_games.py``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from benchmarks.seeds import runs_by_name, seed_summary, seed_table
from genie.data.store import EpisodeStore, atomic_write_bytes
from genie.eval.long_play import human_like_actions
from genie.runs import open_store_of_run
from genie.world import WorldModel, history_windows

ROOT = Path(__file__).resolve().parents[1]
# the playfield below the bricks and above the paddle, inside the walls, as shares of a stretched square frame
ROWS, COLS = (30 / 64, 56 / 64), (4 / 64, 60 / 64)
SHOWN = ["ball_real", "recon_keeps_ball", "one_step_keeps_ball", "one_step_keeps_reconstructed_ball", "serves",
         "one_step_serves", "best_serve_code", "dream_ball_steps_1_32", "dream_ball_steps_33_128"]


def shows_ball(frames_NHWC: torch.Tensor, threshold: float) -> torch.Tensor:
    """float [N, H, W, 3] in [0, 1] -> bool [N]: a pixel of the playfield brighter than ``threshold``."""
    H, W = frames_NHWC.shape[1:3]
    field = frames_NHWC[:, round(ROWS[0] * H) : round(ROWS[1] * H), round(COLS[0] * W) : round(COLS[1] * W)]
    return field.amax(dim=(1, 2, 3)) > threshold


def decoded(world: WorldModel, tokens_BThw: torch.Tensor) -> torch.Tensor:
    """tokens [B, T, h, w] -> frames float [B * T, H, W, 3] in [0, 1]."""
    return world.decode(tokens_BThw).flatten(0, 1).permute(0, 2, 3, 1)


@torch.no_grad()
def one_step(world: WorldModel, tokens_Thw: torch.Tensor, codes_T: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Teacher-forced predictions of frames window .. T-1, tokens [T - window, h, w]."""
    w = world.window
    histories = history_windows(tokens_Thw, w)[w - 1 :, :w]  # frames t-w+1 .. t for each transition t -> t + 1
    actions = codes_T[w - 1 :]
    return torch.cat([world.step(histories[i : i + batch], actions[i : i + batch])
                      for i in range(0, len(histories), batch)])


@torch.no_grad()
def train_counts(world: WorldModel, store: EpisodeStore, threshold: float) -> dict[str, float]:
    raw, recon, predicted, codes = [], [], [], []
    for info in store.episodes("train"):
        frames = torch.from_numpy(np.array(store.frames(info.name)))
        if len(frames) <= world.window:
            continue
        tokens = world.encode(frames[None])
        code_T = world.infer_actions(frames[None])[0]
        raw.append(shows_ball(frames.float() / 255, threshold))
        recon.append(shows_ball(decoded(world, tokens), threshold))
        predicted.append(shows_ball(decoded(world, one_step(world, tokens[0], code_T)[None]), threshold))
        codes.append(code_T)
    w = world.window
    before = torch.cat([r[w - 1 : -1] for r in raw])  # frame t of each predicted transition t -> t + 1
    after = torch.cat([r[w:] for r in raw])
    after_recon = torch.cat([r[w:] for r in recon])
    pred, code = torch.cat(predicted), torch.cat([c[w - 1 :] for c in codes])
    served = ~before & after
    no_ball_uses = torch.bincount(code[~before], minlength=world.num_actions)
    serve_uses = torch.bincount(code[served], minlength=world.num_actions)
    counted = no_ball_uses >= 20
    rates = serve_uses[counted].float() / no_ball_uses[counted].float()
    all_raw, all_recon = torch.cat(raw), torch.cat(recon)
    return {"recon_keeps_ball": float(all_recon[all_raw].float().mean()),
            "one_step_keeps_ball": float(pred[after].float().mean()),
            "one_step_keeps_reconstructed_ball": float(pred[after_recon].float().mean()),
            "serves": int(served.sum()),
            "one_step_serves": float(pred[served].float().mean()) if served.any() else None,
            "best_serve_code": float(rates.max()) if len(rates) else None}


@torch.no_grad()
def dream_counts(world: WorldModel, test_frames: list[torch.Tensor], threshold: float, starts: int = 16,
                 steps: int = 128) -> dict[str, float]:
    """``test_frames``: the held-out episodes, uint8 [T, H, W, 3] each."""
    contexts = []
    for frames in test_frames:
        for s in range(0, max(1, len(frames) - world.window), max(1, (len(frames) - world.window) // 8)):
            contexts.append(frames[s : s + world.window])
    contexts = [c for c in contexts if len(c) == world.window][:starts]
    if not contexts:
        raise SystemExit("no held-out episode is long enough for a dream's context")
    tokens = world.rollout(world.encode(torch.stack(contexts)),
                           human_like_actions(len(contexts), steps, world.num_actions, 8, 0))[:, world.window :]
    ball_BS = shows_ball(decoded(world, tokens), threshold).unflatten(0, (len(contexts), steps)).float()
    return {"dream_ball_steps_1_32": float(ball_BS[:, :32].mean()),
            "dream_ball_steps_33_128": float(ball_BS[:, 32:].mean())}


def scores(run: Path, threshold: float) -> dict[str, float]:
    world, store = WorldModel.load(run, "cpu"), open_store_of_run(run)
    test = [torch.from_numpy(np.array(store.frames(i.name))) for i in store.episodes("test")]
    real = torch.cat([shows_ball(f.float() / 255, threshold) for f in test]) if test else torch.zeros(0, dtype=bool)
    return {"ball_real": float(real.float().mean())} | train_counts(world, store, threshold) | dream_counts(
        world, test, threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, help="name=run directory (repeat for seeds)")
    parser.add_argument("--threshold", type=float, default=0.1, help="a ball pixel's brightness in [0, 1]")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "breakout_ball.json")
    args = parser.parse_args()

    runs = runs_by_name(args.run)
    per_run = {name: {str(run): scores(run, args.threshold) for run in paths} for name, paths in runs.items()}
    summary = seed_summary(per_run, SHOWN)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out, json.dumps({"threshold": args.threshold, "summary": summary, "runs": per_run},
                                            indent=1).encode())
    print(seed_table(summary, SHOWN))
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
