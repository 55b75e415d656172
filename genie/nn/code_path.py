"""Latent actions held the way keys are held: label an episode's transitions by the cheapest path through the LAM's
code distances, paying ``hold_cost`` for every change of code (a Viterbi pass), instead of the nearest code of each
transition alone.

A person holds a key for several frames, but the LAM's nearest code flickers between the codes of a move's phases
(on CoinRun the moving codes last 1-2 steps), and many transitions sit almost as near one code as another. The cost
is in units of the episode's median gap between its nearest and second-nearest code distances, so it means the same
for any codebook scale: at 0 the path is the nearest code of every transition.
"""

from __future__ import annotations

import torch


def held_code_path(distances_TK: torch.Tensor, hold_cost: float) -> torch.Tensor:
    """Squared distances [T, K] of an episode's transitions to the K codes -> codes int64 [T] minimising the summed
    distance plus ``hold_cost`` x (median nearest / second-nearest gap) per change of code."""
    if hold_cost < 0:
        raise ValueError(f"hold_cost must be >= 0, got {hold_cost}")
    d_TK = distances_TK.detach().double().cpu()
    T, K = d_TK.shape
    if hold_cost == 0 or T < 2 or K < 2:
        return d_TK.argmin(1)
    two_nearest = d_TK.topk(2, dim=1, largest=False).values
    switch = hold_cost * float((two_nearest[:, 1] - two_nearest[:, 0]).median())
    total_K = d_TK[0].clone()  # the cheapest path ending in each code so far
    came_from_TK = torch.zeros(T, K, dtype=torch.long)
    codes_K = torch.arange(K)
    for t in range(1, T):
        best = int(total_K.argmin())
        move = total_K[best] + switch
        stay = total_K <= move
        came_from_TK[t] = torch.where(stay, codes_K, best)
        total_K = torch.where(stay, total_K, move) + d_TK[t]
    path_T = torch.empty(T, dtype=torch.long)
    path_T[-1] = total_K.argmin()
    for t in range(T - 1, 0, -1):
        path_T[t - 1] = came_from_TK[t, path_T[t]]
    return path_T
