"""Multi-step evaluation on held-out clips: rollout PSNR by horizon and Genie's controllability ΔtPSNR.

A clip holds ``window + horizon`` real frames. Rollouts start from the first ``window`` frames (or from the first
frame alone) and follow the LAM's inferred actions; the copy-last-frame baseline repeats the last context frame.
ΔtPSNR (Genie §4): PSNR(x_t, x̂_t) − PSNR(x_t, x̂'_t) at t = ``delta_t`` steps after the context, where x̂ follows
the inferred actions and x̂' uniformly random ones, from the same context with the same sampling seed.
"""

from __future__ import annotations

import numpy as np
import torch

from genie.data.store import EpisodeStore
from genie.eval.held_out import held_out_clips
from genie.eval.metrics import per_frame_psnr, psnr_of_mean_mse, psnr_of_mse
from genie.nn.pixels import to_model
from genie.world import WorldModel

HORIZONS = (1, 4, 8, 16)


@torch.no_grad()
def rollout_metrics(world: WorldModel, store: EpisodeStore, split: str = "test", max_clips: int = 128,
                    batch_size: int = 32, delta_t: int = 4, temperature: float = 0.0, seed: int = 0) -> dict[str, float]:
    horizon = max(HORIZONS)
    W = world.window
    clips = held_out_clips(store, split, W + horizon, max_clips)
    n = min(len(clips), max_clips)
    sq = {key: [] for key in ("window", "one", "copy_window", "copy_one")}  # per horizon: squared-error tensors
    delta_inferred, delta_random, delta_target = [], [], []
    generator = np.random.default_rng(seed)
    for start in range(0, n, batch_size):
        frames = torch.stack([clips[i]["frames"] for i in range(start, min(start + batch_size, n))])
        x = to_model(frames)  # [B, W + horizon, 3, H, W]
        tokens = world.encode(frames)
        actions = world.infer_actions(frames)  # [B, W + horizon - 1]
        from_window = world.decode(world.rollout(tokens[:, :W], actions[:, W - 1 :], temperature, seed)).cpu()
        from_one = world.decode(world.rollout(tokens[:, :1], actions[:, :horizon], temperature, seed)).cpu()
        sq["window"].append(torch.stack([(from_window[:, W - 1 + h] - x[:, W - 1 + h]) ** 2 for h in HORIZONS], 1))
        sq["one"].append(torch.stack([(from_one[:, h] - x[:, h]) ** 2 for h in HORIZONS], 1))
        sq["copy_window"].append(torch.stack([(x[:, W - 1] - x[:, W - 1 + h]) ** 2 for h in HORIZONS], 1))
        sq["copy_one"].append(torch.stack([(x[:, 0] - x[:, h]) ** 2 for h in HORIZONS], 1))
        random_actions = torch.from_numpy(generator.integers(0, world.num_actions, size=(len(x), delta_t)))
        with_random = world.decode(world.rollout(tokens[:, :W], random_actions, temperature, seed)[:, -1:])[:, 0]
        delta_inferred.append(from_window[:, W - 1 + delta_t])
        delta_random.append(with_random.cpu())
        delta_target.append(x[:, W - 1 + delta_t])
    metrics: dict[str, float] = {"eval/rollout_clips": n}
    for key, name in (("window", "psnr_rollout"), ("one", "psnr_rollout_from1"),
                      ("copy_window", "psnr_copy_rollout"), ("copy_one", "psnr_copy_rollout_from1")):
        err = torch.cat(sq[key])  # [N, len(HORIZONS), 3, H, W]
        for i, h in enumerate(HORIZONS):
            metrics[f"dynamics/{name}_t{h}"] = float(psnr_of_mse(err[:, i].mean()))
    inferred, random, target = torch.cat(delta_inferred), torch.cat(delta_random), torch.cat(delta_target)
    per_clip = per_frame_psnr(inferred, target) - per_frame_psnr(random, target)
    metrics["dynamics/delta_t_psnr"] = psnr_of_mean_mse(inferred, target) - psnr_of_mean_mse(random, target)
    metrics["dynamics/delta_t_psnr_clip_mean"] = float(per_clip.mean())
    metrics["dynamics/delta_t_psnr_clip_std"] = float(per_clip.std())
    metrics["dynamics/delta_t_psnr_clip_stderr"] = float(per_clip.std() / np.sqrt(len(per_clip)))
    return metrics
