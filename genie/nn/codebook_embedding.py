"""Token embeddings that start from what the codes look like: the tokenizer's codebook, reduced by PCA.

A dynamics model's token embedding learned from scratch knows nothing of the codes at first: the code of a patch of
ground and the code of the same patch shifted by a pixel are as far apart as ground and sky. Started from the
codebook (the tokenizer's vector for each code) codes that decode alike start close together, so what the net
learns about one carries over to its neighbours.
"""

from __future__ import annotations

import torch


def codebook_embedding(codebook_KD: torch.Tensor, dim: int, rms: float) -> torch.Tensor:
    """Codebook [K, D] -> embedding weights [K, dim]: the codes' coordinates along the codebook's ``dim`` principal
    directions (centred; the most varied first), scaled to root-mean-square ``rms`` over all entries."""
    K, D = codebook_KD.shape
    if dim > min(K, D):
        raise ValueError(f"a {dim}-dimensional token embedding cannot start from a codebook of {K} codes of "
                         f"dimension {D} (at most {min(K, D)})")
    centred_KD = codebook_KD.float() - codebook_KD.float().mean(0)
    U_KD, S_D, _ = torch.linalg.svd(centred_KD, full_matrices=False)
    coords_Kd = U_KD[:, :dim] * S_D[:dim]
    return coords_Kd * (rms / coords_Kd.pow(2).mean().sqrt().clamp_min(1e-12))
