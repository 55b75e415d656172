"""Realism score: a classifier two-sample test (C2ST). A small classifier learns to tell dreamed frames from the
tokenizer's reconstructions of real held-out frames; its balanced accuracy on frames it did not train on is the
score: 0.5 means the two sets cannot be told apart, 1.0 that every dreamed frame is obviously fake.

Reconstructions rather than raw frames, so the score measures the dynamics and not the codec. Dreamed frames are
split into train and test by the start they were dreamed from, so the test never sees a start it learned.
"""

from __future__ import annotations

import torch

from genie.eval.frame_classifier import fit_classifier, predict


def two_sample_score(fake_NCHW: torch.Tensor, real_MCHW: torch.Tensor, fake_groups_N: torch.Tensor,
                     seed: int = 0, steps: int = 300) -> float:
    """fake, real: float [N | M, 3, H, W] in [0, 1]; ``fake_groups`` int [N] (the start of each dreamed frame).
    Returns the held-out balanced accuracy in [0, 1] (about 0.5 for indistinguishable sets)."""
    groups = torch.unique(fake_groups_N)
    generator = torch.Generator().manual_seed(seed)
    test_groups = groups[torch.randperm(len(groups), generator=generator)[: max(1, len(groups) // 2)]]
    fake_test = torch.isin(fake_groups_N, test_groups)
    real_order = torch.randperm(len(real_MCHW), generator=generator)
    real_test, real_train = real_order[: len(real_order) // 2], real_order[len(real_order) // 2 :]
    fake_train_x, fake_test_x = fake_NCHW[~fake_test], fake_NCHW[fake_test]
    if min(len(fake_train_x), len(fake_test_x), len(real_test)) == 0:
        raise ValueError("two_sample_score: needs dreamed frames from two or more starts and two or more real frames")
    n = min(len(fake_train_x), len(real_train))  # balanced training set
    x = torch.cat([fake_train_x[:n], real_MCHW[real_train[:n]]])
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    model = fit_classifier(x, y, steps=steps, seed=seed)
    true_fake = (predict(model, fake_test_x) > 0.5).float().mean()
    true_real = (predict(model, real_MCHW[real_test]) <= 0.5).float().mean()
    return float((true_fake + true_real) / 2)


def real_against_real(real_MCHW: torch.Tensor, seed: int = 0, steps: int = 300) -> float:
    """The same test between two disjoint halves of the real frames: what 'indistinguishable' scores here."""
    order = torch.randperm(len(real_MCHW), generator=torch.Generator().manual_seed(seed + 1))
    half = len(order) // 2
    pseudo_fake, real = real_MCHW[order[:half]], real_MCHW[order[half:]]
    return two_sample_score(pseudo_fake, real, torch.arange(half), seed, steps)
