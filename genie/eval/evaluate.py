"""Held-out evaluation of a world model: tokenizer fidelity, latent-action health, next-frame prediction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genie.data.store import EpisodeStore
from genie.eval.held_out import held_out_clips
from genie.eval.metrics import code_stats, median_frame_psnr, nmi, psnr_of_mean_mse, ssim
from genie.nn.pixels import to_model
from genie.world import WorldModel


@dataclass
class EvalClips:
    """What the metrics and plots need from the evaluation clips."""

    metrics: dict[str, float]
    lam_embeddings: np.ndarray  # float [N, D] pre-quantisation LAM vectors
    lam_codes: np.ndarray  # int [N]
    true_actions: np.ndarray  # int [N] (-1 where the data has no labels)


@torch.no_grad()
def evaluate(world: WorldModel, store: EpisodeStore, split: str = "test", max_clips: int = 512,
             batch_size: int = 64) -> EvalClips:
    clips = held_out_clips(store, split, world.window + 1, max_clips)
    recon, target, previous, predicted = [], [], [], []
    token_hits, token_total = 0, 0
    all_tokens, codes, embeddings, true = [], [], [], []
    for start in range(0, min(len(clips), max_clips), batch_size):
        items = [clips[i] for i in range(start, min(start + batch_size, len(clips), max_clips))]
        frames_BTHWC = torch.stack([it["frames"] for it in items]).to(world.device)
        x_BTCHW = to_model(frames_BTHWC)
        tokens_BThw = world.encode(frames_BTHWC)
        recon.append(world.decode(tokens_BThw[:, -1:])[:, 0].cpu())
        target.append(x_BTCHW[:, -1].cpu())
        previous.append(x_BTCHW[:, -2].cpu())
        lam_vectors = world.lam.embed(x_BTCHW)
        action_B = world.lam.quantizer(lam_vectors).codes
        next_tokens = world.step(tokens_BThw[:, :-1], action_B)
        predicted.append(world.decode(next_tokens[:, None])[:, 0].cpu())
        token_hits += int((next_tokens == tokens_BThw[:, -1]).sum())
        token_total += next_tokens.numel()
        all_tokens.append(tokens_BThw.cpu())
        codes.append(action_B.cpu())
        embeddings.append(lam_vectors.float().cpu())
        true.append(torch.stack([it["actions"][-1] for it in items]))
    recon, target, previous, predicted = (torch.cat(t) for t in (recon, target, previous, predicted))
    codes_N, true_N = torch.cat(codes), torch.cat(true)
    tokenizer_codes = code_stats(torch.cat(all_tokens), world.tokenizer.num_codes)
    lam_codes = code_stats(codes_N, world.num_actions)
    metrics = {
        "eval/clips": len(target),
        "tokenizer/psnr": psnr_of_mean_mse(recon, target),
        "tokenizer/psnr_median_frame": median_frame_psnr(recon, target),
        "tokenizer/ssim": ssim(recon, target),
        "tokenizer/codebook_usage": tokenizer_codes["usage"],
        "tokenizer/perplexity": tokenizer_codes["perplexity"],
        "lam/codes_used": lam_codes["used"],
        "lam/perplexity": lam_codes["perplexity"],
        "dynamics/psnr_next": psnr_of_mean_mse(predicted, target),
        "dynamics/psnr_next_median_frame": median_frame_psnr(predicted, target),
        "dynamics/ssim_next": ssim(predicted, target),
        "dynamics/psnr_copy_baseline": psnr_of_mean_mse(previous, target),
        "dynamics/token_accuracy": token_hits / max(token_total, 1),
    }
    if bool((true_N >= 0).all()):
        metrics["lam/action_nmi"] = nmi(true_N.numpy(), codes_N.numpy())
        if (effects := store.effects()) is not None:
            metrics["lam/effect_nmi"] = nmi(np.asarray(effects[0])[true_N.numpy()], codes_N.numpy())
    return EvalClips(metrics, torch.cat(embeddings).numpy(), codes_N.numpy(), true_N.numpy())
