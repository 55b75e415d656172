"""Metric definitions everybody uses (DESIGN §6). Frames float in [0, 1].

PSNR is always the PSNR of the *mean* MSE over the evaluation set (torchmetrics' default reduction); the per-frame
median is reported beside it. Never average per-frame PSNRs: identical frames have infinite PSNR.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import normalized_mutual_info_score
from torchmetrics.functional.image import structural_similarity_index_measure


def psnr_of_mse(mse: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) of a mean squared error of frames in [0, 1], elementwise; an exact match counts as 100 dB."""
    return -10 * torch.log10(mse.clamp_min(1e-10))


def psnr_of_mean_mse(prediction: torch.Tensor, target: torch.Tensor) -> float:
    """prediction, target: float [N, 3, H, W] in [0, 1]."""
    return float(psnr_of_mse(torch.mean((prediction.float() - target.float()) ** 2)))


def per_frame_psnr(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """float [N, ...] in [0, 1] -> each frame's PSNR: float [N] (report medians, never means: DESIGN §6)."""
    return psnr_of_mse(((prediction.float() - target.float()) ** 2).flatten(1).mean(1))


def median_frame_psnr(prediction: torch.Tensor, target: torch.Tensor) -> float:
    return float(torch.median(per_frame_psnr(prediction, target)))


def ssim(prediction: torch.Tensor, target: torch.Tensor) -> float:
    return float(structural_similarity_index_measure(prediction.float(), target.float(), data_range=1.0))


def code_stats(codes: torch.Tensor, num_codes: int) -> dict[str, float]:
    """codes: int [...] -> fraction of codes used, number used, perplexity of the histogram."""
    counts = torch.bincount(codes.flatten(), minlength=num_codes).float()
    p = counts / counts.sum()
    return {
        "usage": float((counts > 0).float().mean()),
        "used": int((counts > 0).sum()),
        "perplexity": float(torch.exp(-(p * torch.log(p + 1e-10)).sum())),
    }


def majority_map(keys_N: np.ndarray, values_N: np.ndarray, num_keys: int, num_values: int) -> np.ndarray:
    """Each key's most frequent value among the pairs (a key no pair shows: the most frequent value overall):
    int64 [num_keys]. E.g. latent code -> the effect it came with most often."""
    counts_KV = np.zeros((num_keys, num_values), np.int64)
    np.add.at(counts_KV, (np.asarray(keys_N), np.asarray(values_N)), 1)
    fallback = int(counts_KV.sum(0).argmax())
    return np.where(counts_KV.sum(1) > 0, counts_KV.argmax(1), fallback)


def nmi(labels: np.ndarray, codes: np.ndarray) -> float:
    """Normalised mutual information (arithmetic normalisation) between true labels and latent codes."""
    return float(normalized_mutual_info_score(np.asarray(labels), np.asarray(codes)))
